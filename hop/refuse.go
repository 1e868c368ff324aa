package hop

import (
	"errors"
	"fmt"

	"github.com/pexia-network/pexia/hop/onion"
)

// Nodes are not trusted: the terms a node announces in its handshake
// (price, claim cost) decide what its tickets are worth, so the Payer
// checks them before it opens a payment session and refuses a node whose
// terms it will not pay. A refused hop is not a failed build: the pool
// remembers the node and builds through another one.

// ErrTermsRefused is wrapped by a Payer's error when it refuses the terms
// a node announced (the payments layer says which term and why).
var ErrTermsRefused = errors.New("hop: node's terms refused")

// RefusedError is returned by Build when the Payer refused the terms of
// one of the hops. Nothing was paid to any hop of the circuit.
type RefusedError struct {
	Hop  int
	Node onion.Address
	Err  error // wraps ErrTermsRefused
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("hop: hop %d: %v", e.Hop, e.Err)
}

func (e *RefusedError) Unwrap() error { return e.Err }

// HopError says which hop a build failed at, or which hop's link a built
// circuit lost: the first hop when the link to it failed, hop k when
// extending to it failed. The Pool avoids that node for FailFor.
type HopError struct {
	Hop  int
	Node onion.Address
	Err  error
}

func (e *HopError) Error() string { return e.Err.Error() }

func (e *HopError) Unwrap() error { return e.Err }
