package api

import (
	"errors"
	"math/big"
	"testing"
)

func TestParseFiatRate(t *testing.T) {
	for _, tc := range []struct {
		in, num, code string
	}{
		{"2500 USD", "2500", "USD"},
		{"0.0125 EUR", "1/80", "EUR"},
		{" 3.10 CHF ", "31/10", "CHF"},
	} {
		r, code, err := ParseFiatRate(tc.in)
		if err != nil || r.RatString() != tc.num || code != tc.code {
			t.Errorf("ParseFiatRate(%q) = %v %q %v, want %s %s", tc.in, r, code, err, tc.num, tc.code)
		}
	}
	for _, bad := range []string{"", "2500", "USD", "2500 usd", "2500 DOLLARS", "-1 USD", "0 USD", "1e3 USD", "1/3 USD", "0x10 USD", ". USD", "1.2.3 USD", "NaN USD", "Inf USD"} {
		if _, _, err := ParseFiatRate(bad); err == nil {
			t.Errorf("ParseFiatRate(%q) accepted", bad)
		}
		s := validSettings()
		s.FiatRate = bad
		if bad != "" {
			if err := s.Validate(); !errors.Is(err, ErrInvalid) {
				t.Errorf("fiat_rate %q: Validate = %v, want ErrInvalid", bad, err)
			}
		}
	}
}

// Value is exact: 0.145 tokens at $1 is halfway between cents and rounds
// up, where a float64 (0.14499999999999999) prints $0.14; 10^9 tokens and
// one unit at a price of 18 decimals keeps every digit.
func TestPriceValue(t *testing.T) {
	for _, tc := range []struct {
		units    string
		perToken string
		fiat     string
		want     string
	}{
		{"145000000000000000", "1", "USD", "$0.15"},
		{"145000000000000000", "1.00", "EUR", "0.15 EUR"},
		{"1000000000000000000000000001", "0.000000000000000001", "USD", "$0.00"},
		{"123456789987654321000000005", "0.005", "USD", "$617283.95"},
		{"0", "2500", "USD", "$0.00"},
	} {
		x, _ := new(big.Int).SetString(tc.units, 10)
		p := &Price{Fiat: tc.fiat, PerToken: tc.perToken, Source: PriceFixed}
		if got := p.Value(NewAmount(x), 18); got != tc.want {
			t.Errorf("%s units at %s %s = %q, want %q", tc.units, tc.perToken, tc.fiat, got, tc.want)
		}
	}
	var none *Price
	if got := none.Value(AmountOf(1), 18); got != "" {
		t.Errorf("no price: %q", got)
	}
}

func TestTimeZoneSetting(t *testing.T) {
	for _, ok := range []string{"Europe/Berlin", "America/New_York", "UTC", "Local"} {
		s := validSettings()
		s.TimeZone = ok
		if err := s.Validate(); err != nil {
			t.Errorf("time_zone %q: %v", ok, err)
		}
	}
	for _, bad := range []string{"Mars/Olympus", "/etc/passwd", "../../etc/localtime", "Europe/../UTC"} {
		s := validSettings()
		s.TimeZone = bad
		if err := s.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("time_zone %q: Validate = %v, want ErrInvalid", bad, err)
		}
	}
}
