package budget

import (
	"math/big"
	"strings"
	"testing"

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
