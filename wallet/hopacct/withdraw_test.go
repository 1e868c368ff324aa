package hopacct_test

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/chaintest"
	"github.com/pexia-network/pexia/wallet"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/hopacct"
)

// lotteryDelay is the delay chaintest deploys the Lottery with.
const lotteryDelay = 86400 * time.Second

// books follows the native coin of a few addresses across a run of blocks:
// what each holds at the start, and every transaction mined after it with
// its value and the fee its sender paid.
type books struct {
	t     *testing.T
	c     *chaintest.Chain
	addrs map[string]common.Address
	start map[string]*big.Int
	block uint64
}

func openBooks(t *testing.T, c *chaintest.Chain, addrs map[string]common.Address) *books {
	t.Helper()
	b := &books{t: t, c: c, addrs: addrs, start: map[string]*big.Int{}}
	for name, a := range addrs {
		b.start[name] = c.CoinBalance(a)
	}
	h, err := c.Client.HeaderByNumber(c.Ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.block = h.Number.Uint64()
	return b
}

// flows are the value moved by plain transactions and the fees paid since
// the books were opened, per named address: in − out − fees.
func (b *books) flows() (net map[string]*big.Int, fees map[string]*big.Int, txs int) {
	b.t.Helper()
	net, fees = map[string]*big.Int{}, map[string]*big.Int{}
	for name := range b.addrs {
		net[name], fees[name] = new(big.Int), new(big.Int)
	}
	name := func(a common.Address) string {
		for n, x := range b.addrs {
			if x == a {
				return n
			}
		}
		return ""
	}
	signer := types.LatestSignerForChainID(b.c.ChainID)
	h, err := b.c.Client.HeaderByNumber(b.c.Ctx, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	for n := b.block + 1; n <= h.Number.Uint64(); n++ {
		blk, err := b.c.Client.BlockByNumber(b.c.Ctx, new(big.Int).SetUint64(n))
		if err != nil {
			b.t.Fatal(err)
		}
		for _, tx := range blk.Transactions() {
			txs++
			from, err := types.Sender(signer, tx)
			if err != nil {
				b.t.Fatal(err)
			}
			r, err := b.c.Client.TransactionReceipt(b.c.Ctx, tx.Hash())
			if err != nil {
				b.t.Fatal(err)
			}
			if r.Status != types.ReceiptStatusSuccessful {
				b.t.Fatalf("transaction %s from %s failed", tx.Hash(), from)
			}
			fee := new(big.Int).Mul(new(big.Int).SetUint64(r.GasUsed), r.EffectiveGasPrice)
			if s := name(from); s != "" {
				net[s].Sub(net[s], tx.Value())
				net[s].Sub(net[s], fee)
				fees[s].Add(fees[s], fee)
			}
			if tx.To() != nil {
				if s := name(*tx.To()); s != "" {
					net[s].Add(net[s], tx.Value())
				}
			}
		}
	}
	return net, fees, txs
}

// check requires every named address's balance to be its start plus its
// flows plus extra[name] (value paid out by a contract, which no
// transaction's value shows).
func (b *books) check(step string, extra map[string]*big.Int) {
	b.t.Helper()
	net, fees, _ := b.flows()
	for name, a := range b.addrs {
		want := new(big.Int).Add(b.start[name], net[name])
		if x := extra[name]; x != nil {
			want.Add(want, x)
		}
		if got := b.c.CoinBalance(a); got.Cmp(want) != 0 {
			b.t.Errorf("%s: %s holds %s, want %s (start %s, transactions %s, gas paid %s, paid out by the Lottery %s)",
				step, name, wallet.FormatNative(got), wallet.FormatNative(want), wallet.FormatNative(b.start[name]),
				wallet.FormatNative(net[name]), wallet.FormatNative(fees[name]), wallet.FormatNative(extra[name]))
		}
	}
}

func simClient(t *testing.T, c *chaintest.Chain) *chain.Client {
	t.Helper()
	n := &contracts.Network{Name: "t", ChainID: c.ChainID, RPC: "http://127.0.0.1:1", Addresses: c.Addrs}
	cl, err := chain.New(n, c.Client, chain.Options{Mine: func() { c.Sim.Commit() }, ReceiptPoll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func chainNow(c *chaintest.Chain) time.Time { return time.Unix(int64(c.Now()), 0) }

func account(t *testing.T, cl *chain.Client, k *hopacct.Keys) wallet.Account {
	t.Helper()
	a, _, err := cl.Account(context.Background(), common.Address{}, k.Funder, k.Signer)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func wantAccount(t *testing.T, step string, a wallet.Account, balance, escrow, warned *big.Int, unlock time.Time) {
	t.Helper()
	var u time.Time
	if a.Unlock != 0 {
		u = time.Unix(int64(a.Unlock), 0)
	}
	if a.Balance.Cmp(balance) != 0 || a.Escrow.Cmp(escrow) != 0 || orZero(a.Warned).Cmp(warned) != 0 || !u.Equal(unlock) {
		t.Fatalf("%s: account holds balance %s, escrow %s, warned %s, unlock %v; want %s, %s, %s, %v", step,
			wallet.FormatNative(a.Balance), wallet.FormatNative(a.Escrow), wallet.FormatNative(orZero(a.Warned)), u,
			wallet.FormatNative(balance), wallet.FormatNative(escrow), wallet.FormatNative(warned), unlock)
	}
}

func orZero(x *big.Int) *big.Int {
	if x == nil {
		return new(big.Int)
	}
	return x
}

// lastGas is the gas used by the last transaction key sent, found in the
// newest blocks.
func lastGas(t *testing.T, c *chaintest.Chain, from common.Address) uint64 {
	t.Helper()
	signer := types.LatestSignerForChainID(c.ChainID)
	h, err := c.Client.HeaderByNumber(c.Ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for n := h.Number.Int64(); n > 0; n-- {
		blk, err := c.Client.BlockByNumber(c.Ctx, big.NewInt(n))
		if err != nil {
			t.Fatal(err)
		}
		txs := blk.Transactions()
		for i := len(txs) - 1; i >= 0; i-- {
			if s, _ := types.Sender(signer, txs[i]); s == from {
				r, err := c.Client.TransactionReceipt(c.Ctx, txs[i].Hash())
				if err != nil {
					t.Fatal(err)
				}
				return r.GasUsed
			}
		}
	}
	t.Fatalf("no transaction from %s", from)
	return 0
}

// TestTrimWithdrawsAfterDelay: the budget is lowered, so Trim warns what
// the hop account holds beyond the new plan, keeps it while the Lottery's
// delay runs (the chain's clock included), and once the chain's clock is
// past the unlock withdraws exactly the warned amount to the master. Every
// coin is accounted for: the master gets the warned amount back less the
// gas it gave the hop funder, the hop funder pays the gas of the warn and
// the withdrawal, the Lottery pays out the warned amount, and the account
// keeps the plan's balance and escrow.
func TestTrimWithdrawsAfterDelay(t *testing.T) {
	c := chaintest.New(t)
	cl := simClient(t, c)
	ctx := context.Background()
	master := c.Keys[1]
	masterAddr := crypto.PubkeyToAddress(master.PublicKey)
	k, _ := hopacct.Derive(master, 0, 7)

	high := hopacct.Policy{Balance: contracts.Ether(1), Escrow: milli(100), Low: milli(500)}
	if _, err := hopacct.Fund(ctx, cl, master, k, high); err != nil {
		t.Fatal(err)
	}
	wantAccount(t, "funded", account(t, cl, k), contracts.Ether(1), milli(100), new(big.Int), time.Time{})

	// The budget is lowered: the plan wants 0.2 of balance now.
	low := hopacct.Policy{Balance: milli(200), Escrow: milli(100), Low: milli(100)}
	bk := openBooks(t, c, map[string]common.Address{"master": masterAddr, "hop funder": k.Funder, "Lottery": c.Addrs.Lottery})
	var announced []string
	before := func(action string, amount *big.Int) {
		announced = append(announced, action+" "+wallet.FormatNative(amount))
	}
	tr, err := hopacct.Trim(ctx, cl, master, k, low, chainNow(c), before)
	if err != nil {
		t.Fatal(err)
	}
	warnedAt := chainNow(c)
	unlock := warnedAt.Add(lotteryDelay)
	excess := milli(800)
	t.Logf("warned: %+v", tr)
	if tr.Step != hopacct.TrimWarned || tr.Amount.Cmp(excess) != 0 || !tr.Unlock.Equal(unlock) || tr.Gas == 0 || tr.Gas != lastGas(t, c, k.Funder) {
		t.Fatalf("trim: step %s amount %v unlock %v gas %d; want %s %v %v and the warn's gas %d",
			tr.Step, tr.Amount, tr.Unlock, tr.Gas, hopacct.TrimWarned, excess, unlock, lastGas(t, c, k.Funder))
	}
	wantAccount(t, "warned", account(t, cl, k), contracts.Ether(1), milli(100), excess, unlock)
	a := account(t, cl, k)
	if u, _ := a.Usable(); u.Cmp(low.Balance) != 0 {
		t.Fatalf("after the warn %s of balance still backs tickets, want %s", wallet.FormatNative(u), wallet.FormatNative(low.Balance))
	}
	bk.check("after the warn", nil)

	// Before the unlock nothing is sent, whatever the local clock says.
	_, _, txs := bk.flows()
	for _, now := range []time.Time{chainNow(c), unlock.Add(-time.Second), unlock.Add(time.Hour)} {
		tr, err := hopacct.Trim(ctx, cl, master, k, low, now, before)
		if err != nil {
			t.Fatalf("trim at %v, chain at %v: %v", now, chainNow(c), err)
		}
		if tr.Step != hopacct.TrimWaiting || tr.Amount.Cmp(excess) != 0 || !tr.Unlock.Equal(unlock) {
			t.Fatalf("trim at %v, chain at %v: step %s amount %v unlock %v; want %s", now, chainNow(c), tr.Step, tr.Amount, tr.Unlock, hopacct.TrimWaiting)
		}
	}
	if _, _, n := bk.flows(); n != txs {
		t.Fatalf("%d transactions sent before the unlock", n-txs)
	}
	bk.check("while locked", nil)

	// The chain's clock passes the unlock.
	c.AdjustTime(lotteryDelay + time.Second)
	if !chainNow(c).After(unlock) {
		t.Fatalf("chain at %v after adjusting, unlock %v", chainNow(c), unlock)
	}
	tr, err = hopacct.Trim(ctx, cl, master, k, low, chainNow(c), before)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("withdrawn: %+v", tr)
	if tr.Step != hopacct.TrimWithdrew || tr.Amount.Cmp(excess) != 0 || tr.Gas == 0 || tr.Gas != lastGas(t, c, k.Funder) {
		t.Fatalf("trim after the unlock: step %s amount %v gas %d; want %s %v and the withdrawal's gas %d",
			tr.Step, tr.Amount, tr.Gas, hopacct.TrimWithdrew, excess, lastGas(t, c, k.Funder))
	}
	wantAccount(t, "withdrawn", account(t, cl, k), low.Balance, milli(100), new(big.Int), time.Time{})
	bk.check("after the withdrawal", map[string]*big.Int{"master": excess, "Lottery": new(big.Int).Neg(excess)})
	net, fees, _ := bk.flows()
	t.Logf("master net %s (gas %s), hop funder net %s (gas %s)", wallet.FormatNative(net["master"]), wallet.FormatNative(fees["master"]),
		wallet.FormatNative(net["hop funder"]), wallet.FormatNative(fees["hop funder"]))
	if fees["hop funder"].Sign() == 0 {
		t.Fatal("the hop funder paid no gas")
	}
	if want := []string{"warn 0.8 ETH", "withdraw 0.8 ETH"}; len(announced) != 2 || announced[0] != want[0] || announced[1] != want[1] {
		t.Fatalf("announced %q, want %q", announced, want)
	}

	// Nothing more to give back.
	tr, err = hopacct.Trim(ctx, cl, master, k, low, chainNow(c), before)
	if err != nil || tr.Step != hopacct.TrimNothing {
		t.Fatalf("trim after the withdrawal: %+v, %v", tr, err)
	}
}

// TestReclaimWithdrawsAfterDelay: a retired epoch's account is warned in
// full, kept while the Lottery's delay runs, then withdrawn in full to the
// master once the chain's clock is past the unlock, and the hop funder's
// leftover coin goes back to the master too. Every coin is accounted for.
func TestReclaimWithdrawsAfterDelay(t *testing.T) {
	c := chaintest.New(t)
	cl := simClient(t, c)
	ctx := context.Background()
	master := c.Keys[1]
	masterAddr := crypto.PubkeyToAddress(master.PublicKey)
	k, _ := hopacct.Derive(master, 1, 3)
	face := big.NewInt(1e15)
	f, err := hopacct.Fund(ctx, cl, master, k, hopacct.Policy{Face: face})
	if err != nil {
		t.Fatal(err)
	}
	total := f.Deposited
	balance := new(big.Int).Sub(total, f.Escrow)
	wantAccount(t, "funded", account(t, cl, k), balance, f.Escrow, new(big.Int), time.Time{})

	bk := openBooks(t, c, map[string]common.Address{"master": masterAddr, "hop funder": k.Funder, "Lottery": c.Addrs.Lottery})
	step, unlock, err := hopacct.Reclaim(ctx, cl, master, k, chainNow(c))
	if err != nil {
		t.Fatal(err)
	}
	if want := chainNow(c).Add(lotteryDelay); step != hopacct.ReclaimWarned || !unlock.Equal(want) {
		t.Fatalf("reclaim: %s, unlock %v; want %s, %v", step, unlock, hopacct.ReclaimWarned, want)
	}
	wantAccount(t, "warned", account(t, cl, k), balance, f.Escrow, total, unlock)
	bk.check("after the warn", nil)

	_, _, txs := bk.flows()
	for _, now := range []time.Time{chainNow(c), unlock.Add(time.Hour)} {
		step, u, err := hopacct.Reclaim(ctx, cl, master, k, now)
		if err != nil || step != hopacct.ReclaimWaiting || !u.Equal(unlock) {
			t.Fatalf("reclaim at %v, chain at %v: %s, unlock %v, %v; want %s", now, chainNow(c), step, u, err, hopacct.ReclaimWaiting)
		}
	}
	if _, _, n := bk.flows(); n != txs {
		t.Fatalf("%d transactions sent before the unlock", n-txs)
	}

	c.AdjustTime(lotteryDelay + time.Second)
	step, _, err = hopacct.Reclaim(ctx, cl, master, k, chainNow(c))
	if err != nil || step != hopacct.ReclaimWithdrew {
		t.Fatalf("reclaim after the unlock: %s, %v; want %s", step, err, hopacct.ReclaimWithdrew)
	}
	wantAccount(t, "withdrawn", account(t, cl, k), new(big.Int), new(big.Int), new(big.Int), time.Time{})
	bk.check("after the withdrawal", map[string]*big.Int{"master": total, "Lottery": new(big.Int).Neg(total)})
	// The hop funder keeps no more than the dust a transfer's gas reserve
	// leaves.
	fee, err := cl.FeeCap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if left, most := c.CoinBalance(k.Funder), new(big.Int).Mul(fee, big.NewInt(2*21_000)); left.Cmp(most) > 0 {
		t.Fatalf("the hop funder keeps %s after the sweep, want at most %s", wallet.FormatNative(left), wallet.FormatNative(most))
	}
	net, fees, _ := bk.flows()
	t.Logf("deposited %s; master net %s (gas %s), hop funder net %s (gas %s)", wallet.FormatNative(total),
		wallet.FormatNative(net["master"]), wallet.FormatNative(fees["master"]), wallet.FormatNative(net["hop funder"]), wallet.FormatNative(fees["hop funder"]))

	_, _, txs = bk.flows()
	step, _, err = hopacct.Reclaim(ctx, cl, master, k, chainNow(c))
	if err != nil || step != hopacct.ReclaimNothing {
		t.Fatalf("reclaim of the emptied account: %s, %v", step, err)
	}
	if _, _, n := bk.flows(); n != txs {
		t.Fatalf("reclaiming an empty account sent %d transactions", n-txs)
	}
}

// milli is n thousandths of a coin.
func milli(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e15)) }
