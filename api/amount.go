package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
)

// Amount is a token amount in the token's smallest unit, never negative.
// It is immutable; the zero value is 0. In JSON it is a decimal string of
// digits ("1500000000000000000"), never a number, so no reader rounds it.
type Amount struct {
	v *big.Int // nil means 0; never modified after construction
}

// NewAmount returns x as an Amount; nil is 0. It copies x. A negative x
// is a programming error in the daemon and is clamped to 0.
func NewAmount(x *big.Int) Amount {
	if x == nil || x.Sign() <= 0 {
		return Amount{}
	}
	return Amount{v: new(big.Int).Set(x)}
}

// AmountOf returns n smallest units as an Amount.
func AmountOf(n uint64) Amount {
	if n == 0 {
		return Amount{}
	}
	return Amount{v: new(big.Int).SetUint64(n)}
}

// Big returns the amount as a new *big.Int the caller may modify.
func (a Amount) Big() *big.Int {
	if a.v == nil {
		return new(big.Int)
	}
	return new(big.Int).Set(a.v)
}

// IsZero reports whether the amount is 0.
func (a Amount) IsZero() bool { return a.v == nil || a.v.Sign() == 0 }

// Cmp compares a and b: -1 if a < b, 0 if equal, +1 if a > b.
func (a Amount) Cmp(b Amount) int { return a.Big().Cmp(b.Big()) }

// String returns the amount in smallest units, e.g. "1500000000000000000".
func (a Amount) String() string {
	if a.v == nil {
		return "0"
	}
	return a.v.String()
}

// Format renders the amount in whole tokens of the given number of
// decimals, rounded to at most places fractional digits with trailing
// zeros removed: Format(18, 6) of 1500000000000000000 is "1.5". A nonzero
// amount that rounds to 0 is shown as "<0.000001" (for places 6) rather
// than a misleading "0".
func (a Amount) Format(decimals, places int) string {
	if decimals < 0 {
		decimals = 0
	}
	if places < 0 {
		places = 0
	}
	r := new(big.Rat).SetFrac(a.Big(), pow10(decimals))
	s := r.FloatString(places)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "0" && !a.IsZero() {
		if places == 0 {
			return "<1"
		}
		return "<0." + strings.Repeat("0", places-1) + "1"
	}
	return s
}

// ParseAmount parses a decimal number of whole tokens ("10", "0.25") into
// smallest units for a token of the given decimals. It rejects negative
// numbers, exponents, more fractional digits than the token has, and
// anything that is not a plain decimal number.
func ParseAmount(s string, decimals int) (Amount, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return Amount{}, fmt.Errorf("empty amount")
	}
	if strings.HasPrefix(t, "-") {
		return Amount{}, fmt.Errorf("bad amount %q: an amount cannot be negative", s)
	}
	intPart, frac, _ := strings.Cut(t, ".")
	if intPart == "" && frac == "" || !digits(intPart) || !digits(frac) {
		return Amount{}, fmt.Errorf("bad amount %q: want a plain decimal number of tokens such as 10 or 0.25", s)
	}
	if len(frac) > decimals {
		return Amount{}, fmt.Errorf("bad amount %q: more than %d decimals", s, decimals)
	}
	n, ok := new(big.Int).SetString(intPart+frac+strings.Repeat("0", decimals-len(frac)), 10)
	if !ok {
		return Amount{}, fmt.Errorf("bad amount %q", s)
	}
	return NewAmount(n), nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func pow10(n int) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

// MarshalJSON encodes the amount as a JSON string of digits.
func (a Amount) MarshalJSON() ([]byte, error) {
	return []byte(`"` + a.String() + `"`), nil
}

// UnmarshalJSON accepts a JSON string of decimal digits (smallest units).
// Bare numbers are refused: they would be rounded by many JSON readers.
func (a *Amount) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*a = Amount{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("amount must be a string of digits in the token's smallest unit, got %s", b)
	}
	if s == "" || !digits(s) {
		return fmt.Errorf("amount must be a string of digits in the token's smallest unit, got %q", s)
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return fmt.Errorf("bad amount %q", s)
	}
	*a = NewAmount(n)
	return nil
}
