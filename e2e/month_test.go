//go:build e2e

package e2e

import (
	"context"
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/internal/world"
)

// monthPrice is the nodes' price per GB in the simulated month: with the
// devnet's gas price (faces of about 0.001 tokens) a 2 MiB payment window
// is worth about 0.85 of a face, so tickets win often but not always.
const monthPrice = "0.4"

// TestSimulatedMonth runs March 2026 through the real pexiad on the devnet
// world: a budget clock the test steps through the month (a day a step,
// shorter steps on the last day) once the last step's winners are claimed
// and followed, the budget planning every ticket (no flat face), real
// nodes claiming their winners on chain, and bursty downloads through a
// 1-hop tunnel that ask for more than the budget buys. Once every winner is claimed and followed, the
// month's spend must be within ±1 % of the budget and never above budget +
// one face value, and each node's revenue after claiming must match the
// bytes it metered × its price within the lottery's predicted band: three
// standard deviations of its winners' value, plus one credit window (the
// most a client may be ahead or behind).
func TestSimulatedMonth(t *testing.T) {
	w := newWorldWith(t, world.Options{Relays: 1, Exits: 1, Price: monthPrice, NodeConfig: world.MonthNodeConfig})
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	budget := contracts.Ether(44)
	budget.Quo(budget, big.NewInt(100)) // 0.44 tokens: 1.1 GB at 0.4 per GB
	res, err := w.RunMonth(ctx, world.MonthOptions{Budget: budget, Hops: 1, Clock: world.MonthClock, Seed: 14, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	tok := func(x *big.Int) float64 { f, _ := new(big.Rat).SetFrac(x, contracts.Ether(1)).Float64(); return f }
	face := res.MaxFace()
	t.Logf("month %s – %s in %.0f s real: budget %.6f, spent %.6f (%+.3f %%), %d tickets, %d wins, face %.6f; %d MiB downloaded in %d bursts, %d downloads failed",
		res.Period[0].Format(time.DateOnly), res.Period[1].Format(time.DateOnly), res.Real.Seconds(), tok(res.Budget), tok(res.Spent),
		res.ErrorPct, res.Tickets, res.Wins, face, res.Downloaded>>20, res.Bursts, res.Failed)
	if want := world.MonthClock[0].At; !res.Period[0].Equal(want) {
		t.Errorf("the period read at the end starts %v, want %v (the month rolled over)", res.Period[0], want)
	}
	if math.Abs(res.ErrorPct) > 1 {
		t.Errorf("spent %.6f of a budget of %.6f: %+.3f %%, want within ±1 %%", tok(res.Spent), tok(res.Budget), res.ErrorPct)
	}
	if tok(res.Spent) > tok(res.Budget)+face {
		t.Errorf("spent %.6f, above budget %.6f + one face %.6f", tok(res.Spent), tok(res.Budget), face)
	}
	if len(res.Nodes) == 0 {
		t.Fatal("no node metered any traffic")
	}
	price := 0.4
	window := float64(4<<20) / 1e9 * price // pexia-node's payments.credit_bytes at the price
	for _, n := range res.Nodes {
		band := 3*n.WonSD + window
		t.Logf("%s: %.0f MiB metered, due %.6f; tickets worth %.6f (%.6f net of claim cost); won %.6f in %v winners, %.6f after claim costs; predicted σ %.6f, band ±%.6f",
			n.Name, n.PaidBytes/(1<<20), n.Due, n.Value, n.Credited, n.Won, n.Winners, n.Net(), n.WonSD, band)
		if math.Abs(n.Net()-n.Due) > band {
			t.Errorf("%s: revenue after claiming %.6f, due %.6f for its bytes: off by %.6f, outside the band ±%.6f", n.Name, n.Net(), n.Due, n.Net()-n.Due, band)
		}
	}
}
