package chain_test

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/chaintest"
	"github.com/pexia-network/pexia/contracts/lottery"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/wallet"
	"github.com/pexia-network/pexia/wallet/chain"
)

// Roles of chaintest's funded keys.
const (
	funderKey = 1
	nodeKey   = 2
	otherKey  = 3
)

var native = common.Address{}

type env struct {
	*chaintest.Chain
	t   *testing.T
	net *contracts.Network
}

func setup(t *testing.T) *env {
	c := chaintest.New(t)
	return &env{Chain: c, t: t, net: &contracts.Network{
		Name: "sim", ChainID: c.ChainID, RPC: "http://127.0.0.1:1", Addresses: c.Addrs,
	}}
}

// opts fills test defaults: fast polling, mining after each send, logging to t.
func (e *env) opts(o chain.Options) chain.Options {
	if o.PollInterval == 0 {
		o.PollInterval = 20 * time.Millisecond
	}
	if o.ReceiptPoll == 0 {
		o.ReceiptPoll = 5 * time.Millisecond
	}
	if o.Backoff == 0 {
		o.Backoff = 10 * time.Millisecond
	}
	o.Mine = func() { e.Sim.Commit() }
	o.Logf = e.t.Logf
	return o
}

// client makes a client on the simulated backend.
func (e *env) client(o chain.Options) *chain.Client {
	e.t.Helper()
	cl, err := chain.New(e.net, e.Client, e.opts(o))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(cl.Close)
	return cl
}

// run runs cl's follower until the test ends.
func run(t *testing.T, cl *chain.Client) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cl.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v", err)
		}
	})
}

func newKey(t *testing.T) (*ecdsa.PrivateKey, common.Address) {
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k, crypto.PubkeyToAddress(k.PublicKey)
}

func ether(n int64) *big.Int { return contracts.Ether(n) }

func wantAccount(t *testing.T, a wallet.Account, balance, escrow *big.Int) {
	t.Helper()
	if a.Balance.Cmp(balance) != 0 || a.Escrow.Cmp(escrow) != 0 {
		t.Fatalf("account balance %v escrow %v, want %v and %v", a.Balance, a.Escrow, balance, escrow)
	}
}

// ticket signs a ticket from funder's account with signer for the node.
// ratio MaxUint64 always wins.
func (e *env) ticket(signer *ecdsa.PrivateKey, nonce uint64, face *big.Int, opts ...func(*contracts.Ticket)) lottery.LotteryTicket {
	e.t.Helper()
	reveal := crypto.Keccak256Hash([]byte(fmt.Sprint("reveal", nonce, face)))
	tk := contracts.Ticket{
		Token:     native,
		Recipient: e.Addr(nodeKey),
		Commit:    contracts.Commit(reveal),
		Issued:    e.Now(),
		Nonce:     nonce,
		FaceValue: face,
		Expire:    3600,
		Ratio:     math.MaxUint64,
		Funder:    e.Addr(funderKey),
	}
	for _, o := range opts {
		o(&tk)
	}
	s, err := contracts.Sign(tk, e.ChainID, e.Addrs.Lottery, signer)
	if err != nil {
		e.t.Fatal(err)
	}
	lt, err := s.Claim(reveal)
	if err != nil {
		e.t.Fatal(err)
	}
	return lt
}

func TestAccountFollowsEvents(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	cl := e.client(chain.Options{})
	run(t, cl)
	node := e.client(chain.Options{})
	signer, signerAddr := newKey(t)
	funder := e.Addr(funderKey)

	if _, err := cl.Deposit(ctx, e.Keys[funderKey], native, signerAddr, ether(10), ether(4)); err != nil {
		t.Fatal(err)
	}
	a, st, err := cl.Account(ctx, native, funder, signerAddr)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Fresh() || st.Err != nil {
		t.Fatalf("status after deposit: %+v", st)
	}
	wantAccount(t, a, ether(6), ether(4))
	read := a.Block

	// A deposit made elsewhere reaches the cache through its Update event.
	e.Tx(funderKey, e.Addrs.Lottery, e.Lot.PackDeposit(signerAddr, ether(1)), ether(3))
	testutil.WaitFor(t, "the Update event", 15*time.Second, func() bool {
		a, st, err = cl.Account(ctx, native, funder, signerAddr)
		return err == nil && st.Cached && a.Balance.Cmp(ether(8)) == 0
	})
	wantAccount(t, a, ether(8), ether(5))
	if !st.Fresh() || a.Block <= read {
		t.Fatalf("cached answer: status %+v, block %d (read at %d)", st, a.Block, read)
	}

	// The node's claim reaches the payer's cache through its Won event.
	res, err := node.Claim(ctx, e.Keys[nodeKey], native, []lottery.LotteryTicket{e.ticket(signer, 1, ether(2))})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Tickets[0].Paid || res.Tickets[0].Amount.Cmp(ether(2)) != 0 {
		t.Fatalf("claim result %+v", res.Tickets[0])
	}
	testutil.WaitFor(t, "the Won event", 15*time.Second, func() bool {
		a, st, err = cl.Account(ctx, native, funder, signerAddr)
		return err == nil && st.Cached && a.Balance.Cmp(ether(6)) == 0
	})
	wantAccount(t, a, ether(6), ether(5))

	// A warn made elsewhere: Update carries warned and unlock.
	e.Tx(funderKey, e.Addrs.Lottery, e.Lot.PackWarn(native, signerAddr, ether(1)), nil)
	testutil.WaitFor(t, "the warn", 15*time.Second, func() bool {
		a, st, err = cl.Account(ctx, native, funder, signerAddr)
		return err == nil && st.Cached && a.Warned.Cmp(ether(1)) == 0
	})
	if a.Unlock == 0 {
		t.Fatal("warned account without unlock time")
	}
	e.Tx(funderKey, e.Addrs.Lottery, e.Lot.PackWarn(native, signerAddr, new(big.Int)), nil)

	// An overdraft: Won pays balance then escrow, Burned takes the rest.
	res, err = node.Claim(ctx, e.Keys[nodeKey], native, []lottery.LotteryTicket{e.ticket(signer, 2, ether(8))})
	if err != nil {
		t.Fatal(err)
	}
	if tr := res.Tickets[0]; !tr.Paid || tr.Amount.Cmp(ether(8)) != 0 || len(res.Burned) != 1 || res.Burned[0].Amount.Cmp(ether(3)) != 0 {
		t.Fatalf("overdraft claim: ticket %+v burned %+v", tr, res.Burned)
	}
	testutil.WaitFor(t, "the overdraft", 15*time.Second, func() bool {
		a, st, err = cl.Account(ctx, native, funder, signerAddr)
		return err == nil && st.Cached && a.Balance.Sign() == 0 && a.Escrow.Sign() == 0 && a.Warned.Sign() == 0
	})

	// The cache agrees with a fresh read from a client without one.
	other := e.client(chain.Options{})
	b, st2, err := other.Account(ctx, native, funder, signerAddr)
	if err != nil || st2.Cached {
		t.Fatalf("fresh read: %v %+v", err, st2)
	}
	wantAccount(t, b, a.Balance, a.Escrow)
	if h := cl.Health(); !h.OK || h.Synced == 0 || h.LastPoll.IsZero() {
		t.Fatalf("health %+v", h)
	}
}

func TestClaimResults(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	cl := e.client(chain.Options{})
	signer, signerAddr := newKey(t)
	stranger, _ := newKey(t) // signs tickets but has no account
	if _, err := cl.Deposit(ctx, e.Keys[funderKey], native, signerAddr, ether(20), ether(10)); err != nil {
		t.Fatal(err)
	}

	win := e.ticket(signer, 1, ether(1))
	loser := e.ticket(signer, 2, ether(1), func(tk *contracts.Ticket) { tk.Ratio = 0 })
	expired := e.ticket(signer, 3, ether(1), func(tk *contracts.Ticket) { tk.Issued -= 7200 })
	badSig := e.ticket(signer, 4, ether(1))
	badSig.R = common.Hash{}
	unfunded := e.ticket(stranger, 5, ether(1))
	in := []lottery.LotteryTicket{win, loser, expired, badSig, unfunded, win}
	want := []contracts.Reason{contracts.ReasonNone, contracts.ReasonNotWinner, contracts.ReasonExpired, contracts.ReasonBadSignature, contracts.ReasonUnfunded, contracts.ReasonReplayed}

	res, err := cl.Claim(ctx, e.Keys[nodeKey], native, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tickets) != len(in) {
		t.Fatalf("%d results for %d tickets", len(res.Tickets), len(in))
	}
	for i, tr := range res.Tickets {
		id, err := cl.TicketID(native, e.Addr(nodeKey), in[i])
		if err != nil {
			t.Fatal(err)
		}
		if !tr.Decoded || tr.ID != id || tr.Reason != want[i] || tr.Paid != (want[i] == contracts.ReasonNone) {
			t.Errorf("ticket %d: %+v, want reason %v", i, tr, want[i])
		}
		if tr.PaidBefore != nil {
			t.Errorf("ticket %d: paid before in the same transaction: %+v", i, tr.PaidBefore)
		}
	}
	if res.Total.Cmp(ether(1)) != 0 || res.Fee.Sign() <= 0 || res.GasUsed == 0 || res.Block == 0 {
		t.Fatalf("claim result %+v", res)
	}
	wantKey := contracts.AccountKey(native, e.Addr(funderKey), signerAddr)
	if res.Tickets[0].Account != wantKey {
		t.Fatalf("paid from account %x, want %x", res.Tickets[0].Account, wantKey)
	}

	// The contract's own digest agrees with TicketID.
	d, err := e.Lot.UnpackTicketDigest(e.Call(e.Addrs.Lottery, e.Lot.PackTicketDigest(native, e.Addr(nodeKey), contracts.Commit(win.Reveal), win.Packed0, win.Packed1)))
	if err != nil || common.Hash(d) != res.Tickets[0].ID {
		t.Fatalf("contract digest %x, TicketID %x (%v)", d, res.Tickets[0].ID, err)
	}

	// Claiming the winner again, as after a crash: refused as replayed, and
	// the earlier payment is found.
	again, err := cl.Claim(ctx, e.Keys[nodeKey], native, []lottery.LotteryTicket{win})
	if err != nil {
		t.Fatal(err)
	}
	tr := again.Tickets[0]
	if tr.Paid || tr.Reason != contracts.ReasonReplayed || tr.PaidBefore == nil || tr.PaidBefore.Tx != res.Tx || tr.PaidBefore.Amount.Cmp(ether(1)) != 0 {
		t.Fatalf("replayed claim: %+v (paid before %+v)", tr, tr.PaidBefore)
	}

	mark, err := cl.Mark(ctx, signerAddr, e.Addr(nodeKey))
	if err != nil || mark != 1 {
		t.Fatalf("Mark = %d, %v; want 1", mark, err)
	}
	earn, err := cl.Earnings(ctx, native, e.Addr(nodeKey))
	if err != nil || earn.Cmp(ether(1)) != 0 {
		t.Fatalf("Earnings = %v, %v", earn, err)
	}
	_, target := newKey(t)
	if _, err := cl.Collect(ctx, e.Keys[nodeKey], native, earn, target); err != nil {
		t.Fatal(err)
	}
	if got, err := cl.Balance(ctx, native, target); err != nil || got.Cmp(ether(1)) != 0 {
		t.Fatalf("collected %v, %v", got, err)
	}
	if _, err := cl.Collect(ctx, e.Keys[nodeKey], native, ether(1), target); !errors.Is(err, chain.ErrReverted) {
		t.Fatalf("collect more than earned: %v", err)
	}

	if _, err := cl.Claim(ctx, e.Keys[nodeKey], native, nil); !errors.Is(err, chain.ErrInvalid) {
		t.Fatalf("empty claim: %v", err)
	}
}

func TestTokenDepositWarnWithdraw(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	cl := e.client(chain.Options{})
	run(t, cl)
	_, signerAddr := newKey(t)
	funder, tok := e.Addr(funderKey), e.Addrs.Token
	e.Tx(0, tok, e.Tok.PackMint(funder, ether(1000)), nil)
	// A small standing allowance: Deposit resets it to 0 before approving.
	e.Tx(funderKey, tok, e.Tok.PackApprove(e.Addrs.Lottery, big.NewInt(5)), nil)

	if _, err := cl.Deposit(ctx, e.Keys[funderKey], tok, signerAddr, ether(100), ether(40)); err != nil {
		t.Fatal(err)
	}
	a, _, err := cl.Account(ctx, tok, funder, signerAddr)
	if err != nil {
		t.Fatal(err)
	}
	wantAccount(t, a, ether(60), ether(40))
	if bal, err := cl.Balance(ctx, tok, funder); err != nil || bal.Cmp(ether(900)) != 0 {
		t.Fatalf("token balance %v, %v", bal, err)
	}

	if _, err := cl.Warn(ctx, e.Keys[funderKey], tok, signerAddr, ether(30)); err != nil {
		t.Fatal(err)
	}
	a, _, err = cl.Account(ctx, tok, funder, signerAddr)
	if err != nil || a.Warned.Cmp(ether(30)) != 0 || a.Unlock == 0 {
		t.Fatalf("after warn: %+v, %v", a, err)
	}
	if a.MaxFace().Cmp(ether(20)) != 0 {
		t.Fatalf("MaxFace %v after warning 30 of 60/40", a.MaxFace())
	}
	_, target := newKey(t)
	_, err = cl.Withdraw(ctx, e.Keys[funderKey], tok, signerAddr, ether(30), target)
	var re *chain.RevertError
	if !errors.As(err, &re) || re.Name != "Locked" || !errors.Is(err, chain.ErrReverted) {
		t.Fatalf("early withdraw: %v", err)
	}
	e.AdjustTime(25 * time.Hour)
	if _, err := cl.Withdraw(ctx, e.Keys[funderKey], tok, signerAddr, ether(30), target); err != nil {
		t.Fatal(err)
	}
	if got := e.TokenBalance(target); got.Cmp(ether(30)) != 0 {
		t.Fatalf("withdrew %v", got)
	}
	a, _, err = cl.Account(ctx, tok, funder, signerAddr)
	if err != nil {
		t.Fatal(err)
	}
	wantAccount(t, a, ether(30), ether(40))
	if _, err := cl.Move(ctx, e.Keys[funderKey], tok, signerAddr, ether(10)); err != nil {
		t.Fatal(err)
	}
	a, _, err = cl.Account(ctx, tok, funder, signerAddr)
	if err != nil {
		t.Fatal(err)
	}
	wantAccount(t, a, ether(20), ether(50))

	if _, err := cl.Deposit(ctx, e.Keys[funderKey], tok, signerAddr, ether(1), ether(2)); !errors.Is(err, chain.ErrInvalid) {
		t.Fatalf("escrow above amount: %v", err)
	}
}

func TestConcurrentSends(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	cl := e.client(chain.Options{})
	_, signerAddr := newKey(t)
	const n = 8
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := cl.Deposit(ctx, e.Keys[funderKey], native, signerAddr, ether(1), new(big.Int)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	a, _, err := cl.Account(ctx, native, e.Addr(funderKey), signerAddr)
	if err != nil {
		t.Fatal(err)
	}
	wantAccount(t, a, ether(n), new(big.Int))
}

func TestClaimCost(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	cl := e.client(chain.Options{ClaimGas: 60_000})
	cost, err := cl.ClaimCost(ctx)
	if err != nil {
		t.Fatal(err)
	}
	price, err := e.Client.SuggestGasPrice(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cost.Sign() <= 0 || cost.Cmp(new(big.Int).Mul(price, big.NewInt(60_000))) != 0 {
		t.Fatalf("ClaimCost %v with gas price %v", cost, price)
	}
}

// TestOutage runs the client over HTTP JSON-RPC and switches the endpoint
// off and on.
func TestOutage(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	ep := newEndpoint(t, e.Client)
	e.net.RPC = ep.URL()
	cl, err := chain.Dial(ctx, e.net, e.opts(chain.Options{CallTimeout: time.Second, Retries: 2}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	run(t, cl)
	_, signerAddr := newKey(t)
	funder := e.Addr(funderKey)

	// Writes and reverts over HTTP.
	if _, err := cl.Deposit(ctx, e.Keys[funderKey], native, signerAddr, ether(5), ether(2)); err != nil {
		t.Fatal(err)
	}
	var re *chain.RevertError
	if _, err := cl.Withdraw(ctx, e.Keys[funderKey], native, signerAddr, ether(1), funder); !errors.As(err, &re) || re.Name != "NotWarned" {
		t.Fatalf("withdraw without warning: %v", err)
	}
	testutil.WaitFor(t, "a cached answer", 15*time.Second, func() bool {
		_, st, err := cl.Account(ctx, native, funder, signerAddr)
		return err == nil && st.Cached && st.Fresh()
	})

	ep.down()
	// The chain moves on while the client cannot see it.
	e.Tx(funderKey, e.Addrs.Lottery, e.Lot.PackDeposit(signerAddr, new(big.Int)), ether(1))
	testutil.WaitFor(t, "the outage to be noticed", 15*time.Second, func() bool { return !cl.Health().OK })
	h := cl.Health()
	if h.LastError == nil || h.Failures == 0 {
		t.Fatalf("health during outage %+v", h)
	}
	testutil.WaitFor(t, "a stale answer", 15*time.Second, func() bool {
		a, st, err := cl.Account(ctx, native, funder, signerAddr)
		if err != nil {
			t.Fatalf("Account during outage: %v", err)
		}
		if st.Stale {
			if !st.Cached || st.Err == nil || !errors.Is(st.Err, chain.ErrUnavailable) || st.ReadAt.IsZero() {
				t.Fatalf("stale status %+v", st)
			}
			wantAccount(t, a, ether(3), ether(2))
		}
		return st.Stale
	})
	if _, err := cl.Earnings(ctx, native, funder); !errors.Is(err, chain.ErrUnavailable) {
		t.Fatalf("Earnings during outage: %v", err)
	}
	// An account never read has nothing to fall back on.
	if _, _, err := cl.Account(ctx, native, funder, common.Address{1}); !errors.Is(err, chain.ErrUnavailable) {
		t.Fatalf("uncached account during outage: %v", err)
	}
	// Writes fail cleanly.
	if _, err := cl.Deposit(ctx, e.Keys[funderKey], native, signerAddr, ether(1), new(big.Int)); !errors.Is(err, chain.ErrUnavailable) {
		t.Fatalf("deposit during outage: %v", err)
	}

	ep.up()
	testutil.WaitFor(t, "recovery", 15*time.Second, func() bool {
		a, st, err := cl.Account(ctx, native, funder, signerAddr)
		return err == nil && st.Fresh() && st.Cached && a.Balance.Cmp(ether(4)) == 0
	})
	if h := cl.Health(); !h.OK || h.Failures != 0 {
		t.Fatalf("health after recovery %+v", h)
	}
	if _, err := cl.Deposit(ctx, e.Keys[funderKey], native, signerAddr, ether(1), new(big.Int)); err != nil {
		t.Fatalf("deposit after recovery: %v", err)
	}
}

// TestDialWhileDown: a client made while the endpoint is unreachable
// starts, reports the outage and works once the endpoint is up.
func TestDialWhileDown(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	ep := newEndpoint(t, e.Client)
	ep.down()
	e.net.RPC = ep.URL()
	cl, err := chain.Dial(ctx, e.net, e.opts(chain.Options{CallTimeout: time.Second, Retries: 1}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	run(t, cl)
	if cl.Health().OK {
		t.Fatal("health OK with the endpoint down")
	}
	ep.up()
	testutil.WaitFor(t, "the first poll", 15*time.Second, func() bool { h := cl.Health(); return h.OK && !h.LastPoll.IsZero() })
	if _, _, err := cl.Account(ctx, native, e.Addr(funderKey), e.Addr(otherKey)); err != nil {
		t.Fatal(err)
	}

	// A network file naming another chain is refused.
	wrong := *e.net
	wrong.ChainID = big.NewInt(99)
	if _, err := chain.Dial(ctx, &wrong, chain.Options{}); !errors.Is(err, chain.ErrWrongChain) {
		t.Fatalf("wrong chain: %v", err)
	}
}

// TestRetries: transport errors are retried with backoff, answers are not.
func TestRetries(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	ep := newEndpoint(t, e.Client)
	var mu sync.Mutex
	fail := 0 // requests still to fail with 503
	calls := 0
	flaky := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		f := fail > 0
		if f {
			fail--
		}
		mu.Unlock()
		if f {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		ep.h.ServeHTTP(w, r)
	})}
	ln := listen(t)
	go flaky.Serve(ln)
	t.Cleanup(func() { flaky.Close() })
	e.net.RPC = "http://" + ln.Addr().String()
	cl, err := chain.Dial(ctx, e.net, e.opts(chain.Options{Retries: 3}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)

	mu.Lock()
	fail, calls = 2, 0
	mu.Unlock()
	if _, err := cl.Earnings(ctx, native, e.Addr(nodeKey)); err != nil {
		t.Fatalf("two 503s then success: %v", err)
	}
	mu.Lock()
	if calls != 3 {
		t.Errorf("%d requests, want 3", calls)
	}
	fail, calls = 10, 0
	mu.Unlock()
	if _, err := cl.Earnings(ctx, native, e.Addr(nodeKey)); !errors.Is(err, chain.ErrUnavailable) {
		t.Fatalf("persistent 503: %v", err)
	}
	mu.Lock()
	if calls != 4 {
		t.Errorf("%d requests, want 1 + 3 retries", calls)
	}
	fail, calls = 0, 0
	mu.Unlock()
	// A revert is an answer: no retry.
	if _, err := cl.Collect(ctx, e.Keys[nodeKey], native, ether(1), e.Addr(nodeKey)); !errors.Is(err, chain.ErrReverted) {
		t.Fatalf("collect without earnings: %v", err)
	}
	mu.Lock()
	if calls != 1 { // the gas estimate that reverts
		t.Errorf("%d requests for a reverting send, want 1", calls)
	}
	mu.Unlock()
}

func TestTransient(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{rpc.HTTPError{StatusCode: 503}, true},
		{rpc.HTTPError{StatusCode: 429}, true},
		{rpc.HTTPError{StatusCode: 400}, false},
		{io.ErrUnexpectedEOF, true},
		{context.DeadlineExceeded, true},
		{errors.New("execution reverted: Locked"), false},
		{fmt.Errorf("wrapped: %w", rpc.HTTPError{StatusCode: 502}), true},
		{nil, false},
	} {
		if got := chain.Transient(tc.err); got != tc.want {
			t.Errorf("Transient(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestOutageNoRequestPerRead: while the follower runs and the endpoint is
// known to be down, Account answers from the cache without a request of
// its own (the follower probes once a poll), however often it is asked.
func TestOutageNoRequestPerRead(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	ep := newEndpoint(t, e.Client)
	e.net.RPC = ep.URL()
	// The follower polls once, at start; cached answers are fresh only
	// for a moment after it.
	cl, err := chain.Dial(ctx, e.net, e.opts(chain.Options{CallTimeout: time.Second, Retries: 2,
		PollInterval: time.Hour, FreshFor: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	run(t, cl)
	_, signerAddr := newKey(t)
	funder := e.Addr(funderKey)
	if _, err := cl.Deposit(ctx, e.Keys[funderKey], native, signerAddr, ether(5), ether(2)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "the follower's first poll", 15*time.Second, func() bool { return !cl.Health().LastPoll.IsZero() })
	if _, _, err := cl.Account(ctx, native, funder, signerAddr); err != nil {
		t.Fatal(err)
	}

	ep.down()
	// The first read past FreshFor finds the endpoint down.
	if _, st, err := cl.Account(ctx, native, funder, signerAddr); err != nil || !st.Stale {
		t.Fatalf("first read during the outage: %+v, %v", st, err)
	}
	before := cl.Health().Failures
	for range 50 {
		a, st, err := cl.Account(ctx, native, funder, signerAddr)
		if err != nil || !st.Stale || !st.Cached || !errors.Is(st.Err, chain.ErrUnavailable) {
			t.Fatalf("read during the outage: %+v, %v", st, err)
		}
		wantAccount(t, a, ether(3), ether(2))
	}
	if after := cl.Health().Failures; after != before {
		t.Fatalf("50 reads during the outage made %d requests to the dead endpoint", after-before)
	}
}
