package budget

import (
	"errors"
	"math/big"
	"testing"
	"time"
)

func TestPaddingCost(t *testing.T) {
	gb := func(x int64) *big.Int { return big.NewInt(x) }
	// 250 cells/s of 4000 bytes each way = 2 MB/s; three hops at 1000 per
	// GB: 2e6 × 3600 × 3000 / 1e9 = 21600 per hour.
	got := PaddingCost(250, 4000, []*big.Int{gb(1000), gb(1000), gb(1000)}, time.Hour)
	if got.Cmp(big.NewInt(21600)) != 0 {
		t.Fatalf("PaddingCost = %v, want 21600", got)
	}
	if PaddingCost(0, 4000, []*big.Int{gb(1)}, time.Hour).Sign() != 0 {
		t.Fatal("no padding costs something")
	}
}

func TestCheckPadding(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	now := start.Add(24 * time.Hour)
	e, err := New(Config{Budget: big.NewInt(30 * 24 * 1000), ClaimCost: big.NewInt(1),
		PeriodStart: start, PeriodEnd: start.Add(30 * 24 * time.Hour), Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	// 29 days left, 720,000 left: 1,000 per hour fits, 1,100 does not.
	if err := e.CheckPadding(now, big.NewInt(1000)); err != nil {
		t.Fatalf("1000/h: %v", err)
	}
	if err := e.CheckPadding(now, big.NewInt(1100)); !errors.Is(err, ErrPriceAboveBudget) {
		t.Fatalf("1100/h: %v, want ErrPriceAboveBudget", err)
	}
}
