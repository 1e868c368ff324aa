package wire

import (
	"math/big"
	"testing"
)

// TestTermsEncoding: terms carry the minimum face; the earlier 64-byte
// form still decodes, with the minimum face unknown.
func TestTermsEncoding(t *testing.T) {
	in := Terms{Commit: [32]byte{7}, PricePerGB: big.NewInt(1e17), ClaimCost: big.NewInt(5e13), MinFace: big.NewInt(1e15)}
	b := in.Encode()
	out, ok := DecodeTerms(b)
	if !ok || out.Commit != in.Commit || out.PricePerGB.Cmp(in.PricePerGB) != 0 || out.ClaimCost.Cmp(in.ClaimCost) != 0 || out.MinFace.Cmp(in.MinFace) != 0 {
		t.Fatalf("round trip: %+v, %v", out, ok)
	}
	old, ok := DecodeTerms(b[:termsLenV1])
	if !ok || old.MinFace != nil || old.ClaimCost.Cmp(in.ClaimCost) != 0 {
		t.Fatalf("64-byte terms: %+v, %v", old, ok)
	}
	if _, ok := DecodeTerms(b[:70]); ok {
		t.Fatal("70-byte terms decoded")
	}
}
