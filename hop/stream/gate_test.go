package stream

import (
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/testutil"
)

// TestGateHoldsDataNotControl: while the circuit's send window is closed
// (Config.Gate), the client's stream data waits, but its control frames
// do not: a stream opens, and a download four times the stream window
// completes because the client's credit (WINDOW) keeps going out. Once the
// gate opens, the data held back follows.
func TestGateHoldsDataNotControl(t *testing.T) {
	var open atomic.Bool
	wake := make(chan struct{}, 1)
	gate := func() <-chan struct{} {
		if open.Load() {
			return nil
		}
		return wake
	}
	p := newPair(t, Config{Gate: gate}, Config{}, pipeOpts{})
	const down = 4 * DefaultStreamWindow
	got := make(chan string, 1)
	p.serve(func(r *Request) {
		c := accept(r)
		if c == nil {
			return
		}
		defer c.Close()
		go c.Write(make([]byte, down))
		b, _ := io.ReadAll(c)
		got <- string(b)
	})
	c := dial(t, p.client, "tcp", "gate.test:80") // OPEN passes the closed gate
	defer c.Close()
	if _, err := io.ReadFull(c, make([]byte, down)); err != nil {
		t.Fatalf("download of %d bytes with the client's gate closed: %v", down, err)
	}
	go func() {
		c.Write([]byte("held"))
		c.CloseWrite()
	}()
	testutil.WaitFor(t, "the write to wait at the gate", 5*time.Second, func() bool {
		p.client.mu.Lock()
		defer p.client.mu.Unlock()
		return len(c.wbuf) > 0
	})
	select {
	case b := <-got:
		t.Fatalf("%q passed a closed gate", b)
	default:
	}
	open.Store(true)
	wake <- struct{}{}
	select {
	case b := <-got:
		if b != "held" {
			t.Fatalf("server read %q, want %q", b, "held")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("data held at the gate did not follow once it opened")
	}
}

// TestStaleDatagramsDropped: datagrams that waited longer than
// MaxDatagramAge behind others of their flow (the circuit's window was
// closed) are dropped and counted when the flow's turn comes, except the
// newest; a flow's only datagram is kept whatever its age.
func TestStaleDatagramsDropped(t *testing.T) {
	var open atomic.Bool
	wake := make(chan struct{}, 1)
	gate := func() <-chan struct{} {
		if open.Load() {
			return nil
		}
		return wake
	}
	p := newPair(t, Config{Gate: gate}, Config{}, pipeOpts{})
	got := make(chan []byte, 16)
	p.serve(func(r *Request) {
		c := accept(r)
		if c == nil {
			return
		}
		defer c.Close()
		for {
			b := make([]byte, 100)
			n, err := c.Read(b)
			if err != nil {
				return
			}
			got <- b[:n]
		}
	})
	flood := dial(t, p.client, "udp", "flood.test:9")
	lone := dial(t, p.client, "udp", "lone.test:9")
	for _, d := range []string{"old1", "old2", "new"} {
		if d == "new" {
			start := time.Now()
			testutil.WaitFor(t, "the first datagrams to age", 5*time.Second, func() bool { return time.Since(start) > MaxDatagramAge })
		}
		flood.Write([]byte(d))
	}
	lone.Write([]byte("lone"))
	start := time.Now()
	testutil.WaitFor(t, "the lone datagram to age", 5*time.Second, func() bool { return time.Since(start) > MaxDatagramAge })
	open.Store(true)
	wake <- struct{}{}
	seen := map[string]bool{}
	for len(seen) < 2 {
		select {
		case b := <-got:
			seen[string(b)] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("datagrams delivered: %v; want new and lone", seen)
		}
	}
	if !seen["new"] || !seen["lone"] {
		t.Fatalf("datagrams delivered: %v; want new and lone (old1 and old2 dropped for their age)", seen)
	}
	if d := flood.FlowStats().DroppedOut; d != 2 {
		t.Fatalf("flood flow counted %d drops, want the 2 stale datagrams", d)
	}
}
