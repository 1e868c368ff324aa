package netstack

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/testutil"
)

// stalledConn is a flow's upstream that takes no datagram until released, as
// a flow whose copying goroutine gets no CPU for a while, and records the
// drops the stack reports for the flow.
type stalledConn struct {
	net.Conn
	release chan struct{}
	once    sync.Once
	written atomic.Uint64
	dropped atomic.Uint64
}

func (c *stalledConn) Write(p []byte) (int, error) {
	<-c.release
	c.written.Add(1)
	return len(p), nil
}

func (c *stalledConn) CountDropped(n uint64) { c.dropped.Add(n) }

func (c *stalledConn) Close() error {
	c.once.Do(func() { close(c.release) })
	return c.Conn.Close()
}

// TestUDPDropsBeforeTheFlowCounted: while a UDP flow's copying goroutine
// is held up, the app's datagrams wait in the stack, and those beyond
// what it holds for the flow are dropped there; every one of them is
// reported to the flow's upstream (CountDropped), which shows them in
// status, so that the app's datagrams are all either taken or counted.
// The stack holds 200 ms of a 20 Mbit/s flow.
func TestUDPDropsBeforeTheFlowCounted(t *testing.T) {
	held := &stalledConn{release: make(chan struct{})}
	e := newEnv(t, 1500, Config{})
	e.h.mu.Lock()
	e.h.dialUDP = func(f Flow) (net.Conn, error) {
		c, err := net.Dial("udp", "127.0.0.1:9")
		if err != nil {
			return nil, err
		}
		held.Conn = c
		return held, nil
	}
	e.h.mu.Unlock()
	app := e.mustDial(t, "udp", netip.AddrPortFrom(dst4, portHeld))
	const burst, n, size = 50, 1000, 1200
	in0 := e.s.Stats().PacketsIn
	for sent := 0; sent < n; {
		for range burst {
			if _, err := app.Write(make([]byte, size)); err != nil {
				t.Fatal(err)
			}
			sent++
		}
		// The stack read the burst from the TUN before the next one, so
		// the device's queue never overflows.
		testutil.WaitFor(t, "the stack to read the burst", 10*time.Second, func() bool { return e.s.Stats().PacketsIn-in0 >= uint64(sent) })
	}
	held.once.Do(func() { close(held.release) })
	// The flow takes what the stack held; what it dropped is counted by
	// then. On failure the counts below say what is missing.
	testutil.Until("every datagram taken or counted as dropped", 5*time.Second, func() bool {
		return held.written.Load()+held.dropped.Load() >= n
	})
	w, d := held.written.Load(), held.dropped.Load()
	t.Logf("%d datagrams of %d bytes: %d taken, %d dropped before the flow", n, size, w, d)
	if w+d != n {
		t.Fatalf("the app sent %d datagrams; the flow took %d and was told of %d dropped before it: %d unaccounted for", n, w, d, int(n)-int(w+d))
	}
	if min := uint64(200 * 20 / 8 * 1000 / size); w < min {
		t.Fatalf("the stack held %d datagrams of %d bytes for the flow, want at least %d (200 ms at 20 Mbit/s)", w, size, min)
	}
}
