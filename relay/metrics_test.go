package relay_test

import (
	"context"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/relay"
)

// statsNodes starts a relay and an exit, each counting into its own stats.
func statsNodes(t *testing.T, cfg relay.NodeConfig) (mid, exit *hoptest.Node, rs, es *relay.NodeStats) {
	t.Helper()
	rs, es = new(relay.NodeStats), new(relay.NodeStats)
	rcfg, ecfg := cfg, cfg
	rcfg.Stats, ecfg.Stats = rs, es
	return hoptest.StartRelay(t, rcfg), hoptest.StartExit(t, ecfg), rs, es
}

// TestNodeStats: traffic through a real two-hop circuit shows in each
// node's counters, and the circuit is counted out when it ends.
func TestNodeStats(t *testing.T) {
	dst := testutil.Transfer(t, "127.0.0.1:0").Addr
	mid, exit, rs, es := statsNodes(t, relay.NodeConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := hop.Build(ctx, []hop.HopInfo{mid.Info, exit.Info}, hop.BuildConfig{})
	if err != nil {
		t.Fatal(err)
	}
	const size = 1 << 20
	if err := transfer(ctx, c, dst, size); err != nil {
		t.Fatal(err)
	}

	r := rs.Snapshot()
	if r.CircuitsCreated != 1 || r.CircuitsTotal[relay.RoleRelay] != 1 || r.CircuitsActive[relay.RoleRelay] != 1 || r.CircuitsActive[relay.RolePending] != 0 {
		t.Errorf("relay circuits: created %d, total %v, active %v", r.CircuitsCreated, r.CircuitsTotal, r.CircuitsActive)
	}
	if r.BytesIn < 2*size || r.BytesOut < 2*size {
		t.Errorf("relay bytes in %d out %d, want at least %d each", r.BytesIn, r.BytesOut, 2*size)
	}
	if h := r.Handshakes[relay.HandshakeCreate]; h.Count != 1 || h.Sum <= 0 || len(h.Counts) != len(h.Bounds)+1 {
		t.Errorf("relay create handshakes %+v", h)
	}
	if h := r.Handshakes[relay.HandshakeExtend]; h.Count != 1 || h.Sum <= 0 {
		t.Errorf("relay extend handshakes %+v", h)
	}
	if r.LinksActive != 2 || r.LinksTotal != 2 {
		t.Errorf("relay links active %d total %d, want 2 (from the client, to the exit)", r.LinksActive, r.LinksTotal)
	}
	if r.StreamsTotal != 0 {
		t.Errorf("relay served %d streams", r.StreamsTotal)
	}

	e := es.Snapshot()
	if e.CircuitsCreated != 1 || e.CircuitsTotal[relay.RoleExit] != 1 || e.CircuitsActive[relay.RoleExit] != 1 {
		t.Errorf("exit circuits: created %d, total %v, active %v", e.CircuitsCreated, e.CircuitsTotal, e.CircuitsActive)
	}
	if e.StreamsTotal != 1 || e.BytesIn < size || e.BytesOut < size || e.LinksActive != 1 {
		t.Errorf("exit: streams %d, bytes in %d out %d, links %d", e.StreamsTotal, e.BytesIn, e.BytesOut, e.LinksActive)
	}
	if e.Handshakes[relay.HandshakeExtend].Count != 0 {
		t.Error("the exit counted an extend")
	}
	testutil.WaitFor(t, "exit stream closed", 5*time.Second, func() bool { return es.Snapshot().StreamsActive == 0 })

	c.Close()
	for name, s := range map[string]*relay.NodeStats{"relay": rs, "exit": es} {
		testutil.WaitFor(t, name+" circuit counted out", 5*time.Second, func() bool {
			snap := s.Snapshot()
			return snap.CircuitsActive[relay.RoleRelay]+snap.CircuitsActive[relay.RoleExit] == 0 && snap.CircuitsDestroyed[relay.CausePeerClosed] == 1
		})
	}
	if m := rs.Snapshot().CellsMalformed + es.Snapshot().CellsMalformed; m != 0 {
		t.Errorf("%d malformed cells on a clean circuit", m)
	}
}

// TestNodeLimits: a node refuses CREATE beyond MaxCircuits, and a channel
// whose first cell is not CREATE, and counts both.
func TestNodeLimits(t *testing.T) {
	stats := new(relay.NodeStats)
	exit := hoptest.StartExit(t, relay.NodeConfig{MaxCircuits: 1, Stats: stats})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hoptest.Build(t, ctx, []hop.HopInfo{exit.Info}, hop.BuildConfig{})
	if c2, err := hop.Build(ctx, []hop.HopInfo{exit.Info}, hop.BuildConfig{}); err == nil {
		c2.Close()
		t.Fatal("second circuit built past MaxCircuits 1")
	}
	if got := stats.Snapshot().CircuitsRefused[relay.RefuseLimit]; got != 1 {
		t.Errorf("%d CREATEs refused for the limit, want 1", got)
	}

	lk, err := link.Dial(ctx, exit.Info.URL, exit.Info.Pin, link.DialConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	ch, err := lk.Open(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	ch.Write(make([]byte, 512)) // a PADDING cell
	testutil.WaitFor(t, "bad first cell counted", 5*time.Second, func() bool { return stats.Snapshot().CircuitsRefused[relay.RefuseHandshake] == 1 })
}
