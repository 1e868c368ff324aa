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
