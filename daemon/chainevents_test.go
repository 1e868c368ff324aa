package daemon

import (
	"context"
	"math/big"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/api/apitest"
	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/hopacct"
)

// TestFundingIsChainEvents: connecting funds the hop account: the wallet's
// transfer to the hop funder and the hop funder's deposit are each a
// "chain" event before they are sent and after they are mined, with the
// transaction and its gas, and each is in the book on disk with the gas it
// paid, before the events say it was done.
func TestFundingIsChainEvents(t *testing.T) {
	w := newWorld(t, 0, 1)
	cfg := w.config()
	d := w.daemon(cfg)
	cl := api.NewClient(apitest.Serve(t, d, api.ServerConfig{}))
	events, cancel := d.Subscribe()
	defer cancel()

	connect(t, d, 1)
	waitState(t, d, api.StateConnected)
	seen := map[string]*api.ChainAction{}
	timeout := time.After(time.Minute)
	for seen["deposit done"] == nil {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("the event stream ended")
			}
			if e.Type != api.EventChain || e.Chain.Hop != 0 {
				continue
			}
			if e.Chain.Phase == "failed" {
				t.Fatalf("%s failed: %s", e.Chain.Action, e.Chain.Error)
			}
			seen[e.Chain.Action+" "+e.Chain.Phase] = e.Chain
		case <-timeout:
			t.Fatalf("no deposit event within a minute of connecting; chain events seen: %v", seen)
		}
	}
	book, err := hopacct.OpenBook(filepath.Join(cfg.StateDir, "hop-accounts.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"transfer", "deposit"} {
		before, after := seen[kind+" sending"], seen[kind+" done"]
		if before == nil || after == nil || before.Tx != after.Tx || before.Tx == "" || before.Amount.Cmp(after.Amount) != 0 || after.Amount.IsZero() || after.Gas == 0 {
			t.Fatalf("%s events: before %+v, after %+v", kind, before, after)
		}
		r, err := w.c.Client.TransactionReceipt(w.c.Ctx, common.HexToHash(after.Tx))
		if err != nil {
			t.Fatal(err)
		}
		if r.GasUsed != after.Gas {
			t.Errorf("%s: the event says gas %d, the chain %d", kind, after.Gas, r.GasUsed)
		}
		var rec *hopacct.Action
		for _, a := range book.Actions() {
			if a.Tx == common.HexToHash(after.Tx) {
				rec = &a
			}
		}
		fee := new(big.Int).Mul(new(big.Int).SetUint64(r.GasUsed), r.EffectiveGasPrice)
		if rec == nil || rec.Phase != hopacct.PhaseDone || rec.Kind != kind || rec.Amount.Cmp(after.Amount.Big()) != 0 || rec.Gas != r.GasUsed || rec.Fee.Cmp(fee) != 0 {
			t.Errorf("%s %s in the book: %+v, want done with %v, gas %d, fee %v", kind, after.Tx, rec, after.Amount, r.GasUsed, fee)
		}
		t.Logf("%s %v: gas %d, tx %s", kind, after.Amount, after.Gas, after.Tx)
	}
	if seen["transfer done"].To == "" || seen["transfer done"].To == w.c.Addr(1).Hex() {
		t.Errorf("the transfer went to %q, want the hop funder", seen["transfer done"].To)
	}
	// The deposit is what the hop account holds.
	wl, err := cl.Wallet(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range wl.Signers {
		if s.State == api.AccountCurrent && s.Hop == 0 {
			if held := new(big.Int).Add(s.Balance.Big(), s.Escrow.Big()); held.Cmp(seen["deposit done"].Amount.Big()) != 0 {
				t.Errorf("the hop account holds %v, the deposit event says %v", held, seen["deposit done"].Amount)
			}
		}
	}
}

// TestDepositBeforeCrashFoundOnRestart: pexiad died after its deposit was
// sent and before it was mined. The book on disk names the transaction;
// the next pexiad, on connecting, finds it mined, records it done with its
// gas and publishes it as a "chain" event, so the money is accounted.
func TestDepositBeforeCrashFoundOnRestart(t *testing.T) {
	w := newWorld(t, 0, 1)
	cfg := w.config()
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(cfg.StateDir, "hop-accounts.json")
	book, err := hopacct.OpenBook(path)
	if err != nil {
		t.Fatal(err)
	}
	// The process that dies: its deposit reaches the endpoint, unmined.
	ctx, die := context.WithCancel(t.Context())
	defer die()
	var crash atomic.Bool
	cl, err := chain.New(w.net, w.c.Client, chain.Options{ReceiptPoll: time.Millisecond, Mine: func() {
		if crash.Load() {
			die()
			return
		}
		w.mineMu.Lock()
		defer w.mineMu.Unlock()
		w.c.Sim.Commit()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	book.SetObserver(func(a hopacct.Action) {
		if a.Kind == "deposit" && a.Phase == hopacct.PhaseSending {
			crash.Store(true)
		}
	})
	k, err := hopacct.Derive(w.c.Keys[1], 0, hopacct.Schedule{}.Epoch(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := book.Fund(ctx, cl, w.c.Keys[1], k, hopacct.Policy{Face: big.NewInt(1e15)}, time.Now()); err == nil {
		t.Fatal("funding survived the crash")
	}
	var lost *hopacct.Action
	for _, a := range book.Actions() {
		if a.Kind == "deposit" {
			lost = &a
		}
	}
	if lost == nil || lost.Phase != hopacct.PhaseSending {
		t.Fatalf("the book after the crash: %+v", book.Actions())
	}
	// The chain mines it while no pexiad runs.
	w.mineMu.Lock()
	w.c.Sim.Commit()
	w.mineMu.Unlock()
	r, err := w.c.Client.TransactionReceipt(w.c.Ctx, lost.Tx)
	if err != nil {
		t.Fatalf("the deposit %s was not mined: %v", lost.Tx, err)
	}

	d := w.daemon(cfg)
	events, cancel := d.Subscribe()
	defer cancel()
	connect(t, d, 1)
	waitState(t, d, api.StateConnected)
	var found *api.ChainAction
	timeout := time.After(time.Minute)
	for found == nil {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("the event stream ended")
			}
			if e.Type == api.EventChain && e.Chain.Tx == lost.Tx.Hex() {
				found = e.Chain
			}
		case <-timeout:
			t.Fatalf("the deposit %s sent before the crash was not reported within a minute of connecting", lost.Tx)
		}
	}
	if found.Action != "deposit" || found.Phase != "done" || found.Gas != r.GasUsed || found.Amount.Big().Cmp(lost.Amount) != 0 || found.Hop != 0 {
		t.Fatalf("reported as %+v, want deposit done of %v with gas %d", found, lost.Amount, r.GasUsed)
	}
	again, err := hopacct.OpenBook(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range again.Actions() {
		if a.Tx == lost.Tx && (a.Phase != hopacct.PhaseDone || a.Gas != r.GasUsed || a.Fee == nil || a.Fee.Sign() <= 0) {
			t.Fatalf("the book after the restart: %+v", a)
		}
	}
	t.Logf("deposit %s of %v sent before the crash found on restart, gas %d", lost.Tx, found.Amount, found.Gas)
}

// TestLowerBudgetWithdrawsAfterDelay: the unused funds a lowered budget
// warned go back to the wallet once the chain's clock has passed the
// Lottery's delay: a "withdraw" event before and after, with its gas, and
// the account keeps what the plan wants.
func TestLowerBudgetWithdrawsAfterDelay(t *testing.T) {
	fastTicks(t, 20*time.Millisecond) // the accounts are tended every 1.2 s
	w := newWorld(t, 0, 1)
	d := w.daemon(w.config())
	cl := api.NewClient(apitest.Serve(t, d, api.ServerConfig{}))
	ctx := t.Context()
	events, cancel := d.Subscribe()
	defer cancel()
	connect(t, d, 1)
	waitState(t, d, api.StateConnected)
	next := func(action string) (sending, done *api.ChainAction) {
		t.Helper()
		timeout := time.After(time.Minute)
		for done == nil {
			select {
			case e, ok := <-events:
				if !ok {
					t.Fatal("the event stream ended")
				}
				if e.Type != api.EventChain || e.Chain.Action != action || e.Chain.Hop != 0 {
					continue
				}
				switch e.Chain.Phase {
				case "sending":
					sending = e.Chain
				case "done":
					done = e.Chain
				case "failed":
					t.Fatalf("%s failed: %s", action, e.Chain.Error)
				}
			case <-timeout:
				t.Fatalf("no %s within a minute", action)
			}
		}
		return sending, done
	}
	if _, err := cl.SetBudget(ctx, api.NewAmount(contracts.Ether(1))); err != nil {
		t.Fatal(err)
	}
	_, warned := next("warn")
	held := func() *big.Int {
		wl, err := cl.Wallet(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range wl.Signers {
			if s.State == api.AccountCurrent && s.Hop == 0 {
				return new(big.Int).Add(s.Balance.Big(), s.Escrow.Big())
			}
		}
		t.Fatal("no current account for hop 0")
		return nil
	}
	before := held()
	w.mineMu.Lock()
	w.c.AdjustTime(time.Until(warned.UnlockAt) + time.Second)
	w.mineMu.Unlock()
	// Lowering the budget again tends the accounts at once.
	if _, err := cl.SetBudget(ctx, api.NewAmount(new(big.Int).Rsh(contracts.Ether(1), 1))); err != nil {
		t.Fatal(err)
	}
	sending, done := next("withdraw")
	if sending == nil || sending.Amount.Cmp(warned.Amount) != 0 || done.Amount.Cmp(warned.Amount) != 0 || done.Gas == 0 {
		t.Fatalf("withdraw events: before %+v, after %+v; warned %v", sending, done, warned.Amount)
	}
	if after := held(); new(big.Int).Sub(before, after).Cmp(warned.Amount.Big()) != 0 {
		t.Fatalf("the account held %v and holds %v after withdrawing %v", before, after, warned.Amount)
	}
	t.Logf("warned %v (gas %d), withdrew it after the chain's clock passed %v (gas %d)", warned.Amount, warned.Gas, warned.UnlockAt, done.Gas)
}
