package budget

import (
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// 0.145 tokens at 1 dollar: as a float64 the product is 0.14499999999999999
// and "%.2f" prints $0.14; exactly, it is halfway and rounds to $0.15.
func TestStatusFiatExact(t *testing.T) {
	e, clk := testEngine(t, func(c *Config) { c.FiatPerToken = big.NewRat(1, 1) })
	if err := e.RecordWin(new(big.Int).Mul(big.NewInt(145), big.NewInt(1e15)), 0, common.Address{}, "web"); err != nil {
		t.Fatal(err)
	}
	s := e.Status(clk.Now()).String()
	if !strings.Contains(s, "spent 0.145 of 10 tokens ($0.15 of $10.00)") {
		t.Errorf("0.145 tokens at $1: %q, want $0.15 (0.145 rounded half up)", s)
	}
}

// Amounts and prices with more digits than a float64 carries are
// converted exactly and rounded to the cent once.
func TestFiatAmountExact(t *testing.T) {
	unit := new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	x, _ := new(big.Int).SetString("123456789987654321000000005", 10)
	price, _ := new(big.Rat).SetString("0.005")
	// 123456789.987654321000000005 × 0.005 = 617283.949938271605000000025
	if got, want := fiatAmount(x, unit, price, "EUR"), "617283.95 EUR"; got != want {
		t.Errorf("fiatAmount = %q, want %q", got, want)
	}
	x.SetString("1000000000000000000000000001", 10) // 10^9 tokens and 1 unit
	price.SetString("0.000000000000000001")
	// 1000000000.000000000000000001 × 10^-18 = 0.000000001000...: 0.00
	if got, want := fiatAmount(x, unit, price, "USD"), "$0.00"; got != want {
		t.Errorf("fiatAmount = %q, want %q", got, want)
	}
}

// TestOutlook issues tickets at a steady demand for two hours and reads
// the rate, how long the budget lasts at it and the chance it runs out
// before the month ends: demand at twice the budget's rate runs out almost
// surely, at half of it almost never.
func TestOutlook(t *testing.T) {
	for _, c := range []struct {
		name        string
		times       int64 // demand, in multiples of the budget's rate
		div         int64
		runOutAbove float64
		runOutBelow float64
	}{
		{"twice the budget's rate", 2, 1, 0.99, 1.01},
		{"half the budget's rate", 1, 2, -1, 0.01},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, clk := testEngine(t, nil)
			st := e.Status(clk.Now())
			if st.Outlook.DemandPerHour != nil || st.Outlook.RunOut != 0 {
				t.Fatalf("outlook before any ticket: %+v", st.Outlook)
			}
			// The budget's rate per minute over the whole month, times the demand.
			month := st.Period.End.Sub(clk.Now())
			perMin := new(big.Int).Mul(st.Budget, big.NewInt(int64(time.Minute)*c.times))
			perMin.Quo(perMin, big.NewInt(int64(month)*c.div))
			face := e.MinFace()
			for range 120 {
				if err := e.RecordIssued(perMin, face, 0, common.Address{}, "web"); err != nil {
					t.Fatal(err)
				}
				clk.Advance(time.Minute)
			}
			o := e.Status(clk.Now()).Outlook
			if o.DemandPerHour == nil {
				t.Fatal("no demand rate after two hours of tickets")
			}
			wantRate := new(big.Int).Mul(perMin, big.NewInt(60))
			if d := new(big.Int).Sub(o.DemandPerHour, wantRate); d.CmpAbs(big.NewInt(2)) > 0 {
				t.Errorf("demand %v per hour, want %v", o.DemandPerHour, wantRate)
			}
			// Nothing won yet: the whole budget lasts month × div / times.
			want := time.Duration(int64(month) * c.div / c.times)
			if d := o.RunsOutIn - want; d < -time.Minute || d > time.Minute {
				t.Errorf("runs out in %v, want about %v", o.RunsOutIn, want)
			}
			if !(o.RunOut > c.runOutAbove && o.RunOut < c.runOutBelow) {
				t.Errorf("run-out probability %v, want in (%v, %v)", o.RunOut, c.runOutAbove, c.runOutBelow)
			}
			t.Logf("demand %v/h, runs out in %v, P(run out) %.4g", o.DemandPerHour, o.RunsOutIn, o.RunOut)
		})
	}
}
