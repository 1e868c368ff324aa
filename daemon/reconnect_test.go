package daemon

import (
	"context"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/hop/onion"
)

// TestReconnectRefusedByBudget has the budget refuse the circuit that
// would replace a dead one: the daemon must say so (the error state, with
// the budget's reason and the action at the limit) rather than go on
// showing "reconnecting". The session holds there with its proxies (the
// default action, stop: the kill switch keeps blocking) until the budget
// changes.
func TestReconnectRefusedByBudget(t *testing.T) {
	w := newDevWorld(t)
	d := w.daemon(t, w.config(t, ""))
	ctx := context.Background()

	// Padding that, kept up for the rest of the budget period, costs
	// about four times the budget set below, whatever the day of the
	// month: rate × cell × 2 directions × price per byte × hours left.
	b, err := d.Budget(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hours := time.Until(b.PeriodEnd).Hours()
	perCellHour := new(big.Float).SetInt(nodePrice)
	perCellHour.Mul(perCellHour, big.NewFloat(float64(onion.DefaultCellSize)*2*3600/1e9))
	pc, _ := perCellHour.Float64()
	const budgetFloor = 1.5e16 // over the smallest face value, 1e16
	rate := min(math.Ceil(4*budgetFloor/(pc*hours)), 2048)
	set, _ := d.Settings(ctx)
	set.PaddingKbps = int(math.Ceil(rate * onion.DefaultCellSize * 8 / 1000))
	if _, err := d.SetSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	connect(t, d, 1)
	waitState(t, d, api.StateConnected)
	if b, err = d.Budget(ctx); err != nil || b.PaddingPerHour.IsZero() {
		t.Fatalf("padding costs %v per hour (%v)", b.PaddingPerHour, err)
	}
	t.Logf("padding %d kbps costs %v per hour, %.0f hours before the period ends", set.PaddingKbps, b.PaddingPerHour.Big(), hours)

	// The budget now covers the traffic but not the padding.
	set.MonthlyBudget = api.NewAmount(new(big.Int).Add(b.Spent.Big(), big.NewInt(budgetFloor)))
	if _, err := d.SetSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	// The circuit dies: the exit drops every link.
	for _, n := range w.nodes {
		for _, l := range n.Links() {
			l.Close()
		}
	}
	deadline := time.Now().Add(time.Minute)
	for {
		st, _ := d.Status(ctx)
		if st.State == api.StateError {
			if !strings.Contains(st.Error, "budget") || st.Reason != api.ReasonBudgetExhausted || st.AtLimit != api.LimitStop {
				t.Errorf("error %q (reason %q, at limit %q) does not name the budget", st.Error, st.Reason, st.AtLimit)
			}
			break
		}
		if sessions() == 0 {
			st, _ := d.Status(ctx)
			t.Fatalf("the session ended, and the daemon says %q (%s)", st.State, st.Error)
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %s (%s) a minute after the circuit died", st.State, st.Error)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st, _ := d.Status(ctx); sessions() != 1 || len(st.ProxyAddrs) == 0 {
		t.Errorf("held at the limit: %d sessions, proxies %q", sessions(), st.ProxyAddrs)
	}
	// A connect with the budget back works.
	set.MonthlyBudget, set.PaddingKbps = defaultSettings().MonthlyBudget, 0
	if _, err := d.SetSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	connect(t, d, 1)
	waitState(t, d, api.StateConnected)
	carries(t, d, w.nodes, 1<<20)
}
