package budget

import (
	"context"
	"math/big"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock; Sleep advances it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.Advance(d)
	return ctx.Err()
}

// tokens is x whole tokens of 10^18 units (x may be fractional to 1e-6).
func tokens(x float64) *big.Int {
	micro := big.NewInt(int64(x*1e6 + 0.5))
	return micro.Mul(micro, big.NewInt(1e12))
}

func bi(x int64) *big.Int { return big.NewInt(x) }

func openLedger(t *testing.T) (*Ledger, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "budget.db")
	l, err := OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, path
}
