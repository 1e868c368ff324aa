package hop

import (
	"context"
	"errors"
	"math/big"
)

// Payments ride inside the circuit: the client pays hop k with PAY cells
// sealed for hop k alone, so no other hop sees them. The hop's handshake
// reply carries its Terms; each PAID reply carries the commitment for the
// next payment. The wallet implements the sessions below; hop knows nothing
// of tickets or chains.

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

func (t Terms) encode() []byte {
	b := make([]byte, termsLen)
	copy(b, t.Commit[:])
	for i, v := range []*big.Int{t.PricePerGB, t.ClaimCost, t.MinFace} {
		if v != nil && v.Sign() >= 0 && v.BitLen() <= 128 {
			v.FillBytes(b[32+16*i : 48+16*i])
		}
	}
	return b
}

func decodeTerms(b []byte) (Terms, bool) {
	if len(b) != termsLen && len(b) != termsLenV1 {
		return Terms{}, false
	}
	var t Terms
	copy(t.Commit[:], b)
	t.PricePerGB = new(big.Int).SetBytes(b[32:48])
	t.ClaimCost = new(big.Int).SetBytes(b[48:64])
	if len(b) == termsLen {
		t.MinFace = new(big.Int).SetBytes(b[64:80])
	}
	return t, true
}

// MeterState is what a node does with a circuit's traffic.
type MeterState int

// Meter states, as the wallet's meter reports them.
const (
	MeterOK MeterState = iota
	MeterThrottle
	MeterDrop
)

// PayeeSession is a node's payment state for one circuit.
type PayeeSession interface {
	// Terms are the node's terms for this circuit.
	Terms() Terms
	// Carry records n bytes relayed for the circuit.
	Carry(n int)
	// State says whether to serve, throttle or drop the circuit.
	State() MeterState
	// Accept verifies and credits a payment; it returns the commitment the
	// next payment must use. A winning ticket is stored durably first.
	Accept(ctx context.Context, payment []byte) (next [32]byte, err error)
}

// PayerSession is a client's payment state for one hop of a circuit.
type PayerSession interface {
	// Carry records n bytes the hop carried.
	Carry(n int)
	// Due is what should be paid now (zero for nothing).
	Due() *big.Int
	// Pay returns a payment worth amount for the node's commitment.
	Pay(ctx context.Context, commit [32]byte, amount *big.Int) ([]byte, error)
}

// Payer opens payment sessions for the hops of a new circuit. An error
// wrapping ErrTermsRefused refuses the node (Build returns a
// *RefusedError and the Pool builds through another node).
type Payer func(hop int, node [20]byte, terms Terms) (PayerSession, error)

// ErrUnpaid means a node ended a circuit for lack of payment.
var ErrUnpaid = errors.New("hop: circuit dropped for lack of payment")

func encodeCommit(c [32]byte) []byte { return append([]byte(nil), c[:]...) }

func decodeCommit(b []byte) ([32]byte, bool) {
	var c [32]byte
	if len(b) != 32 {
		return c, false
	}
	copy(c[:], b)
	return c, true
}
