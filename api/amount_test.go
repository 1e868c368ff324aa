package api

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"
)

func TestParseAmount(t *testing.T) {
	for _, tc := range []struct {
		in       string
		decimals int
		want     string // smallest units; empty: an error containing err
		err      string
	}{
		{in: "10", decimals: 18, want: "10000000000000000000"},
		{in: "0.25", decimals: 18, want: "250000000000000000"},
		{in: " 1.5 ", decimals: 6, want: "1500000"},
		{in: ".5", decimals: 2, want: "50"},
		{in: "5.", decimals: 2, want: "500"},
		{in: "0", decimals: 18, want: "0"},
		{in: "0.000000000000000001", decimals: 18, want: "1"},
		{in: "123456789012345678901234567890", decimals: 0, want: "123456789012345678901234567890"},
		{in: "0.001", decimals: 2, err: "more than 2 decimals"},
		{in: "-1", decimals: 18, err: "cannot be negative"},
		{in: "1e3", decimals: 18, err: "plain decimal number"},
		{in: "1.2.3", decimals: 18, err: "plain decimal number"},
		{in: ".", decimals: 18, err: "plain decimal number"},
		{in: "ten", decimals: 18, err: "plain decimal number"},
		{in: "", decimals: 18, err: "empty amount"},
	} {
		got, err := ParseAmount(tc.in, tc.decimals)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseAmount(%q, %d) = %v, %v; want error containing %q", tc.in, tc.decimals, got, err, tc.err)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("ParseAmount(%q, %d) = %v, %v; want %s", tc.in, tc.decimals, got, err, tc.want)
		}
	}
}

func TestAmountFormat(t *testing.T) {
	for _, tc := range []struct {
		units            string
		decimals, places int
		want             string
	}{
		{"1500000000000000000", 18, 6, "1.5"},
		{"10000000000000000000", 18, 6, "10"},
		{"0", 18, 6, "0"},
		{"1", 18, 6, "<0.000001"},
		{"1", 18, 0, "<1"},
		{"1234567", 6, 2, "1.23"},
		{"1235000", 6, 2, "1.24"}, // rounds half away from zero
		{"42", 0, 4, "42"},
	} {
		n, _ := new(big.Int).SetString(tc.units, 10)
		if got := NewAmount(n).Format(tc.decimals, tc.places); got != tc.want {
			t.Errorf("Format(%s, %d, %d) = %q, want %q", tc.units, tc.decimals, tc.places, got, tc.want)
		}
	}
}

func TestAmountJSON(t *testing.T) {
	big1, _ := new(big.Int).SetString("340282366920938463463374607431768211456", 10) // 2^128
	var v struct {
		A Amount `json:"a"`
		Z Amount `json:"z"`
	}
	v.A = NewAmount(big1)
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":"340282366920938463463374607431768211456","z":"0"}`; string(b) != want {
		t.Fatalf("marshal = %s, want %s", b, want)
	}
	var back struct {
		A Amount `json:"a"`
		Z Amount `json:"z"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.A.Cmp(v.A) != 0 || !back.Z.IsZero() {
		t.Fatalf("round trip = %v %v", back.A, back.Z)
	}
	for _, bad := range []string{`{"a":1}`, `{"a":"-1"}`, `{"a":"1.5"}`, `{"a":""}`, `{"a":"0x10"}`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil || !strings.Contains(err.Error(), "smallest unit") {
			t.Errorf("unmarshal %s: err = %v, want a smallest-unit complaint", bad, err)
		}
	}
	// Amounts are immutable: changing the source or Big's result changes nothing.
	src := big.NewInt(7)
	a := NewAmount(src)
	src.SetInt64(9)
	a.Big().SetInt64(11)
	if a.String() != "7" {
		t.Fatalf("amount changed to %s", a)
	}
	if NewAmount(big.NewInt(-3)).String() != "0" {
		t.Fatal("negative amount not clamped to 0")
	}
}
