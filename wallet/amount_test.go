package wallet

import (
	"math/big"
	"testing"
)

func TestFormatUnits(t *testing.T) {
	for _, tc := range []struct {
		x    string
		dec  int
		want string
	}{
		{"0", 18, "0"},
		{"1", 18, "0.000000000000000001"},
		{"1500000000000000", 18, "0.0015"},
		{"1040276754041000000", 18, "1.040276754041"},
		{"12000000000000000000", 18, "12"},
		{"-2500000000000000000", 18, "-2.5"},
		{"123", 0, "123"},
		{"123", 2, "1.23"},
	} {
		x, _ := new(big.Int).SetString(tc.x, 10)
		if got := FormatUnits(x, tc.dec); got != tc.want {
			t.Errorf("FormatUnits(%s, %d) = %q, want %q", tc.x, tc.dec, got, tc.want)
		}
	}
	if got := FormatNative(nil); got != "0 ETH" {
		t.Errorf("FormatNative(nil) = %q", got)
	}
}
