package ticket

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"math"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/chaintest"
	"github.com/pexia-network/pexia/contracts/lottery"
	"github.com/pexia-network/pexia/wallet"
)

const (
	funderIdx = 1
	nodeIdx   = 2
)

// chainAccounts reads accounts straight from the contract.
type chainAccounts struct{ c *chaintest.Chain }

func (a chainAccounts) Account(_ context.Context, token, funder, signer common.Address) (wallet.Account, error) {
	out, err := a.c.Lot.UnpackAccount(a.c.Call(a.c.Addrs.Lottery, a.c.Lot.PackAccount(token, funder, signer)))
	if err != nil {
		return wallet.Account{}, err
	}
	return wallet.Account{Token: token, Funder: funder, Signer: signer, Balance: out.Balance, Escrow: out.Escrow, Warned: out.Warned, Unlock: out.Unlock}, nil
}

// chainClaimer claims as the node key on the simulated chain.
type chainClaimer struct {
	c     *chaintest.Chain
	token common.Address
}

func (cl chainClaimer) Claim(_ context.Context, ts []lottery.LotteryTicket) (map[common.Hash]Outcome, error) {
	r, err := cl.c.Try(nodeIdx, cl.c.Addrs.Lottery, cl.c.Lot.PackClaim(cl.token, ts), nil)
	if err != nil {
		return nil, err
	}
	out := map[common.Hash]Outcome{}
	for _, l := range r.Logs {
		if e, err := cl.c.Lot.UnpackWonEvent(l); err == nil {
			out[e.Ticket] = Outcome{Paid: e.Amount}
		} else if e, err := cl.c.Lot.UnpackRejectedEvent(l); err == nil {
			out[e.Ticket] = Outcome{Reason: contracts.Reason(e.Reason)}
		}
	}
	return out, nil
}

type fixture struct {
	c       *chaintest.Chain
	lot     Lottery
	key     *ecdsa.PrivateKey
	issuer  *Issuer
	store   *Store
	recv    *Receiver
	now     time.Time
	account chainAccounts
}

func newFixture(t *testing.T, balance, escrow *big.Int) *fixture {
	t.Helper()
	c := chaintest.New(t)
	f := &fixture{c: c, account: chainAccounts{c}}
	f.key, _ = crypto.HexToECDSA("3333333333333333333333333333333333333333333333333333333333333333")
	f.lot = Lottery{ChainID: c.ChainID, Address: c.Addrs.Lottery}
	c.Tx(funderIdx, c.Addrs.Lottery, c.Lot.PackDeposit(crypto.PubkeyToAddress(f.key.PublicKey), escrow), new(big.Int).Add(balance, escrow))
	f.issuer = NewIssuer(f.lot, c.Addr(funderIdx), f.key, f.account)
	f.now = time.Unix(int64(c.Now()), 0)
	f.issuer.now = func() time.Time { return f.now }
	var err error
	f.store, err = OpenStore(filepath.Join(t.TempDir(), "tickets.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.store.Close() })
	f.recv, err = NewReceiver(ReceiverConfig{
		Lottery: f.lot, Recipient: c.Addr(nodeIdx), Accounts: f.account, Store: f.store,
		MinFace: big.NewInt(1e14), ClaimCost: func() *big.Int { return big.NewInt(1e12) },
		Now: func() time.Time { return f.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestReceiverRejectsBadTickets(t *testing.T) {
	f := newFixture(t, contracts.Ether(10), contracts.Ether(10))
	ctx := context.Background()
	node := f.c.Addr(nodeIdx)
	signer := f.issuer.Signer()
	face := big.NewInt(1e16)
	issue := func(mut func(*contracts.Ticket)) *contracts.Signed {
		s, err := f.issuer.Issue(ctx, node, f.recv.Commit(), face, 0, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if mut != nil {
			mut(&s.Ticket)
			if s, err = contracts.Sign(s.Ticket, f.lot.ChainID, f.lot.Address, f.key); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	good := issue(nil)
	if _, err := f.recv.Accept(ctx, signer, good); err != nil {
		t.Fatalf("good ticket refused: %v", err)
	}
	forgerKey, _ := crypto.GenerateKey()
	forged, _ := contracts.Sign(issue(nil).Ticket, f.lot.ChainID, f.lot.Address, forgerKey)
	tampered := issue(nil)
	tampered.FaceValue = big.NewInt(2e16)

	for _, tc := range []struct {
		name string
		s    *contracts.Signed
		want error
	}{
		{"replayed", good, ErrReplayed},
		{"forged", forged, ErrBadSignature},
		{"tampered", tampered, ErrBadSignature},
		{"expired", issue(func(t *contracts.Ticket) { t.Issued -= 7200 }), ErrExpired},
		{"expires too soon to claim", issue(func(t *contracts.Ticket) { t.Expire = 60 }), ErrExpired},
		{"wrong recipient", issue(func(t *contracts.Ticket) { t.Recipient = common.HexToAddress("0xbeef") }), ErrWrongRecipient},
		{"wrong token", issue(func(t *contracts.Ticket) { t.Token = f.c.Addrs.Token }), ErrWrongRecipient},
		{"unknown commitment", issue(func(t *contracts.Ticket) { t.Commit = common.HexToHash("0x1") }), ErrWrongRecipient},
		{"face too low", issue(func(t *contracts.Ticket) { t.FaceValue = big.NewInt(1e13) }), ErrFaceTooLow},
		{"underfunded", issue(func(t *contracts.Ticket) { t.FaceValue = contracts.Ether(6) }), ErrUnderfunded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.recv.Accept(ctx, signer, tc.s)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Accept = %v, want %v", err, tc.want)
			}
		})
	}
	// An older nonce than one accepted is a replay too.
	older := issue(nil)
	newer := issue(nil)
	if _, err := f.recv.Accept(ctx, signer, newer); err != nil {
		t.Fatal(err)
	}
	if _, err := f.recv.Accept(ctx, signer, older); !errors.Is(err, ErrReplayed) {
		t.Fatalf("older nonce: %v, want ErrReplayed", err)
	}
}

func TestIssuerRefusesWhatAccountCannotHonour(t *testing.T) {
	f := newFixture(t, contracts.Ether(1), contracts.Ether(4))
	ctx := context.Background()
	// MaxFace = min(1, 4/2) = 1 ether.
	if _, err := f.issuer.Issue(ctx, f.c.Addr(nodeIdx), f.recv.Commit(), contracts.Ether(1), 0, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := f.issuer.Issue(ctx, f.c.Addr(nodeIdx), f.recv.Commit(), new(big.Int).Add(contracts.Ether(1), big.NewInt(1)), 0, time.Hour); !errors.Is(err, ErrFaceTooHigh) {
		t.Fatalf("Issue over MaxFace = %v, want ErrFaceTooHigh", err)
	}
	is := f.issuer.IssuedTo(f.c.Addr(nodeIdx))
	if is.Tickets != 1 || is.Face.Cmp(contracts.Ether(1)) != 0 {
		t.Fatalf("IssuedTo = %+v", is)
	}
}

// TestPaymentsReachChain runs issue → accept → store → redeem on the real
// contract: the credit matches the expected value, winners are stored and
// claimed, and the node's earnings on chain equal the stored winners.
func TestPaymentsReachChain(t *testing.T) {
	f := newFixture(t, contracts.Ether(100), contracts.Ether(100))
	ctx := context.Background()
	node := f.c.Addr(nodeIdx)
	signer := f.issuer.Signer()
	face := big.NewInt(1e16)
	ratio := uint64(math.MaxUint64 / 8) // p = 1/8
	const n = 400
	credit := new(big.Int)
	wins := 0
	commits := map[common.Hash]bool{}
	for i := 0; i < n; i++ {
		commit := f.recv.Commit()
		commits[commit] = true
		s, err := f.issuer.Issue(ctx, node, commit, face, ratio, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := f.recv.Accept(ctx, signer, s)
		if err != nil {
			t.Fatal(err)
		}
		credit.Add(credit, rc.Credit)
		if rc.Win {
			wins++
			if rc.Commit == commit {
				t.Fatal("commitment not rotated after a win")
			}
		}
	}
	// Credit per ticket is exactly p·(face − claim cost).
	want := new(big.Int).Mul(ExpectedValue(new(big.Int).Sub(face, big.NewInt(1e12)), ratio), big.NewInt(n))
	if credit.Cmp(want) != 0 {
		t.Fatalf("credit %v, want %v", credit, want)
	}
	// Binomial(400, 1/8): mean 50, sd 6.6.
	if wins < 20 || wins > 80 {
		t.Fatalf("%d wins of %d at p=1/8", wins, n)
	}
	if len(commits) < wins {
		t.Fatalf("%d commitments for %d wins", len(commits), wins)
	}
	pending := WinnerPending
	ws, _ := f.store.Winners(&pending)
	if len(ws) != wins {
		t.Fatalf("%d winners stored, %d won", len(ws), wins)
	}

	red := NewRedeemer(RedeemerConfig{Store: f.store, Claimer: chainClaimer{c: f.c}, Receiver: f.recv,
		ClaimCost: func() *big.Int { return big.NewInt(1e12) }, BatchSize: 16, Now: func() time.Time { return f.now }})
	// Winners wait out the grace period before a claim reveals the secret.
	if paid, err := red.RedeemOnce(ctx, true); err != nil || paid.Sign() != 0 {
		t.Fatalf("claimed during grace: paid %v, %v", paid, err)
	}
	f.now = f.now.Add(time.Minute)
	paid, err := red.RedeemOnce(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	wantPaid := new(big.Int).Mul(face, big.NewInt(int64(wins)))
	if paid.Cmp(wantPaid) != 0 {
		t.Fatalf("paid %v, want %v", paid, wantPaid)
	}
	earn, _ := f.c.Lot.UnpackEarnings(f.c.Call(f.c.Addrs.Lottery, f.c.Lot.PackEarnings(common.Address{}, node)))
	if earn.Cmp(wantPaid) != 0 {
		t.Fatalf("earnings on chain %v, want %v", earn, wantPaid)
	}
	paidState := WinnerPaid
	if ws, _ := f.store.Winners(&paidState); len(ws) != wins {
		t.Fatalf("%d winners marked paid, want %d", len(ws), wins)
	}
	// Nothing left to claim.
	if paid, err := red.RedeemOnce(ctx, true); err != nil || paid.Sign() != 0 {
		t.Fatalf("second pass paid %v, %v", paid, err)
	}
}

// TestUnpaidWinnersCountAgainstAccount: stored, unclaimed winners reduce what
// the node believes the funder's account can still honour.
func TestUnpaidWinnersCountAgainstAccount(t *testing.T) {
	f := newFixture(t, contracts.Ether(1), contracts.Ether(10))
	ctx := context.Background()
	node := f.c.Addr(nodeIdx)
	win := func(face *big.Int) error {
		s, err := f.issuer.Issue(ctx, node, f.recv.Commit(), face, math.MaxUint64, time.Hour)
		if err != nil {
			return err
		}
		_, err = f.recv.Accept(ctx, f.issuer.Signer(), s)
		return err
	}
	if err := win(big.NewInt(6e17)); err != nil {
		t.Fatal(err)
	}
	if err := win(big.NewInt(6e17)); !errors.Is(err, ErrUnderfunded) {
		t.Fatalf("second winner beyond the balance: %v, want ErrUnderfunded", err)
	}
	if err := win(big.NewInt(4e17)); err != nil {
		t.Fatalf("winner within what is left: %v", err)
	}
}

func TestMeter(t *testing.T) {
	price := big.NewInt(1e15) // per GB
	m := NewMeter(price, big.NewInt(1e12), big.NewInt(4e12))
	if due := m.Due(); due.Cmp(big.NewInt(1e12)) != 0 {
		t.Fatalf("initial Due = %v, want the window", due)
	}
	m.Credit(big.NewInt(1e12))
	if m.State() != MeterOK || m.Due().Sign() != 0 {
		t.Fatalf("prepaid: state %v due %v", m.State(), m.Due())
	}
	m.Carry(1000) // 1000 B at 1e15/GB = 1e9
	if b := m.Balance(); b.Cmp(big.NewInt(1e12-1e9)) != 0 {
		t.Fatalf("balance %v", b)
	}
	m.Carry(1_500_000) // 1.5e12 more owed: balance -0.501e12
	if m.State() != MeterOK {
		t.Fatalf("within the window: %v", m.State())
	}
	m.Carry(1_000_000) // -1.501e12: behind by more than the window
	if m.State() != MeterThrottle {
		t.Fatalf("behind: %v", m.State())
	}
	m.Carry(3_000_000)
	if m.State() != MeterDrop {
		t.Fatalf("past the limit: %v", m.State())
	}
	// Exact pricing of single bytes: 10^6 one-byte packets = 1e12 exactly.
	m2 := NewMeter(price, big.NewInt(0), big.NewInt(0))
	for i := 0; i < 1_000_000; i++ {
		m2.Carry(1)
	}
	if b := m2.Balance(); b.Cmp(big.NewInt(-1e12)) != 0 {
		t.Fatalf("1e6 bytes cost %v, want 1e12", new(big.Int).Neg(b))
	}
}

func TestRatioRoundTrip(t *testing.T) {
	face := big.NewInt(1e16)
	for _, want := range []int64{1, 1e10, 1e13, 1e15, 5e15} {
		r := RatioFor(big.NewInt(want), face)
		got := ExpectedValue(face, r)
		if d := new(big.Int).Sub(got, big.NewInt(want)); d.CmpAbs(big.NewInt(1)) > 0 {
			t.Errorf("RatioFor(%d) gives expected value %v", want, got)
		}
	}
}

// flakyClaimer fails its first fails calls as an unreachable endpoint would.
type flakyClaimer struct {
	Claimer
	fails int
	calls int
}

func (f *flakyClaimer) Claim(ctx context.Context, ts []lottery.LotteryTicket) (map[common.Hash]Outcome, error) {
	f.calls++
	if f.calls <= f.fails {
		return nil, errors.New("dial tcp 127.0.0.1:8545: connect: connection refused")
	}
	return f.Claimer.Claim(ctx, ts)
}

// TestRedeemerRetriesThenExpires: winners survive failed claims (attempts
// recorded, still pending), are paid once the chain answers, and a winner
// that could not be claimed before its expiry is marked expired, not lost
// silently.
func TestRedeemerRetriesThenExpires(t *testing.T) {
	f := newFixture(t, contracts.Ether(10), contracts.Ether(10))
	ctx := context.Background()
	node := f.c.Addr(nodeIdx)
	face := big.NewInt(1e16)
	accept := func() {
		s, err := f.issuer.Issue(ctx, node, f.recv.Commit(), face, math.MaxUint64, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if rc, err := f.recv.Accept(ctx, f.issuer.Signer(), s); err != nil || !rc.Win {
			t.Fatalf("Accept = %+v, %v", rc, err)
		}
	}
	accept()
	accept()
	flaky := &flakyClaimer{Claimer: chainClaimer{c: f.c}, fails: 2}
	red := NewRedeemer(RedeemerConfig{Store: f.store, Claimer: flaky, Receiver: f.recv, Now: func() time.Time { return f.now }})
	f.now = f.now.Add(time.Minute)
	for i := 0; i < 2; i++ {
		if _, err := red.RedeemOnce(ctx, true); err == nil {
			t.Fatal("claim through a dead endpoint succeeded")
		}
	}
	pending := WinnerPending
	ws, _ := f.store.Winners(&pending)
	if len(ws) != 2 || ws[0].Attempts != 2 || ws[0].LastError == "" {
		t.Fatalf("after two failures: %d pending, attempts %d, last error %q", len(ws), ws[0].Attempts, ws[0].LastError)
	}
	paid, err := red.RedeemOnce(ctx, true)
	if err != nil || paid.Cmp(new(big.Int).Mul(face, big.NewInt(2))) != 0 {
		t.Fatalf("after recovery paid %v, %v", paid, err)
	}

	// A winner whose claims keep failing until it expires.
	accept()
	flaky.fails, flaky.calls = 1<<30, 0
	f.now = f.now.Add(time.Minute)
	red.RedeemOnce(ctx, true)
	f.now = f.now.Add(2 * time.Hour)
	if _, err := red.RedeemOnce(ctx, true); err != nil {
		t.Fatal(err)
	}
	expired := WinnerExpired
	if ws, _ := f.store.Winners(&expired); len(ws) != 1 {
		t.Fatalf("%d winners marked expired, want 1", len(ws))
	}
	if ws, _ := f.store.Winners(&pending); len(ws) != 0 {
		t.Fatalf("%d winners still pending after expiry", len(ws))
	}
}
