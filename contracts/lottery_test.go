package contracts_test

import (
	"crypto/ecdsa"
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/chaintest"
	"github.com/pexia-network/pexia/contracts/lottery"
)

// Roles of the test keys in lottery tests.
const (
	funder    = 1
	recipient = 2
	other     = 3
)

var native = common.Address{}

// signerKey is the funder's ticket-signing hot key (never holds coin).
func signerKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := crypto.HexToECDSA("1111111111111111111111111111111111111111111111111111111111111111")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type ticketOpt func(*contracts.Ticket)

// ticket signs a ticket for recipient paying face from funder's account,
// with ratio max (always wins) unless changed by opts.
func (c *chain) ticket(signer *ecdsa.PrivateKey, token common.Address, nonce uint64, face *big.Int, reveal common.Hash, opts ...ticketOpt) *contracts.Signed {
	c.T.Helper()
	tk := contracts.Ticket{
		Token:     token,
		Recipient: c.Addr(recipient),
		Commit:    contracts.Commit(reveal),
		Issued:    c.Now(),
		Nonce:     nonce,
		FaceValue: face,
		Expire:    3600,
		Ratio:     math.MaxUint64,
		Funder:    c.Addr(funder),
	}
	for _, o := range opts {
		o(&tk)
	}
	s, err := contracts.Sign(tk, c.ChainID, c.Addrs.Lottery, signer)
	if err != nil {
		c.T.Fatal(err)
	}
	return s
}

func (c *chain) claimData(token common.Address, reveal common.Hash, ts ...*contracts.Signed) []byte {
	c.T.Helper()
	var in []lottery.LotteryTicket
	for _, s := range ts {
		lt, err := s.Claim(reveal)
		if err != nil {
			c.T.Fatal(err)
		}
		in = append(in, lt)
	}
	return c.Lot.PackClaim(token, in)
}

type acct struct{ balance, escrow, warned *big.Int }

func (c *chain) account(token common.Address, signer common.Address) acct {
	c.T.Helper()
	out, err := c.Lot.UnpackAccount(c.Call(c.Addrs.Lottery, c.Lot.PackAccount(token, c.Addr(funder), signer)))
	if err != nil {
		c.T.Fatal(err)
	}
	return acct{out.Balance, out.Escrow, out.Warned}
}

func (c *chain) earnings(token common.Address) *big.Int {
	c.T.Helper()
	v, err := c.Lot.UnpackEarnings(c.Call(c.Addrs.Lottery, c.Lot.PackEarnings(token, c.Addr(recipient))))
	if err != nil {
		c.T.Fatal(err)
	}
	return v
}

// events decodes the claim outcome of a receipt.
func (c *chain) events(r *types.Receipt) (won []*lottery.LotteryWon, rejected []contracts.Reason, burned *big.Int) {
	burned = new(big.Int)
	for _, l := range r.Logs {
		if e, err := c.Lot.UnpackWonEvent(l); err == nil {
			won = append(won, e)
		} else if e, err := c.Lot.UnpackRejectedEvent(l); err == nil {
			rejected = append(rejected, contracts.Reason(e.Reason))
		} else if e, err := c.Lot.UnpackBurnedEvent(l); err == nil {
			burned.Add(burned, e.Amount)
		}
	}
	return
}

func eq(t *testing.T, what string, got, want *big.Int) {
	t.Helper()
	if got.Cmp(want) != 0 {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func TestTicketDigestMatchesContract(t *testing.T) {
	c := newChain(t)
	sk := signerKey(t)
	s := c.ticket(sk, c.Addrs.Token, 7, big.NewInt(12345), common.HexToHash("0xabc"))
	p0, p1, err := s.Packed()
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Lot.UnpackTicketDigest(c.Call(c.Addrs.Lottery, c.Lot.PackTicketDigest(s.Token, s.Recipient, s.Commit, new(big.Int).SetBytes(p0[:]), new(big.Int).SetBytes(p1[:]))))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := s.Digest(c.ChainID, c.Addrs.Lottery)
	if common.Hash(got) != want {
		t.Fatalf("contract digest %x, Go digest %x", got, want)
	}
	signer, _, err := s.Signer(c.ChainID, c.Addrs.Lottery)
	if err != nil || signer != crypto.PubkeyToAddress(sk.PublicKey) {
		t.Fatalf("Signer() = %v, %v; want %v", signer, err, crypto.PubkeyToAddress(sk.PublicKey))
	}
	if got := c.Addrs.Lottery; contracts.AccountKey(native, c.Addr(funder), signer) == (common.Hash{}) || got == (common.Address{}) {
		t.Fatal("zero key")
	}
	key, err := c.Lot.UnpackAccountKey(c.Call(c.Addrs.Lottery, c.Lot.PackAccountKey(native, c.Addr(funder), signer)))
	if err != nil || common.Hash(key) != contracts.AccountKey(native, c.Addr(funder), signer) {
		t.Fatalf("account key mismatch: %x vs %x (%v)", key, contracts.AccountKey(native, c.Addr(funder), signer), err)
	}
}

func TestDepositMoveWarnWithdraw(t *testing.T) {
	for _, tc := range []struct {
		name  string
		token func(c *chain) common.Address
	}{
		{"native", func(*chain) common.Address { return native }},
		{"erc20", func(c *chain) common.Address { return c.Addrs.Token }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChain(t)
			token := tc.token(c)
			signer := crypto.PubkeyToAddress(signerKey(t).PublicKey)
			if token == native {
				c.Tx(funder, c.Addrs.Lottery, c.Lot.PackDeposit(signer, contracts.Ether(4)), contracts.Ether(10))
				_, err := c.Try(funder, c.Addrs.Lottery, c.Lot.PackDeposit(signer, contracts.Ether(2)), contracts.Ether(1))
				chaintest.WantRevert(t, err, lottery.LotteryEscrowExceedsDepositErrorID())
			} else {
				c.Mint(funder, contracts.Ether(10), c.Addrs.Lottery)
				c.Tx(funder, c.Addrs.Lottery, c.Lot.PackDepositToken(token, signer, contracts.Ether(10), contracts.Ether(4)), nil)
				eq(t, "lottery token balance", c.TokenBalance(c.Addrs.Lottery), contracts.Ether(10))
			}
			a := c.account(token, signer)
			eq(t, "balance", a.balance, contracts.Ether(6))
			eq(t, "escrow", a.escrow, contracts.Ether(4))

			c.Tx(funder, c.Addrs.Lottery, c.Lot.PackMove(token, signer, contracts.Ether(1)), nil)
			a = c.account(token, signer)
			eq(t, "balance after move", a.balance, contracts.Ether(5))
			eq(t, "escrow after move", a.escrow, contracts.Ether(5))
			_, err := c.Try(funder, c.Addrs.Lottery, c.Lot.PackMove(token, signer, contracts.Ether(6)), nil)
			chaintest.WantRevert(t, err, lottery.LotteryInsufficientErrorID())

			// Withdrawing needs a warning first, then the delay.
			target := c.Addr(other)
			_, err = c.Try(funder, c.Addrs.Lottery, c.Lot.PackWithdraw(token, signer, contracts.Ether(1), target), nil)
			chaintest.WantRevert(t, err, lottery.LotteryNotWarnedErrorID())
			c.Tx(funder, c.Addrs.Lottery, c.Lot.PackWarn(token, signer, contracts.Ether(7)), nil)
			c.AdjustTime(23 * time.Hour)
			_, err = c.Try(funder, c.Addrs.Lottery, c.Lot.PackWithdraw(token, signer, contracts.Ether(7), target), nil)
			chaintest.WantRevert(t, err, lottery.LotteryLockedErrorID())
			c.AdjustTime(2 * time.Hour)
			_, err = c.Try(funder, c.Addrs.Lottery, c.Lot.PackWithdraw(token, signer, contracts.Ether(8), target), nil)
			chaintest.WantRevert(t, err, lottery.LotteryInsufficientErrorID())

			before := c.CoinBalance(target)
			if token != native {
				before = c.TokenBalance(target)
			}
			c.Tx(funder, c.Addrs.Lottery, c.Lot.PackWithdraw(token, signer, contracts.Ether(7), target), nil)
			after := c.CoinBalance(target)
			if token != native {
				after = c.TokenBalance(target)
			}
			eq(t, "withdrawn to target", new(big.Int).Sub(after, before), contracts.Ether(7))
			a = c.account(token, signer)
			eq(t, "balance after withdraw (taken first)", a.balance, big.NewInt(0))
			eq(t, "escrow after withdraw", a.escrow, contracts.Ether(3))
			eq(t, "warned after withdraw", a.warned, big.NewInt(0))

			// Another withdrawal needs a new warning.
			_, err = c.Try(funder, c.Addrs.Lottery, c.Lot.PackWithdraw(token, signer, contracts.Ether(1), target), nil)
			chaintest.WantRevert(t, err, lottery.LotteryNotWarnedErrorID())
		})
	}
}

// fund deposits balance and escrow for the signer key in token.
func (c *chain) fund(token common.Address, signer common.Address, balance, escrow *big.Int) {
	c.T.Helper()
	total := new(big.Int).Add(balance, escrow)
	if token == native {
		c.Tx(funder, c.Addrs.Lottery, c.Lot.PackDeposit(signer, escrow), total)
		return
	}
	c.Mint(funder, total, c.Addrs.Lottery)
	c.Tx(funder, c.Addrs.Lottery, c.Lot.PackDepositToken(token, signer, total, escrow), nil)
}

func TestClaimWinnerAndCollect(t *testing.T) {
	for _, name := range []string{"native", "erc20"} {
		t.Run(name, func(t *testing.T) {
			c := newChain(t)
			token := native
			if name == "erc20" {
				token = c.Addrs.Token
			}
			sk := signerKey(t)
			signer := crypto.PubkeyToAddress(sk.PublicKey)
			c.fund(token, signer, contracts.Ether(10), contracts.Ether(10))
			reveal := common.HexToHash("0x5ec7e7")
			s := c.ticket(sk, token, 1, contracts.Ether(2), reveal)
			r := c.Tx(recipient, c.Addrs.Lottery, c.claimData(token, reveal, s), nil)
			won, rejected, _ := c.events(r)
			if len(won) != 1 || len(rejected) != 0 {
				t.Fatalf("won %d rejected %v, want one win", len(won), rejected)
			}
			id, _ := s.Digest(c.ChainID, c.Addrs.Lottery)
			if won[0].Ticket != id || won[0].Account != contracts.AccountKey(token, c.Addr(funder), signer) {
				t.Fatalf("Won event names ticket %x account %x", won[0].Ticket, won[0].Account)
			}
			eq(t, "paid", won[0].Amount, contracts.Ether(2))
			eq(t, "earnings", c.earnings(token), contracts.Ether(2))
			eq(t, "balance", c.account(token, signer).balance, contracts.Ether(8))

			target := c.Addr(other)
			_, err := c.Try(recipient, c.Addrs.Lottery, c.Lot.PackCollect(token, contracts.Ether(3), target), nil)
			chaintest.WantRevert(t, err, lottery.LotteryInsufficientErrorID())
			before := c.CoinBalance(target)
			if token != native {
				before = c.TokenBalance(target)
			}
			c.Tx(recipient, c.Addrs.Lottery, c.Lot.PackCollect(token, contracts.Ether(2), target), nil)
			after := c.CoinBalance(target)
			if token != native {
				after = c.TokenBalance(target)
			}
			eq(t, "collected", new(big.Int).Sub(after, before), contracts.Ether(2))
			eq(t, "earnings after collect", c.earnings(token), big.NewInt(0))
		})
	}
}

func TestClaimRejects(t *testing.T) {
	c := newChain(t)
	sk := signerKey(t)
	signer := crypto.PubkeyToAddress(sk.PublicKey)
	c.fund(native, signer, contracts.Ether(10), contracts.Ether(10))
	reveal := common.HexToHash("0x5ec7e7")
	face := contracts.Ether(1)

	// A losing ticket: ratio 0 wins only if the draw is exactly 0.
	loser := c.ticket(sk, native, 1, face, reveal, func(t *contracts.Ticket) { t.Ratio = 0 })
	// Expired: issued long ago.
	expired := c.ticket(sk, native, 2, face, reveal, func(t *contracts.Ticket) { t.Issued -= 7200 })
	// Forged: signed by a key with no account.
	forgerKey, _ := crypto.GenerateKey()
	forged := c.ticket(forgerKey, native, 3, face, reveal)
	// Tampered: face value raised after signing.
	tampered := c.ticket(sk, native, 4, face, reveal)
	tampered.FaceValue = contracts.Ether(5)
	// Malformed signature: zero r.
	malformed := c.ticket(sk, native, 5, face, reveal)
	malformed.R = common.Hash{}
	// Good ticket with nonce 10, then a replay of it and an older nonce.
	good := c.ticket(sk, native, 10, face, reveal)
	older := c.ticket(sk, native, 9, face, reveal)

	r := c.Tx(recipient, c.Addrs.Lottery, c.claimData(native, reveal, loser, expired, forged, tampered, malformed, good, good, older), nil)
	won, rejected, _ := c.events(r)
	want := []contracts.Reason{contracts.ReasonNotWinner, contracts.ReasonExpired, contracts.ReasonUnfunded,
		contracts.ReasonUnfunded, contracts.ReasonBadSignature, contracts.ReasonReplayed, contracts.ReasonReplayed}
	if len(won) != 1 || len(rejected) != len(want) {
		t.Fatalf("won %d, rejected %v; want 1 win and %v", len(won), rejected, want)
	}
	for i := range want {
		if rejected[i] != want[i] {
			t.Fatalf("rejection %d = %v, want %v", i, rejected[i], want[i])
		}
	}
	eq(t, "earnings", c.earnings(native), face)

	// Double claim in a later transaction.
	r = c.Tx(recipient, c.Addrs.Lottery, c.claimData(native, reveal, good), nil)
	if won, rejected, _ = c.events(r); len(won) != 0 || len(rejected) != 1 || rejected[0] != contracts.ReasonReplayed {
		t.Fatalf("second claim: won %d rejected %v", len(won), rejected)
	}
	// A wrong reveal does not match the signed commitment.
	next := c.ticket(sk, native, 11, face, reveal)
	r = c.Tx(recipient, c.Addrs.Lottery, c.claimData(native, common.HexToHash("0xbad"), next), nil)
	if won, rejected, _ = c.events(r); len(won) != 0 || len(rejected) != 1 || rejected[0] != contracts.ReasonUnfunded {
		t.Fatalf("wrong reveal: won %d rejected %v", len(won), rejected)
	}
	// Someone other than the recipient cannot claim it (the digest binds the caller).
	r = c.Tx(other, c.Addrs.Lottery, c.claimData(native, reveal, next), nil)
	if won, _, _ = c.events(r); len(won) != 0 {
		t.Fatal("a third party claimed the recipient's ticket")
	}
	// The recipient still can: nothing above consumed nonce 11.
	r = c.Tx(recipient, c.Addrs.Lottery, c.claimData(native, reveal, next), nil)
	if won, _, _ = c.events(r); len(won) != 1 {
		t.Fatal("recipient could not claim after a third party's attempt")
	}
	eq(t, "balance", c.account(native, signer).balance, contracts.Ether(8))
	eq(t, "escrow untouched", c.account(native, signer).escrow, contracts.Ether(10))
}

func TestClaimOverdraftBurnsEscrow(t *testing.T) {
	c := newChain(t)
	sk := signerKey(t)
	signer := crypto.PubkeyToAddress(sk.PublicKey)
	c.fund(native, signer, contracts.Ether(1), contracts.Ether(5))
	reveal := common.HexToHash("0x77")
	s := c.ticket(sk, native, 1, contracts.Ether(3), reveal)
	r := c.Tx(recipient, c.Addrs.Lottery, c.claimData(native, reveal, s), nil)
	won, _, burned := c.events(r)
	if len(won) != 1 {
		t.Fatal("overdrawn winner not paid")
	}
	eq(t, "paid from balance and escrow", won[0].Amount, contracts.Ether(3))
	eq(t, "burned", burned, contracts.Ether(3))
	a := c.account(native, signer)
	eq(t, "balance", a.balance, big.NewInt(0))
	eq(t, "escrow", a.escrow, big.NewInt(0))
	eq(t, "earnings", c.earnings(native), contracts.Ether(3))

	// The account is now empty: further winners are refused as unfunded.
	s2 := c.ticket(sk, native, 2, contracts.Ether(1), reveal)
	r = c.Tx(recipient, c.Addrs.Lottery, c.claimData(native, reveal, s2), nil)
	if _, rejected, _ := c.events(r); len(rejected) != 1 || rejected[0] != contracts.ReasonUnfunded {
		t.Fatalf("after overdraft: rejected %v", rejected)
	}

	// A winner bigger than balance and escrow together takes both, burns nothing.
	c.fund(native, signer, contracts.Ether(1), contracts.Ether(1))
	s3 := c.ticket(sk, native, 3, contracts.Ether(5), reveal)
	r = c.Tx(recipient, c.Addrs.Lottery, c.claimData(native, reveal, s3), nil)
	won, _, burned = c.events(r)
	eq(t, "paid everything", won[0].Amount, contracts.Ether(2))
	eq(t, "burned nothing", burned, big.NewInt(0))
}

func TestWinProbability(t *testing.T) {
	// The draw is uniform: with ratio 2^62-1 a quarter of tickets win.
	const n = 40000
	ratio := uint64(1)<<62 - 1
	wins := 0
	reveal := common.HexToHash("0x1234")
	for i := 0; i < n; i++ {
		var d common.Hash
		d[0], d[1], d[2] = byte(i), byte(i>>8), byte(i>>16)
		if contracts.Wins(reveal, crypto.Keccak256Hash(d[:]), ratio) {
			wins++
		}
	}
	// Binomial(n, 1/4): sd = sqrt(n*3/16) ~ 87; allow 5 sd.
	if d := math.Abs(float64(wins) - n/4); d > 5*math.Sqrt(n*3.0/16) {
		t.Fatalf("%d wins of %d, want about %d", wins, n, n/4)
	}
}
