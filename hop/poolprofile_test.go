package hop_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/relay"
)

// firstUnavoided is a selector that always prefers the first of entries
// the pool does not ask it to avoid, then the exit: a dead first hop is
// picked again unless the pool says it failed.
func firstUnavoided(entries []*hoptest.Node, exit *hoptest.Node) hop.Selector {
	return func(ctx context.Context, p hop.Profile) ([]hop.HopInfo, error) {
		for _, n := range entries {
			if !slices.Contains(p.Avoid, n.Info.Address) {
				return []hop.HopInfo{n.Info, exit.Info}, nil
			}
		}
		return nil, context.DeadlineExceeded
	}
}

// TestPoolAvoidsDeadFirstHop: the first hop of a circuit dies; the
// rebuild does not pick it again, though the selector would.
func TestPoolAvoidsDeadFirstHop(t *testing.T) {
	a := hoptest.StartRelay(t, relay.NodeConfig{})
	b := hoptest.StartRelay(t, relay.NodeConfig{})
	exit := hoptest.StartExit(t, relay.NodeConfig{})
	pool := hop.NewPool(firstUnavoided([]*hoptest.Node{a, b}, exit), hop.BuildConfig{}, t.Logf)
	defer pool.Close()
	prof := hop.Profile{Name: "default", Hops: 2}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := pool.Circuit(ctx, prof)
	if err != nil {
		t.Fatal(err)
	}
	if c.Hops()[0].Address != a.Info.Address {
		t.Fatal("first circuit not through the first entry")
	}
	a.Close()
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatal("circuit still up a minute after its first hop died")
	}
	c2, err := pool.Circuit(ctx, prof)
	if err != nil {
		t.Fatalf("no circuit after the first hop died: %v", err)
	}
	if got := c2.Hops()[0].Address; got != b.Info.Address {
		t.Fatalf("rebuilt circuit's first hop is %x, want the live entry %x", got[:], b.Info.Address[:])
	}
	if f := pool.Failed(); !slices.Contains(f, a.Info.Address) {
		t.Fatalf("pool avoids %x, not the dead node", f)
	}
}

// TestPoolAvoidsFailedOnlyWhileSomethingElseWorks: when every entry has
// failed, the pool asks again without them rather than build nothing.
func TestPoolAvoidsFailedOnlyWhileSomethingElseWorks(t *testing.T) {
	a := hoptest.StartRelay(t, relay.NodeConfig{})
	exit := hoptest.StartExit(t, relay.NodeConfig{})
	pool := hop.NewPool(firstUnavoided([]*hoptest.Node{a}, exit), hop.BuildConfig{}, t.Logf)
	defer pool.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := pool.Circuit(ctx, hop.Profile{Name: "p", Hops: 2})
	if err != nil {
		t.Fatal(err)
	}
	// The link to a fails: the pool avoids it, yet it is the only entry.
	for _, l := range a.Links() {
		l.Close()
	}
	<-c.Done()
	testutil.WaitFor(t, "the dead link's node avoided", 10*time.Second, func() bool { return len(pool.Failed()) == 1 })
	if _, err := pool.Circuit(ctx, hop.Profile{Name: "p", Hops: 2}); err != nil {
		t.Fatalf("no circuit through the only entry after a failure: %v", err)
	}
}

// TestPoolCircuitPerProfile: each profile has its own circuit, paid by its
// own payer; CloseIdle closes the circuits of profiles no stream uses,
// keeping those with a stream open and those kept.
func TestPoolCircuitPerProfile(t *testing.T) {
	dst := testutil.EchoTCP(t, "127.0.0.1:0").Addr
	_, infos := hoptest.StartCircuit(t, 1)
	var mu sync.Mutex
	paidFor := map[string]int{}
	sel := func(ctx context.Context, p hop.Profile) ([]hop.HopInfo, error) { return infos, nil }
	pool := hop.NewPool(sel, hop.BuildConfig{}, t.Logf)
	defer pool.Close()
	pool.PayerFor = func(p hop.Profile) hop.Payer {
		mu.Lock()
		paidFor[p.Name]++
		mu.Unlock()
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	profs := []hop.Profile{{Name: "default", Hops: 1}, {Name: "idle", Hops: 1}, {Name: "busy", Hops: 1}}
	got := map[string]*hop.Circuit{}
	for _, p := range profs {
		c, err := pool.Circuit(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for n, o := range got {
			if o == c {
				t.Fatalf("profiles %s and %s share a circuit", n, p.Name)
			}
		}
		got[p.Name] = c
	}
	conn, err := pool.Dial(ctx, profs[2], "tcp", dst)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if n := len(pool.Circuits()); n != 3 {
		t.Fatalf("%d circuits listed, want 3", n)
	}
	closed := pool.CloseIdle(0, func(p hop.Profile) bool { return p.Name == "default" })
	if len(closed) != 1 || closed[0].Name != "idle" {
		t.Fatalf("CloseIdle closed %v, want only the idle profile's", closed)
	}
	<-got["idle"].Done()
	for _, n := range []string{"default", "busy"} {
		if err := got[n].Err(); err != nil {
			t.Fatalf("%s circuit closed: %v", n, err)
		}
	}
	// A new stream for the idle profile gets a new circuit.
	c, err := pool.Circuit(ctx, profs[1])
	if err != nil || c == got["idle"] {
		t.Fatalf("idle profile after CloseIdle: %v (same circuit: %v)", err, c == got["idle"])
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]int{"default": 1, "idle": 2, "busy": 1}
	for n, k := range want {
		if paidFor[n] != k {
			t.Fatalf("payers made per profile: %v, want %v", paidFor, want)
		}
	}
}
