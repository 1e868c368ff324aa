package relay_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/relay"
)

// countingListener is a plain TCP listener on loopback that counts the
// connections it is offered.
func countingListener(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	return ln.Addr().String(), &n
}

// TestExtendOnlyToRegistered: a relay extends a circuit only to a node
// whose registry entry has the URL and TLS pin the EXTEND names. Anything
// else (an unregistered address, a registered node's address with another
// URL or pin) is refused with reason "unregistered", and nothing is
// dialled: the plain listener behind the URL never sees a connection.
func TestExtendOnlyToRegistered(t *testing.T) {
	target, dialled := countingListener(t)
	mid := hoptest.StartRelay(t, relay.NodeConfig{})
	exit := hoptest.StartExit(t, relay.NodeConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	stranger := exit.Info
	rand.Read(stranger.Address[:])
	stranger.URL = "https://" + target + "/"
	otherURL := exit.Info
	otherURL.URL = "https://" + target + "/"
	otherPin := exit.Info
	otherPin.Pin[0] ^= 1
	for _, tc := range []struct {
		name string
		next hop.HopInfo
	}{
		{"unregistered node on loopback", stranger},
		{"registered node, another URL", otherURL},
		{"registered node, another pin", otherPin},
	} {
		c, err := hop.Build(ctx, []hop.HopInfo{mid.Info, tc.next}, hop.BuildConfig{})
		if err == nil {
			c.Close()
			t.Errorf("%s: circuit built", tc.name)
			continue
		}
		var te *hop.TruncatedError
		if !errors.As(err, &te) || te.Reason.String() != "unregistered" || te.Hop != 0 {
			t.Errorf("%s: got %v, want refused by hop 0 as unregistered", tc.name, err)
		}
		if !strings.Contains(err.Error(), "unregistered") {
			t.Errorf("%s: error %q does not say why", tc.name, err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if n := dialled.Load(); n != 0 {
		t.Errorf("the relay dialled the unregistered target %d times", n)
	}
	// The registered exit is reached through the same relay.
	c, err := hop.Build(ctx, []hop.HopInfo{mid.Info, exit.Info}, hop.BuildConfig{})
	if err != nil {
		t.Fatalf("registered exit: %v", err)
	}
	c.Close()
}

// TestOutLinksBounded: a relay keeps at most MaxOutLinks links to next
// hops; when all carry circuits a further EXTEND is refused (resource),
// an idle one is closed to make room, and a link whose circuits have all
// ended is closed after OutLinkIdle.
func TestOutLinksBounded(t *testing.T) {
	const idle = time.Second
	mid := hoptest.StartRelay(t, relay.NodeConfig{MaxOutLinks: 2, OutLinkIdle: idle})
	var exits []*hoptest.Node
	for i := 0; i < 3; i++ {
		exits = append(exits, hoptest.StartExit(t, relay.NodeConfig{}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	build := func(e *hoptest.Node) (*hop.Circuit, error) {
		return hop.Build(ctx, []hop.HopInfo{mid.Info, e.Info}, hop.BuildConfig{})
	}
	c0, err := build(exits[0])
	if err != nil {
		t.Fatal(err)
	}
	c1, err := build(exits[1])
	if err != nil {
		t.Fatal(err)
	}
	// A second circuit to exit 0 reuses its link.
	c0b, err := build(exits[0])
	if err != nil {
		t.Fatal(err)
	}
	if n := len(exits[0].Links()); n != 1 {
		t.Errorf("exit 0 has %d links from the relay, want 1 (reused)", n)
	}
	// Both links carry circuits: no room for a third.
	if c, err := build(exits[2]); err == nil {
		c.Close()
		t.Error("a third outgoing link was opened past MaxOutLinks 2")
	} else if te := (*hop.TruncatedError)(nil); !errors.As(err, &te) || te.Reason.String() != "resource" {
		t.Errorf("third link: got %v, want refused for resources", err)
	}
	// Once exit 1's circuit ends its link is idle and makes room.
	c1.Close()
	c2, err := build(exits[2])
	if err != nil {
		t.Fatalf("with an idle link to evict: %v", err)
	}
	waitLinkClosed(t, exits[1], 5*time.Second)
	for _, lk := range exits[0].Links() {
		if lk.Err() != nil {
			t.Errorf("the busy link to exit 0 was closed: %v", lk.Err())
		}
	}
	// Circuits end; their links close after the idle time.
	c0.Close()
	c0b.Close()
	c2.Close()
	start := time.Now()
	waitLinkClosed(t, exits[0], idle+5*time.Second)
	waitLinkClosed(t, exits[2], idle+5*time.Second)
	if d := time.Since(start); d < idle/2 {
		t.Errorf("idle links closed after %v, before the idle time %v", d, idle)
	}
}

// waitLinkClosed waits until every link peers opened to n has ended.
func waitLinkClosed(t *testing.T, n *hoptest.Node, limit time.Duration) {
	t.Helper()
	testutil.WaitFor(t, "the relay's link to "+n.Info.URL+" closed", limit, func() bool {
		for _, lk := range n.Links() {
			if lk.Err() == nil {
				return false
			}
		}
		return true
	})
}
