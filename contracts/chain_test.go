package contracts_test

import (
	"testing"

	"github.com/pexia-network/pexia/contracts/chaintest"
)

// chain adds the ticket and account helpers of these tests to the harness.
type chain struct {
	*chaintest.Chain
	T *testing.T
}

func newChain(t *testing.T) *chain { return &chain{chaintest.New(t), t} }
