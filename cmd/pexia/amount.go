package main

import "math/big"

// newRat formats a smallest-unit integer string as whole tokens (18 decimals).
func newRat(s string) (string, bool) {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return "", false
	}
	r := new(big.Rat).SetFrac(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil))
	return r.FloatString(4), true
}
