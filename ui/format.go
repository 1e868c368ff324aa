package ui

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/pexia-network/pexia/api"
)

// money renders an amount in whole tokens with the currency's symbol, and
// its fiat estimate when the admin set a price: "< $0.01" for an amount
// worth less than half a cent, which would round to nothing.
func money(a api.Amount, c api.Currency) string {
	s := a.Format(c.Decimals, 4)
	if c.Symbol != "" {
		s += " " + c.Symbol
	}
	v := c.Price.Value(a, c.Decimals)
	switch {
	case v == "":
	case !a.IsZero() && v == c.Price.Value(api.AmountOf(0), c.Decimals):
		s += " (< " + strings.Replace(v, "0.00", "0.01", 1) + ")"
	default:
		s += " (≈ " + v + ")"
	}
	return s
}

// tokens returns a as a float64 of whole tokens, for sliders and charts.
func tokens(a api.Amount, c api.Currency) float64 {
	f, _ := new(big.Rat).SetFrac(a.Big(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(c.Decimals)), nil)).Float64()
	return f
}

// fromTokens turns whole tokens (a slider's value) into an Amount.
func fromTokens(v float64, c api.Currency) (api.Amount, error) {
	return api.ParseAmount(strconv.FormatFloat(v, 'f', min(c.Decimals, 6), 64), c.Decimals)
}

// rate renders bytes per second as bits per second.
func rate(bps uint64) string {
	b := float64(bps) * 8
	switch {
	case b >= 1e9:
		return fmt.Sprintf("%.1f Gbit/s", b/1e9)
	case b >= 1e6:
		return fmt.Sprintf("%.1f Mbit/s", b/1e6)
	case b >= 1e3:
		return fmt.Sprintf("%.0f kbit/s", b/1e3)
	}
	return fmt.Sprintf("%.0f bit/s", b)
}
