package netstack

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/testutil"
)

// TestIdleFlowsHoldOneGoroutine opens TCP flows, passes a message each
// way on every one, and leaves them open: an idle flow keeps only the
// goroutine waiting for its upstream. Its app side needs none, since the
// stack wakes the flow when the app sends again; a burst of flows (a
// browser's keep-alive connections) then costs one goroutine stack each
// instead of two.
func TestIdleFlowsHoldOneGoroutine(t *testing.T) {
	e := newEnv(t, 1500, Config{})
	const n = 40
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c := e.mustDial(t, "tcp", netip.AddrPortFrom(dst4, portEcho))
		conns = append(conns, c)
		if err := testutil.RoundTrip(c, "hello"); err != nil {
			t.Fatal(err)
		}
	}
	flowGoroutines := func() int { return testutil.Running("netstack.(*tcpFlow)") }
	if err := testutil.Until("idle flows to hold one goroutine each", 10*time.Second, func() bool {
		return flowGoroutines() <= n
	}); err != nil {
		t.Fatalf("%d idle flows hold %d goroutines, want at most %d", n, flowGoroutines(), n)
	}
	// Idle flows still carry data both ways, in order, at once.
	for i, c := range conns {
		for _, msg := range []string{"again", "and again"} {
			if err := testutil.RoundTrip(c, msg); err != nil {
				t.Fatalf("flow %d: %v", i, err)
			}
		}
	}
}
