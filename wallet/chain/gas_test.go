package chain_test

import (
	"context"
	"math/big"
	"testing"

	"github.com/pexia-network/pexia/wallet/chain"
)

// TestGasPriceCeiling: on an idle chain the base fee falls block after
// block; the ceiling stays at the highest gas price of the recent blocks,
// so a claim cost a node took from an earlier gas price is still within
// it, while the current suggestion has fallen well below.
func TestGasPriceCeiling(t *testing.T) {
	e := setup(t)
	cl := e.client(chain.Options{})
	ctx := context.Background()
	early, err := e.Client.SuggestGasPrice(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		e.Sim.Commit()
	}
	now, err := e.Client.SuggestGasPrice(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ceil, err := cl.GasPriceCeiling(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("gas price 20 blocks ago %v, now %v, ceiling %v", early, now, ceil)
	if now.Cmp(new(big.Int).Quo(early, big.NewInt(4))) > 0 {
		t.Fatalf("the idle chain's gas price fell only from %v to %v", early, now)
	}
	if ceil.Cmp(early) < 0 || ceil.Cmp(now) < 0 {
		t.Fatalf("ceiling %v below the earlier price %v or the current %v", ceil, early, now)
	}
	// Not more than the highest base fee seen plus a tip: twice the early
	// price is far above it.
	if ceil.Cmp(new(big.Int).Mul(early, big.NewInt(2))) > 0 {
		t.Fatalf("ceiling %v, more than twice the highest price %v", ceil, early)
	}
}
