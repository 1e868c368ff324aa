package hopacct_test

import (
	"context"
	"math/big"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/chaintest"
	"github.com/pexia-network/pexia/wallet"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/hopacct"
)

// TestDepositSentBeforeCrashIsAccounted: the process dies after the
// deposit's transaction has gone to the endpoint and before it is mined.
// The book written before the transaction left names it, so the next
// start finds it, waits while it is unmined, and once it is mined records
// it done with its amount and gas: the money is accounted, not lost.
func TestDepositSentBeforeCrashIsAccounted(t *testing.T) {
	c := chaintest.New(t)
	n := &contracts.Network{Name: "t", ChainID: c.ChainID, RPC: "http://127.0.0.1:1", Addresses: c.Addrs}
	ctx, die := context.WithCancel(context.Background())
	defer die()
	var crash atomic.Bool
	cl, err := chain.New(n, c.Client, chain.Options{ReceiptPoll: time.Millisecond, Mine: func() {
		if crash.Load() {
			die() // the process dies: the deposit is at the endpoint, unmined
			return
		}
		c.Sim.Commit()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	master := c.Keys[1]
	k, _ := hopacct.Derive(master, 0, 7)
	path := filepath.Join(t.TempDir(), "hop-accounts.json")
	book, err := hopacct.OpenBook(path)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	book.SetObserver(func(a hopacct.Action) {
		mu.Lock()
		seen = append(seen, a.Kind+" "+a.Phase)
		mu.Unlock()
		if a.Kind == "deposit" && a.Phase == hopacct.PhaseSending {
			crash.Store(true)
		}
	})
	face := big.NewInt(1e15)
	if _, err := book.Fund(ctx, cl, master, k, hopacct.Policy{Face: face}, time.Now()); err == nil {
		t.Fatal("funding survived the crash")
	}
	mu.Lock()
	t.Logf("before the crash: %q", seen)
	if len(seen) != 3 || seen[0] != "transfer sending" || seen[1] != "transfer done" || seen[2] != "deposit sending" {
		t.Fatalf("shown before the crash: %q, want transfer sending, done, deposit sending", seen)
	}
	mu.Unlock()
	funderBefore := c.CoinBalance(k.Funder)

	// The next start: a new process reads the book and a new client.
	cl2, err := chain.New(n, c.Client, chain.Options{ReceiptPoll: time.Millisecond, Mine: func() { c.Sim.Commit() }})
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	book2, err := hopacct.OpenBook(path)
	if err != nil {
		t.Fatal(err)
	}
	var shown []hopacct.Action
	book2.SetObserver(func(a hopacct.Action) { shown = append(shown, a) })
	acts := book2.Actions()
	if len(acts) != 2 || acts[0].Kind != "transfer" || acts[0].Phase != hopacct.PhaseDone || acts[0].Fee == nil || acts[0].Fee.Sign() <= 0 ||
		acts[1].Kind != "deposit" || acts[1].Phase != hopacct.PhaseSending {
		t.Fatalf("book after the crash: %+v", acts)
	}
	dep := acts[1]
	want := new(big.Int).Mul(face, big.NewInt(hopacct.HighFaces+hopacct.EscrowFaces))
	if dep.Amount.Cmp(want) != 0 || dep.From != k.Funder || dep.To != c.Addrs.Lottery || dep.Account != k.Account {
		t.Fatalf("the deposit was recorded as %+v, want %s from %s to the Lottery for %+v", dep, wallet.FormatNative(want), k.Funder, k.Account)
	}
	// Not mined yet: it stays pending.
	if p, err := book2.Resolve(context.Background(), cl2); err != nil || p != 1 || len(shown) != 0 {
		t.Fatalf("resolve before the deposit is mined: %d pending, %v, shown %+v", p, err, shown)
	}
	c.Sim.Commit()
	if p, err := book2.Resolve(context.Background(), cl2); err != nil || p != 0 {
		t.Fatalf("resolve after the deposit is mined: %d pending, %v", p, err)
	}
	acts = book2.Actions()
	dep = acts[1]
	r, err := c.Client.TransactionReceipt(c.Ctx, dep.Tx)
	if err != nil {
		t.Fatal(err)
	}
	fee := new(big.Int).Mul(new(big.Int).SetUint64(r.GasUsed), r.EffectiveGasPrice)
	if dep.Phase != hopacct.PhaseDone || dep.Gas != r.GasUsed || dep.Fee.Cmp(fee) != 0 {
		t.Fatalf("the deposit after resolving: %+v, want done with gas %d and fee %s", dep, r.GasUsed, fee)
	}
	if len(shown) != 1 || shown[0].Tx != dep.Tx || shown[0].Phase != hopacct.PhaseDone {
		t.Fatalf("shown on resolving: %+v", shown)
	}
	// The book's figures are the chain's: the funder paid the amount and
	// the fee, and the account holds the amount.
	spent := new(big.Int).Sub(funderBefore, c.CoinBalance(k.Funder))
	if want := new(big.Int).Add(dep.Amount, dep.Fee); spent.Cmp(want) != 0 {
		t.Fatalf("the hop funder spent %s, the book says %s", wallet.FormatNative(spent), wallet.FormatNative(want))
	}
	a := account(t, cl2, k)
	if got := new(big.Int).Add(a.Balance, a.Escrow); got.Cmp(dep.Amount) != 0 {
		t.Fatalf("the account holds %s, the book says %s was deposited", wallet.FormatNative(got), wallet.FormatNative(dep.Amount))
	}
	// Reopened once more, the book still says so.
	book3, err := hopacct.OpenBook(path)
	if err != nil {
		t.Fatal(err)
	}
	if acts := book3.Actions(); len(acts) != 2 || acts[1].Phase != hopacct.PhaseDone || acts[1].Fee.Cmp(fee) != 0 {
		t.Fatalf("book reopened: %+v", acts)
	}
	t.Logf("deposit %s of %s recovered with gas %d (fee %s)", dep.Tx, wallet.FormatNative(dep.Amount), dep.Gas, wallet.FormatNative(dep.Fee))
}

// TestJournalRecordsEveryAction: a warn, a withdrawal and the sweep of a
// retired account are recorded with their amounts and gas, in order.
func TestJournalRecordsEveryAction(t *testing.T) {
	c := chaintest.New(t)
	cl := simClient(t, c)
	ctx := context.Background()
	master := c.Keys[1]
	k, _ := hopacct.Derive(master, 1, 3)
	book, err := hopacct.OpenBook(filepath.Join(t.TempDir(), "hop-accounts.json"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := book.Fund(ctx, cl, master, k, hopacct.Policy{Face: big.NewInt(1e15)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	jctx := book.Journal(ctx, k.Account, false)
	if step, _, err := hopacct.Reclaim(jctx, cl, master, k, chainNow(c)); err != nil || step != hopacct.ReclaimWarned {
		t.Fatalf("reclaim: %s, %v", step, err)
	}
	c.AdjustTime(lotteryDelay + time.Second)
	if step, _, err := hopacct.Reclaim(jctx, cl, master, k, chainNow(c)); err != nil || step != hopacct.ReclaimWithdrew {
		t.Fatalf("reclaim: %s, %v", step, err)
	}
	var got []string
	for _, a := range book.Actions() {
		got = append(got, a.Kind+" "+a.Phase+" "+wallet.FormatNative(a.Amount))
		if a.Phase == hopacct.PhaseDone && (a.Gas == 0 || a.Fee == nil || a.Fee.Sign() <= 0) {
			t.Errorf("%s done without its gas: %+v", a.Kind, a)
		}
		if a.Account != k.Account {
			t.Errorf("%s recorded for %+v, want %+v", a.Kind, a.Account, k.Account)
		}
	}
	total := wallet.FormatNative(f.Deposited)
	want := []string{"transfer done " + wallet.FormatNative(f.Transferred), "deposit done " + total, "warn done " + total, "withdraw done " + total}
	if len(got) != 5 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] || got[4][:len("transfer done")] != "transfer done" {
		t.Fatalf("recorded %q, want %q and the sweep's transfer", got, want)
	}
	if a := book.Actions()[4]; a.From != k.Funder || a.To != crypto.PubkeyToAddress(master.PublicKey) {
		t.Fatalf("the sweep went from %s to %s", a.From, a.To)
	}
}
