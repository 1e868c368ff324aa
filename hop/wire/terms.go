package wire

import "math/big"

// Payments ride inside the circuit: the client pays hop k with PAY cells
// sealed for hop k alone, so no other hop sees them. The hop's handshake
// reply carries its Terms; each PAID reply carries the commitment for the
// next payment.

// Terms are what a node asks to be paid, sent in its handshake reply.
type Terms struct {
	Commit     [32]byte // current ticket commitment
	PricePerGB *big.Int // per 10^9 bytes carried, smallest units
	ClaimCost  *big.Int // what claiming one winner costs the node
	// MinFace is the smallest face value the node accepts; nil when the
	// node did not say (terms of the earlier, shorter form).
	MinFace *big.Int
}

// termsLen is commit ‖ price ‖ claim cost ‖ minimum face; termsLenV1, the
// earlier form, lacks the minimum face.
const (
	termsLen   = 32 + 16 + 16 + 16
	termsLenV1 = 32 + 16 + 16
)

// Encode returns the terms as the node's handshake reply carries them.
func (t Terms) Encode() []byte {
	b := make([]byte, termsLen)
	copy(b, t.Commit[:])
	for i, v := range []*big.Int{t.PricePerGB, t.ClaimCost, t.MinFace} {
		if v != nil && v.Sign() >= 0 && v.BitLen() <= 128 {
			v.FillBytes(b[32+16*i : 48+16*i])
		}
	}
	return b
}

// DecodeTerms reads terms in the current or the earlier form; ok is false
// for anything else (a free node sends none).
func DecodeTerms(b []byte) (t Terms, ok bool) {
	if len(b) != termsLen && len(b) != termsLenV1 {
		return Terms{}, false
	}
	copy(t.Commit[:], b)
	t.PricePerGB = new(big.Int).SetBytes(b[32:48])
	t.ClaimCost = new(big.Int).SetBytes(b[48:64])
	if len(b) == termsLen {
		t.MinFace = new(big.Int).SetBytes(b[64:80])
	}
	return t, true
}

// EncodeCommit is the receipt of a PAID cell: the commitment the next
// payment must use.
func EncodeCommit(c [32]byte) []byte { return append([]byte(nil), c[:]...) }

// DecodeCommit reads a PAID cell's receipt.
func DecodeCommit(b []byte) ([32]byte, bool) {
	var c [32]byte
	if len(b) != 32 {
		return c, false
	}
	copy(c[:], b)
	return c, true
}
