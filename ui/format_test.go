package ui

import (
	"testing"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/api/apitest"
)

// TestMoneyTinyFiat: an amount worth less than a cent is shown as
// "< $0.01", not as "≈ $0.00"; nothing at all is still $0.00.
func TestMoneyTinyFiat(t *testing.T) {
	eur := apitest.Currency
	eur.Price = &api.Price{Fiat: "EUR", PerToken: "0.5", Source: api.PriceFixed}
	for _, tc := range []struct {
		amount string
		c      api.Currency
		want   string
	}{
		{"0.0002", apitest.Currency, "0.0002 PEX (< $0.01)"},
		{"0.009", apitest.Currency, "0.009 PEX (< $0.01)"},
		{"0.02", apitest.Currency, "0.02 PEX (≈ $0.01)"},
		{"0", apitest.Currency, "0 PEX (≈ $0.00)"},
		{"0.0002", eur, "0.0002 PEX (< 0.01 EUR)"},
		{"3", eur, "3 PEX (≈ 1.50 EUR)"},
	} {
		if got := money(apitest.Tokens(tc.amount), tc.c); got != tc.want {
			t.Errorf("money(%s %s) = %q, want %q", tc.amount, tc.c.Price.Fiat, got, tc.want)
		}
	}
}
