package contracts_test

import (
	"testing"

	"github.com/pexia-network/pexia/contracts"
)

func TestParseAmount(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"0.01", "10000000000000000", true},
		{"1000", "1000000000000000000000", true},
		{"0", "0", true},
		{"0.000000000000000001", "1", true},
		{"0.0000000000000000001", "", false},
		{"-1", "", false},
		{"abc", "", false},
	} {
		got, err := contracts.ParseAmount(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got.String() != tc.want) {
			t.Errorf("ParseAmount(%q) = %v, %v; want %s ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
