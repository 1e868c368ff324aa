package relay_test

import (
	"context"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/internal/testutil"
)

// nodeStarted are the creators of the goroutines that serve circuits at a
// node: Close must have joined every one of them when it returns.
var nodeStarted = []string{
	"github.com/pexia-network/pexia/relay.(*Node)",
	"github.com/pexia-network/pexia/relay.(*circuit)",
	"github.com/pexia-network/pexia/relay.splice",
}

// circuitPkgs are the packages of both sides of circuits.
var circuitPkgs = []string{
	"github.com/pexia-network/pexia/hop.",
	"github.com/pexia-network/pexia/hop/",
	"github.com/pexia-network/pexia/relay.",
}

// TestNodeCloseJoinsGoroutines builds two real 3-hop circuits (WebRTC
// links on loopback), one padded from the exit back, with a stream echoing
// and a stream held open by a destination that never speaks, and closes
// the nodes under them: when Node.Close returns, no goroutine the node
// started to serve links, circuits, streams or outgoing links still runs,
// and once the client's side is closed too, none of the circuit packages' is
// left.
func TestNodeCloseJoinsGoroutines(t *testing.T) {
	before := len(testutil.CreatedBy(circuitPkgs...))
	echo := testutil.EchoTCP(t, "127.0.0.1:0").Addr
	silent := testutil.Silent(t, "127.0.0.1:0").Addr
	nodes, infos, err := hoptest.Circuit(3)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, n := range nodes {
			n.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	padded, err := hop.Build(ctx, infos, hop.BuildConfig{PaddingRate: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer padded.Close()
	plain, err := hop.Build(ctx, infos, hop.BuildConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	for _, c := range []*hop.Circuit{padded, plain} {
		conn, err := c.Dial(ctx, "tcp", echo)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := testutil.RoundTrip(conn, "carried"); err != nil {
			t.Fatal(err)
		}
		quiet, err := c.Dial(ctx, "tcp", silent)
		if err != nil {
			t.Fatal(err)
		}
		defer quiet.Close()
	}
	if n := len(testutil.CreatedBy(nodeStarted...)); n == 0 {
		t.Fatal("no goroutine of the nodes serves the circuits; the check below would prove nothing")
	}

	for i, n := range nodes {
		n.Close()
		if i < len(nodes)-1 {
			continue
		}
		// A goroutine Close joined through a WaitGroup may still be
		// returning from its deferred Done when Close returns; it is gone
		// within moments, while one Close did not join stays blocked.
		var gs []string
		_ = testutil.Until("the joined goroutines to return", 250*time.Millisecond, func() bool {
			gs = testutil.CreatedBy(nodeStarted...)
			return len(gs) == 0
		})
		if len(gs) > 0 {
			t.Fatalf("%d goroutines the nodes started still run after Close returned; the first:\n%s", len(gs), gs[0])
		}
	}
	padded.Close()
	plain.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		gs := testutil.CreatedBy(circuitPkgs...)
		if len(gs) <= before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines of the circuit packages left 10 s after closing every node and circuit (%d before); the first:\n%s", len(gs), before, gs[0])
		}
		time.Sleep(50 * time.Millisecond)
	}
}
