package payhop_test

import (
	"context"
	"io"
	"math/big"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/internal/payhop"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/wallet/budget"
)

// TestPaidCircuitSharesSpendByApp: two applications download at once
// through one paid circuit, one twice as much as the other. Every ticket's
// expected value is shared between them by the bytes each carried in its
// window: the per-app amounts in the ledger add up exactly to the
// period's issued total, the circuit's prepayment included, and split
// about 2:1.
func TestPaidCircuitSharesSpendByApp(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := budget.OpenLedger(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	now := time.Now()
	eng, err := budget.New(budget.Config{
		Budget:      big.NewInt(36e17),
		PeriodStart: now.Add(-time.Second), PeriodEnd: now.Add(time.Hour - time.Second),
		ClaimCost: claimCost, ClaimWindow: -1, Ledger: l,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Each application's bytes on the circuit, both ways.
	var carried [2]atomic.Uint64
	apps := [2]string{"1000:/usr/bin/big", "1000:/usr/bin/small"}
	var windows atomic.Int32
	attribute := func() func() []budget.Share {
		windows.Add(1)
		var mu sync.Mutex
		var seen [2]uint64
		return func() []budget.Share {
			mu.Lock()
			defer mu.Unlock()
			var out []budget.Share
			for i := range carried {
				n := carried[i].Load()
				out = append(out, budget.Share{App: apps[i], Bytes: n - seen[i]})
				seen[i] = n
			}
			return out
		}
	}
	payer := payhop.Payer(w.issuer, payhop.ClientTerms{Face: face, WindowBytes: 1e6, Budget: eng, App: "fast", Attribute: attribute})
	c, err := hop.Build(ctx, []hop.HopInfo{w.node.Info}, hop.BuildConfig{Payer: payer})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sizes := [2]int64{12 << 20, 6 << 20}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range sizes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := c.Dial(ctx, "tcp", w.dst)
			if err != nil {
				errs[i] = err
				return
			}
			defer conn.Close()
			_, errs[i] = testutil.Download(countingConn{conn, &carried[i]}, sizes[i])
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := eng.Flush(); err != nil {
		t.Fatal(err)
	}
	cur, ok, err := l.Current()
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	rows, err := l.Totals(budget.ByApp)
	if err != nil {
		t.Fatal(err)
	}
	sum := new(big.Int)
	got := map[string]*big.Int{}
	for _, r := range rows {
		sum.Add(sum, r.Issued)
		got[r.Key] = r.Issued
		t.Logf("app %q: %v in %d tickets", r.Key, r.Issued, r.Tickets)
	}
	if cur.Tickets < 3 || windows.Load() != 1 {
		t.Fatalf("%d tickets, %d windows: want several tickets of one hop", cur.Tickets, windows.Load())
	}
	if sum.Cmp(cur.Issued) != 0 {
		t.Fatalf("per-app expected value adds up to %v, the ledger's total is %v", sum, cur.Issued)
	}
	if u := got[budget.Unattributed]; u != nil && u.Sign() != 0 {
		t.Errorf("%v left unattributed after both downloads", u)
	}
	big1, small := got[apps[0]], got[apps[1]]
	if big1 == nil || small == nil {
		t.Fatalf("apps in the ledger: %v", keys(got))
	}
	// The share of the larger download, by bytes 2/3; windows that close
	// while both run split by what each carried in them.
	share, _ := new(big.Rat).SetFrac(big1, new(big.Int).Add(big1, small)).Float64()
	if share < 0.6 || share > 0.73 {
		t.Errorf("larger download's share of the spend %.3f, want about 2/3", share)
	}
}

// countingConn counts what an application reads.
type countingConn struct {
	io.ReadWriter
	n *atomic.Uint64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.ReadWriter.Read(p)
	c.n.Add(uint64(n))
	return n, err
}

func keys(m map[string]*big.Int) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
