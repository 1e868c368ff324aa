package relay

import (
	"context"

	"github.com/pexia-network/pexia/hop/wire"
)

// Payments: a node with NodeConfig.Payee opens a PayeeSession for each
// circuit. Its terms go to the client in the handshake reply, the client's
// PAY cells (sealed for this hop alone) are credited to it, each answered
// with a PAID cell carrying the commitment for the next payment, and the
// session's meter decides whether the circuit is served, throttled or
// dropped. The wallet implements the session (internal/payhop); relay
// knows nothing of tickets or chains.

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
	Terms() wire.Terms
	// Carry records n bytes relayed for the circuit.
	Carry(n int)
	// State says whether to serve, throttle or drop the circuit.
	State() MeterState
	// Accept verifies and credits a payment; it returns the commitment the
	// next payment must use. A winning ticket is stored durably first.
	Accept(ctx context.Context, payment []byte) (next [32]byte, err error)
}
