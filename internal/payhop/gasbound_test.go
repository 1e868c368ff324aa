package payhop

import (
	"context"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"
)

// gasPrices is a chain whose gas price ceiling the test sets; reads fail
// while err is set.
type gasPrices struct {
	mu    sync.Mutex
	price *big.Int
	err   error
	reads int
}

func (g *gasPrices) GasPriceCeiling(context.Context) (*big.Int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reads++
	if g.err != nil {
		return nil, g.err
	}
	return new(big.Int).Set(g.price), nil
}

func (g *gasPrices) set(p int64, err error) {
	g.mu.Lock()
	g.price, g.err = big.NewInt(p), err
	g.mu.Unlock()
}

// TestGasBound checks that the claim cost bound follows the chain's gas
// price, is read again only when stale, and keeps the last bound (not
// none) while the chain cannot be read.
func TestGasBound(t *testing.T) {
	src := &gasPrices{}
	src.set(0, errors.New("connection refused"))
	if _, err := NewGasBound(context.Background(), src, nil); err == nil {
		t.Fatal("NewGasBound succeeded on a chain it cannot read")
	}

	src.set(1e9, nil)
	var logged []string
	g, err := NewGasBound(context.Background(), src, func(f string, a ...any) { logged = append(logged, f) })
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Unix(1_800_000_000, 0)
	g.now = func() time.Time { return clock }
	g.at = clock
	want := ClaimCostLimit(big.NewInt(1e9))
	if got := g.Limit(); got.Cmp(want) != 0 {
		t.Fatalf("bound %v, want %v", got, want)
	}
	g.Limit().SetInt64(0) // callers cannot change the bound
	if got := g.Limit(); got.Cmp(want) != 0 {
		t.Fatalf("bound after a caller changed its copy: %v, want %v", got, want)
	}

	src.set(3e9, nil)
	reads := src.reads
	if got := g.Limit(); got.Cmp(want) != 0 || src.reads != reads {
		t.Fatalf("fresh bound read again: %v after %d reads", got, src.reads-reads)
	}
	clock = clock.Add(GasRefresh + time.Second)
	want3 := ClaimCostLimit(big.NewInt(3e9))
	if got := g.Limit(); got.Cmp(want3) != 0 {
		t.Fatalf("stale bound not refreshed: %v, want %v", got, want3)
	}

	src.set(0, errors.New("connection refused"))
	clock = clock.Add(GasRefresh + time.Second)
	if got := g.Limit(); got.Cmp(want3) != 0 {
		t.Fatalf("bound while the chain is down: %v, want the last one %v", got, want3)
	}
	if len(logged) != 1 {
		t.Fatalf("failed refresh logged %d times, want 1", len(logged))
	}
	reads = src.reads
	g.Limit()
	if src.reads != reads {
		t.Fatal("a failed refresh is retried on every hop, not after GasRefresh")
	}
}
