package payhop_test

import (
	"context"
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/internal/payhop"
	"github.com/pexia-network/pexia/internal/testutil"
)

// TestNodeRevenue: after a paid download the node's revenue report has the
// bytes its meter carried, what they cost at its price, the tickets'
// expected value (net of the claim cost: what the meter credited, at most
// a window ahead of what is due), and the winners' face value, which the
// lottery puts within a few predicted standard deviations of the
// tickets' expected value.
func TestNodeRevenue(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	payer := payhop.Payer(w.issuer, payhop.ClientTerms{Face: face, WindowBytes: 2e6})
	c, err := hop.Build(ctx, []hop.HopInfo{w.node.Info}, hop.BuildConfig{Payer: payer})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const total = 64 << 20
	if n, err := download(ctx, c, w.dst, total); err != nil || n != total {
		t.Fatalf("paid download: %d bytes, %v", n, err)
	}
	m := payhop.Meter(w.payees[0])
	// The circuit still carries credit and closing cells after the
	// download; close it and read once the meter and the report agree,
	// so both describe the same bytes.
	c.Close()
	var snap payhop.TicketSnapshot
	_ = testutil.Until("the revenue report to catch up with the meter", 10*time.Second, func() bool {
		snap = w.stats.Snapshot()
		return snap.Revenue.CarriedBytes == m.Bytes()
	})
	snap = w.stats.Snapshot()
	r := snap.Revenue
	due := r.Due(price)
	t.Logf("carried %d bytes, due %v; tickets %d worth %v (credited %v); %d winners won %v (claim costs %v); σ %.4g",
		r.CarriedBytes, due, snap.Accepted, r.ExpectedValue, r.Credited, snap.Winners, r.Won, r.ClaimCosts, r.WonSD)
	if r.CarriedBytes != m.Bytes() || r.CarriedBytes < total {
		t.Errorf("revenue counts %d bytes, the meter %d (downloaded %d)", r.CarriedBytes, m.Bytes(), total)
	}
	if want := new(big.Int).Quo(new(big.Int).Mul(big.NewInt(int64(m.Bytes())), price), big.NewInt(1e9)); due.Cmp(want) != 0 {
		t.Errorf("due %v, want bytes × price = %v", due, want)
	}
	// The meter's balance is credited − due.
	if bal := new(big.Int).Sub(r.Credited, due); bal.Cmp(m.Balance()) != 0 {
		t.Errorf("credited − due = %v, the meter's balance is %v", bal, m.Balance())
	}
	if r.Credited.Cmp(r.ExpectedValue) >= 0 || r.Credited.Sign() <= 0 {
		t.Errorf("credited %v, want positive and below the tickets' expected value %v (the claim cost)", r.Credited, r.ExpectedValue)
	}
	if want := new(big.Int).Mul(face, big.NewInt(int64(snap.Winners))); r.Won.Cmp(want) != 0 {
		t.Errorf("won %v, want %d winners × face %v", r.Won, snap.Winners, face)
	}
	if want := new(big.Int).Mul(claimCost, big.NewInt(int64(snap.Winners))); r.ClaimCosts.Cmp(want) != 0 {
		t.Errorf("claim costs %v, want %d winners × %v", r.ClaimCosts, snap.Winners, claimCost)
	}
	ev, _ := new(big.Float).SetInt(r.ExpectedValue).Float64()
	won, _ := new(big.Float).SetInt(r.Won).Float64()
	if r.WonSD <= 0 || math.Abs(won-ev) > 5*r.WonSD {
		t.Errorf("won %v, expected %v: %.2f predicted standard deviations (σ %.4g)", r.Won, r.ExpectedValue, (won-ev)/r.WonSD, r.WonSD)
	}
}
