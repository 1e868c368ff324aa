package hop

import (
	"context"
	"errors"
	"math/big"

	"github.com/pexia-network/pexia/hop/wire"
)

// Payments ride inside the circuit: the client pays hop k with PAY cells
// sealed for hop k alone, so no other hop sees them. The hop's handshake
// reply carries its Terms; each PAID reply carries the commitment for the
// next payment. The wallet implements the sessions below; hop knows nothing
// of tickets or chains. The node's side (relay.PayeeSession) is package
// relay's.

// Terms are what a node asks to be paid, sent in its handshake reply. The
// type is wire.Terms, which the node encodes; it is named here as well
// because a Payer is handed one.
type Terms = wire.Terms

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
