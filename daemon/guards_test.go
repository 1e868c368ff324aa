package daemon

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/rules"
	"github.com/pexia-network/pexia/wallet/dir"
)

// TestGuards: the first hop of every circuit of
// two hops or more (the connection's, a 3-hop profile's, after a
// reconnect, after a restart of the daemon) is the guard shown in status,
// kept in the state directory; when the guard dies the next circuit goes
// through a new guard, and the dead one's failure is counted.
func TestGuards(t *testing.T) {
	w := newWorld(t, 3, 1)
	fastTicks(t, 5*time.Millisecond)
	cfg := w.config()
	d := w.daemon(cfg)
	src := testutil.Source(t, "127.0.0.1:0")
	if _, err := d.rules.Update(func(s *rules.Set) error {
		s.Profiles = []rules.Profile{{Name: "long", Hops: 3}}
		s.Rules = []rules.Rule{{Match: rules.Match{Dst: []string{src.AddrPort().Addr().String() + "/32"}}, Target: rules.Target{Action: rules.Tunnel, Profile: "long"}}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	firstHops := func(d *Daemon) (guards []string, first map[string]string) {
		t.Helper()
		st, err := d.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		first = map[string]string{}
		for _, c := range st.Circuits {
			first[c.Profile] = c.Hops[0].Address
		}
		for _, g := range st.Guards {
			guards = append(guards, g.Address)
		}
		return guards, first
	}
	useLong := func(d *Daemon) {
		t.Helper()
		st, _ := d.Status(ctx)
		socks := socksURL(t, st)
		c, err := socks5Dial(socks.Host, src.Addr, socks.User)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Minute))
		if _, err := testutil.Download(c, 64<<10); err != nil {
			t.Fatal(err)
		}
	}

	connect(t, d, 2)
	waitState(t, d, api.StateConnected)
	useLong(d)
	guards, first := firstHops(d)
	if len(guards) != 1 || len(first) != 2 {
		t.Fatalf("guards %v, circuits %v; want one guard and two circuits", guards, first)
	}
	guard := guards[0]
	for p, a := range first {
		if a != guard {
			t.Fatalf("%s circuit enters at %s, not the guard %s", p, a, guard)
		}
	}

	// A new connection, then a new daemon on the same state: same guard.
	connect(t, d, 3)
	waitState(t, d, api.StateConnected)
	if _, first := firstHops(d); first["default-3"] != guard {
		t.Fatalf("after reconnecting the circuit enters at %s, not the guard %s", first["default-3"], guard)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = w.daemon(cfg)
	connect(t, d, 2)
	waitState(t, d, api.StateConnected)
	if guards, first := firstHops(d); len(guards) != 1 || guards[0] != guard || first["default-2"] != guard {
		t.Fatalf("after a restart: guards %v, circuit enters at %s; want the guard %s", guards, first["default-2"], guard)
	}

	// The guard dies: the circuit is rebuilt through a new guard, and the
	// old one's failure is counted (it is kept until it fails again).
	for _, n := range w.nodes {
		if n.entry.Address == common.HexToAddress(guard) {
			n.Close()
		}
	}
	var st api.Status
	testutil.WaitFor(t, "a circuit through a new guard", time.Minute, func() bool {
		st, _ = d.Status(ctx)
		return st.State == api.StateConnected && len(st.Circuits) > 0 && st.Circuits[0].Hops[0].Address != guard
	})
	newGuard := st.Circuits[0].Hops[0].Address
	var failed, added bool
	for _, g := range st.Guards {
		failed = failed || g.Address == guard && g.Failures >= 1
		added = added || g.Address == newGuard
	}
	if !failed || !added {
		t.Fatalf("guards after the first one died: %+v; want it with a failure and %s added", st.Guards, newGuard)
	}
}

// TestGuardSetUpkeep: a guard that failed guardMaxFailures times in a row
// is replaced, one that expired too; a built circuit clears the count; the
// set survives a reopen.
func TestGuardSetUpkeep(t *testing.T) {
	path := filepath.Join(t.TempDir(), "guards.json")
	g := openGuards(path, t.Logf)
	var l nodeList
	for i := range 4 {
		a := common.BigToAddress(common.Big1)
		a[0] = byte(i + 1)
		l = append(l, dir.Node{Address: a, Staker: a, Roles: dir.RoleRelay, Country: "DE"})
	}
	ctx := context.Background()
	f := dir.Filter{Role: dir.RoleRelay}
	set := g.tend(ctx, "n", l, f, nil, 2)
	if len(set) != 2 || set[0].Address != l[0].Address || set[1].Address != l[1].Address {
		t.Fatalf("first draw: %+v", set)
	}
	for range guardMaxFailures - 1 {
		g.result("n", l[0].Address, false)
	}
	g.result("n", l[0].Address, true) // cleared
	for range guardMaxFailures - 1 {
		g.result("n", l[0].Address, false)
	}
	if set := g.tend(ctx, "n", l, f, nil, 2); len(set) != 2 || set[0].Address != l[0].Address {
		t.Fatalf("a guard with %d failures in a row was dropped: %+v", guardMaxFailures-1, set)
	}
	g.result("n", l[0].Address, false)
	set = g.tend(ctx, "n", l, f, nil, 2)
	if len(set) != 2 || set[0].Address != l[1].Address || set[1].Address != l[2].Address {
		t.Fatalf("after %d failures in a row: %+v; want guard 0 replaced by node 2", guardMaxFailures, set)
	}
	// Expired: replaced at the next upkeep, on disk too.
	g.mu.Lock()
	g.file.Networks["n"][0].Expires = time.Now().Add(-time.Second)
	g.mu.Unlock()
	g.tend(ctx, "n", l, f, nil, 2)
	g2 := openGuards(path, t.Logf)
	set = g2.list("n")
	if len(set) != 2 || set[0].Address != l[2].Address || set[1].Address != l[0].Address {
		t.Fatalf("reopened after the expiry: %+v", set)
	}
	if life := set[0].Expires.Sub(set[0].Added); life < guardLifetime || life > 2*guardLifetime {
		t.Fatalf("a guard kept for %v", life)
	}
	if other := g2.list("other"); len(other) != 0 {
		t.Fatalf("another network shares the guards: %+v", other)
	}
}
