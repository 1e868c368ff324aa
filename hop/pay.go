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
}

const termsLen = 32 + 16 + 16

func (t Terms) encode() []byte {
	b := make([]byte, termsLen)
	copy(b, t.Commit[:])
	if t.PricePerGB != nil && t.PricePerGB.BitLen() <= 128 {
		t.PricePerGB.FillBytes(b[32:48])
	}
	if t.ClaimCost != nil && t.ClaimCost.BitLen() <= 128 {
		t.ClaimCost.FillBytes(b[48:64])
	}
	return b
}

func decodeTerms(b []byte) (Terms, bool) {
	if len(b) != termsLen {
		return Terms{}, false
	}
	var t Terms
	copy(t.Commit[:], b)
	t.PricePerGB = new(big.Int).SetBytes(b[32:48])
	t.ClaimCost = new(big.Int).SetBytes(b[48:64])
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
