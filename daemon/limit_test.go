package daemon

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/api/apitest"
	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/internal/testutil"
)

// waitLimit waits for the session to hold at the budget's limit with
// action: the error state with the budget's reason, the session (and its
// proxies) still up.
func waitLimit(t *testing.T, d *Daemon, action api.LimitAction) api.Status {
	t.Helper()
	var st api.Status
	if err := testutil.Until("the session to hold at the limit", time.Minute, func() bool {
		st, _ = d.Status(context.Background())
		return st.State == api.StateError && st.AtLimit == action
	}); err != nil {
		t.Fatalf("%v: state %s, at limit %q (%s)", err, st.State, st.AtLimit, st.Error)
	}
	if st.Reason != api.ReasonBudgetExhausted || !strings.Contains(st.Error, "budget") {
		t.Errorf("held at the limit with reason %q: %s", st.Reason, st.Error)
	}
	if sessions() != 1 || len(st.ProxyAddrs) == 0 {
		t.Errorf("at the limit: %d sessions, proxies %q; the session must hold, not end", sessions(), st.ProxyAddrs)
	}
	return st
}

// waitResumed waits for the held session to connect again by itself.
func waitResumed(t *testing.T, d *Daemon) {
	t.Helper()
	var st api.Status
	if err := testutil.Until("traffic to resume", time.Minute, func() bool {
		st, _ = d.Status(context.Background())
		return st.State == api.StateConnected
	}); err != nil {
		t.Fatalf("%v: state %s, at limit %q (%s)", err, st.State, st.AtLimit, st.Error)
	}
}

// TestBudgetRaisedResumes: a budget of zero is accepted, a connect with it
// holds at the limit (the default action, stop) and raising the budget
// through the API resumes traffic without a new connect. The same when the
// budget is spent mid-session: traffic stops, and a raise resumes it.
func TestBudgetRaisedResumes(t *testing.T) {
	w := newWorld(t, 0, 1)
	d := w.daemon(w.config())
	cl := api.NewClient(apitest.Serve(t, d, api.ServerConfig{}))
	ctx := t.Context()

	if _, err := cl.SetBudget(ctx, api.NewAmount(new(big.Int))); err != nil {
		t.Fatalf("a budget of zero: %v", err)
	}
	connect(t, d, 1)
	st := waitLimit(t, d, api.LimitStop)
	b, err := cl.Budget(ctx)
	if err != nil || !b.Limited || b.AtLimit != api.LimitStop {
		t.Fatalf("budget at zero: limited %v, at limit %q (%v)", b.Limited, b.AtLimit, err)
	}
	before := accepted(w.nodes)
	if err := socks5Connect(socksURL(t, st).Host, testutil.EchoTCP(t, "127.0.0.1:0").Addr, socksURL(t, st).User); err == nil {
		t.Error("an echo went through at a budget of zero")
	}
	if n := accepted(w.nodes); n != before {
		t.Errorf("the nodes accepted %d tickets at a budget of zero", n-before)
	}

	start := time.Now()
	if _, err := cl.SetBudget(ctx, api.NewAmount(contracts.Ether(10))); err != nil {
		t.Fatal(err)
	}
	waitResumed(t, d)
	t.Logf("connected %v after the budget was raised from zero", time.Since(start))
	carries(t, d, w.nodes, 4<<20)

	// Spent mid-session: a budget of what the winners took so far leaves
	// nothing for the next ticket.
	if b, err = cl.Budget(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.SetBudget(ctx, b.Spent); err != nil {
		t.Fatal(err)
	}
	st, _ = d.Status(ctx)
	if st.AtLimit != api.LimitStop {
		t.Errorf("status at limit %q after the budget was spent", st.AtLimit)
	}
	// The next payment is refused: the download stops short.
	if got, err := fetch(socksURL(t, st), testutil.Source(t, "127.0.0.1:0").Addr, 8<<20); err == nil && got == 8<<20 {
		t.Error("8 MiB went through on a spent budget")
	}
	waitLimit(t, d, api.LimitStop)
	if _, err := cl.SetBudget(ctx, api.NewAmount(new(big.Int).Add(b.Spent.Big(), contracts.Ether(10)))); err != nil {
		t.Fatal(err)
	}
	waitResumed(t, d)
	carries(t, d, w.nodes, 4<<20)
}

// TestLimitThrottle: at the limit with at_limit=throttle the session stays
// connected, the tunnel carries at about the floor rate, and the nodes go
// on being paid for it past the budget.
func TestLimitThrottle(t *testing.T) {
	w := newWorld(t, 0, 1)
	d := w.daemon(w.config())
	cl := api.NewClient(apitest.Serve(t, d, api.ServerConfig{}))
	ctx := t.Context()

	set, err := cl.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	set.AtLimit = api.LimitThrottle
	if _, err := cl.SetSettings(ctx, set); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "floor_kbps") {
		t.Fatalf("throttle without a floor: %v", err)
	}
	const floorKbps = 2000 // 250,000 bytes/s
	set.FloorKbps, set.MonthlyBudget = floorKbps, api.NewAmount(new(big.Int))
	if _, err := cl.SetSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	connect(t, d, 1)
	st := waitState(t, d, api.StateConnected)
	if st.AtLimit != api.LimitThrottle {
		t.Errorf("connected at a zero budget, at limit %q", st.AtLimit)
	}
	b0, err := cl.Budget(ctx)
	if err != nil || !b0.Limited || b0.AtLimit != api.LimitThrottle || b0.FloorKbps != floorKbps {
		t.Fatalf("budget: limited %v, at limit %q, floor %d (%v)", b0.Limited, b0.AtLimit, b0.FloorKbps, err)
	}
	before := accepted(w.nodes)
	const n = 3 << 20
	start := time.Now()
	got, err := fetch(socksURL(t, st), testutil.Source(t, "127.0.0.1:0").Addr, n)
	took := time.Since(start)
	if err != nil || got != n {
		t.Fatalf("downloaded %d of %d bytes at the floor: %v", got, n, err)
	}
	rate := float64(n) / took.Seconds()
	t.Logf("%d bytes in %v: %.0f bytes/s at a floor of %d bytes/s", n, took, rate, floorKbps*1000/8)
	if rate > 1.5*floorKbps*1000/8 {
		t.Errorf("%.0f bytes/s through the tunnel at a floor of %d kbit/s", rate, floorKbps)
	}
	testutil.WaitFor(t, "tickets for the download past the budget", time.Minute, func() bool { return accepted(w.nodes) > before })
	b1, err := cl.Budget(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b1.Tickets <= b0.Tickets || b1.Issued.Cmp(b0.Issued) <= 0 {
		t.Errorf("past the budget: %d → %d tickets, issued %v → %v", b0.Tickets, b1.Tickets, b0.Issued, b1.Issued)
	}
	if st, _ := d.Status(ctx); st.State != api.StateConnected {
		t.Errorf("after the download at the floor: %s (%s)", st.State, st.Error)
	}
}

// TestLimitDirect: at_limit=direct is refused while the kill switch is on,
// unless the admin allows it; at the limit new flows then go straight out,
// and raising the budget brings them back into the tunnel.
func TestLimitDirect(t *testing.T) {
	w := newWorld(t, 0, 1)
	d := w.daemon(w.config())
	cl := api.NewClient(apitest.Serve(t, d, api.ServerConfig{}))
	ctx := t.Context()

	set, err := cl.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	set.KillSwitch, set.AtLimit = true, api.LimitDirect
	if _, err := cl.SetSettings(ctx, set); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "kill switch") {
		t.Fatalf("direct at the limit with the kill switch on: %v", err)
	}
	if cur, _ := cl.Settings(ctx); cur.AtLimit != "" {
		t.Fatalf("the refused setting was kept: at_limit %q", cur.AtLimit)
	}
	set.AllowDirectAtLimit = true // the admin's consent (this test runs as the admin)
	set.MonthlyBudget = api.NewAmount(new(big.Int))
	if _, err := cl.SetSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	connect(t, d, 1)
	st := waitLimit(t, d, api.LimitDirect)
	if !strings.Contains(st.Error, "direct") {
		t.Errorf("the state does not say traffic goes direct: %s", st.Error)
	}
	d.mu.Lock()
	r := d.sess.router
	d.mu.Unlock()
	direct, before := r.directFlows.Load(), accepted(w.nodes)
	if err := socks5Connect(socksURL(t, st).Host, testutil.EchoTCP(t, "127.0.0.1:0").Addr, socksURL(t, st).User); err != nil {
		t.Fatalf("echo at the limit, direct: %v", err)
	}
	if r.directFlows.Load() != direct+1 || accepted(w.nodes) != before {
		t.Errorf("the echo did not go direct: %d direct flows (was %d), %d tickets accepted meanwhile",
			r.directFlows.Load(), direct, accepted(w.nodes)-before)
	}
	if _, err := cl.SetBudget(ctx, api.NewAmount(contracts.Ether(10))); err != nil {
		t.Fatal(err)
	}
	waitResumed(t, d)
	direct = r.directFlows.Load()
	carries(t, d, w.nodes, 1<<20)
	if r.directFlows.Load() != direct {
		t.Error("flows still go direct after the budget was raised")
	}
}

// TestLowerBudgetWarnsUnused: lowering the budget mid-session has the
// daemon warn what the hop account holds beyond the new plan, on the
// in-process chain: a "chain" event before the warn is sent and one after
// it is mined, with its gas, and the wallet shows the pending withdrawal
// with its unlock time.
func TestLowerBudgetWarnsUnused(t *testing.T) {
	w := newWorld(t, 0, 1)
	d := w.daemon(w.config())
	cl := api.NewClient(apitest.Serve(t, d, api.ServerConfig{}))
	ctx := t.Context()
	events, cancel := d.Subscribe()
	defer cancel()

	connect(t, d, 1)
	waitState(t, d, api.StateConnected)
	wl, err := cl.Wallet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var held *big.Int
	for _, s := range wl.Signers {
		if s.State == api.AccountCurrent && s.Hop == 0 {
			held = s.Balance.Big()
		}
	}
	if held == nil || held.Sign() == 0 || len(wl.Signers) == 0 {
		t.Fatalf("no funded hop account: %+v", wl.Signers)
	}
	if _, err := cl.SetBudget(ctx, api.NewAmount(contracts.Ether(1))); err != nil {
		t.Fatal(err)
	}
	var sending, done *api.ChainAction
	timeout := time.After(2 * time.Minute)
	for done == nil {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("the event stream ended")
			}
			if e.Type != api.EventChain || e.Chain.Action != "warn" {
				continue
			}
			switch e.Chain.Phase {
			case "sending":
				sending = e.Chain
			case "done":
				done = e.Chain
			case "failed":
				t.Fatalf("warn failed: %s", e.Chain.Error)
			}
		case <-timeout:
			t.Fatal("no warn of the unused funds within 2 minutes of lowering the budget")
		}
	}
	if sending == nil || sending.Amount.Cmp(done.Amount) != 0 || done.Gas == 0 || done.Amount.IsZero() ||
		done.Amount.Big().Cmp(held) >= 0 || done.Hop != 0 || !done.UnlockAt.After(time.Now()) {
		t.Fatalf("warn events: before %+v, after %+v (the account held %v)", sending, done, held)
	}
	t.Logf("the account held %v; warned %v with %d gas, withdrawable at %v", held, done.Amount, done.Gas, done.UnlockAt)
	if wl, err = cl.Wallet(ctx); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range wl.Signers {
		if s.State == api.AccountCurrent && s.Hop == 0 {
			found = s.Warned.Cmp(done.Amount) == 0 && s.UnlockAt.Equal(done.UnlockAt)
		}
	}
	if !found {
		t.Errorf("the wallet does not show the pending withdrawal of %v: %+v", done.Amount, wl.Signers)
	}
	// The lowered budget still carries traffic from what the account keeps.
	carries(t, d, w.nodes, 1<<20)
}
