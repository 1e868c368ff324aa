package api_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/api/apitest"
)

// directBackend hands the server an unbuffered channel, so every send by
// the test (the daemon) waits until the server takes the event: it shows
// whether the server ever makes the daemon wait.
type directBackend struct {
	*apitest.Backend
	ch        chan api.Event
	cancelled chan struct{}
	once      sync.Once
}

func newDirectBackend() *directBackend {
	return &directBackend{Backend: apitest.NewBackend(), ch: make(chan api.Event), cancelled: make(chan struct{})}
}

func (b *directBackend) Subscribe() (<-chan api.Event, func()) {
	return b.ch, func() { b.once.Do(func() { close(b.cancelled) }) }
}

func logEvent(msg string) api.Event {
	return api.Event{Type: api.EventLog, Time: time.Now(), Log: &api.LogLine{Level: "info", Message: msg}}
}

func TestEventOrder(t *testing.T) {
	b := newDirectBackend()
	t.Cleanup(b.Close)
	path := apitest.Serve(t, b, api.ServerConfig{EventBuffer: 1024, Logf: t.Logf})
	c := api.NewClient(path)
	defer c.Close()
	events, err := c.Events(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	first := <-events
	if first.Type != api.EventState || first.State == nil || first.State.State != api.StateDisconnected || first.Time.IsZero() {
		t.Fatalf("first event = %+v, want the current state", first)
	}
	const n = 500
	go func() {
		for i := range n {
			if i == 10 {
				// A state event older than the snapshot is superseded by it.
				b.ch <- api.Event{Type: api.EventState, Time: first.Time.Add(-time.Second), State: &api.Status{State: api.StateError}}
			}
			b.ch <- logEvent(strconv.Itoa(i))
		}
		b.ch <- api.Event{Type: api.EventThroughput, Throughput: &api.Throughput{RateDown: 42}} // no time: the server stamps it
		close(b.ch)
	}()
	i := 0
	var last api.Event
	for ev := range events {
		if i < n {
			if ev.Type != api.EventLog || ev.Log.Message != strconv.Itoa(i) {
				t.Fatalf("event %d = %+v, want log %d", i, ev, i)
			}
		}
		last = ev
		i++
	}
	if i != n+1 {
		t.Fatalf("got %d events after the state, want %d", i, n+1)
	}
	if last.Type != api.EventThroughput || last.Throughput.RateDown != 42 || last.Time.Before(first.Time) {
		t.Fatalf("last event = %+v, want the throughput event stamped by the server", last)
	}
}

// TestSlowReaderDropped: a client that stops reading is disconnected, and
// meanwhile the daemon's sends never wait on it. Either limit drops it:
// the queue (events arrive steadily, the writes are stuck on the full
// socket) or the write timeout (rare big events).
func TestSlowReaderDropped(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     api.ServerConfig
		size    int           // bytes per event
		every   time.Duration // between sends
		wantLog string
	}{
		{"queue full", api.ServerConfig{EventBuffer: 8, EventWriteTimeout: time.Minute}, 4 << 10, time.Millisecond, "event stream dropped: client fell behind"},
		{"write timeout", api.ServerConfig{EventBuffer: 1 << 20, EventWriteTimeout: 200 * time.Millisecond}, 64 << 10, time.Millisecond, "i/o timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newDirectBackend()
			t.Cleanup(b.Close)
			var logMu sync.Mutex
			var logs []string
			tc.cfg.Logf = func(f string, a ...any) {
				logMu.Lock()
				defer logMu.Unlock()
				logs = append(logs, fmt.Sprintf(f, a...))
			}
			path := apitest.Serve(t, b, tc.cfg)
			conn, err := net.Dial("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, "GET /v1/events HTTP/1.1\r\nHost: pexiad\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			for { // headers, then the first chunk holding the state event
				line, err := br.ReadString('\n')
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(line, `"type":"state"`) {
					break
				}
			}
			// Stop reading and keep sending until the server gives up.
			payload := strings.Repeat("x", tc.size)
			var sent int
			var slowest time.Duration
			t0 := time.Now()
			deadline := time.After(10 * time.Second)
		loop:
			for {
				if tc.every > 0 {
					time.Sleep(tc.every)
				}
				ts := time.Now()
				select {
				case b.ch <- logEvent(payload):
					sent++
					slowest = max(slowest, time.Since(ts))
				case <-b.cancelled:
					break loop
				case <-deadline:
					t.Fatalf("stream not dropped after %d events", sent)
				}
			}
			t.Logf("dropped after %d events of %d KiB in %v; slowest send took %v", sent, tc.size>>10, time.Since(t0).Round(time.Millisecond), slowest)
			// A server waiting on the client would hold a send for the
			// whole write timeout; allow for a loaded machine's scheduling.
			if slowest > time.Second {
				t.Errorf("a send waited %v for the slow reader", slowest)
			}
			if sent*tc.size < 64<<10 {
				t.Errorf("dropped after only %d bytes: before the socket could have filled", sent*tc.size)
			}
			// The client reads what was buffered, then finds the connection
			// closed without the stream's terminating chunk.
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			got := 0
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						t.Fatal("connection still open after the stream was dropped")
					}
					break
				}
				if strings.Contains(line, `"type":"log"`) {
					got++
				}
				if line == "0\r\n" {
					t.Fatal("stream ended cleanly; want it cut off")
				}
			}
			if got >= sent {
				t.Fatalf("slow reader received all %d events", sent)
			}
			logMu.Lock()
			defer logMu.Unlock()
			if !strings.Contains(strings.Join(logs, "\n"), tc.wantLog) {
				t.Errorf("server log lacks %q: %q", tc.wantLog, logs)
			}
		})
	}
}

// TestSlowReaderClient: the typed client sees its channel closed when the
// server drops it, and a new stream starts again with the state.
func TestSlowReaderClient(t *testing.T) {
	b := newDirectBackend()
	t.Cleanup(b.Close)
	path := apitest.Serve(t, b, api.ServerConfig{EventBuffer: 4})
	c := api.NewClient(path)
	defer c.Close()
	ctx := testCtx(t)
	events, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	<-events
	payload := strings.Repeat("y", 8192)
	for done := false; !done; {
		select {
		case b.ch <- logEvent(payload):
		case <-b.cancelled:
			done = true
		case <-ctx.Done():
			t.Fatal("stream not dropped")
		}
	}
	n := 0
	for range events {
		n++
	}
	t.Logf("client drained %d events before its channel closed", n)
}

func TestFeed(t *testing.T) {
	f := api.NewFeed(2)
	fast, cancelFast := f.Subscribe()
	slow, cancelSlow := f.Subscribe()
	defer cancelSlow()
	for i := range 3 {
		f.Publish(logEvent(strconv.Itoa(i)))
		<-fast // the fast subscriber keeps up
	}
	// slow had room for 2: the third publish dropped it.
	var got []string
	for ev := range slow {
		got = append(got, ev.Log.Message)
	}
	if strings.Join(got, ",") != "0,1" {
		t.Fatalf("slow subscriber got %v before being dropped, want 0,1", got)
	}
	if f.Subscribers() != 1 {
		t.Fatalf("Subscribers = %d, want 1", f.Subscribers())
	}
	cancelFast()
	cancelFast() // harmless twice
	if _, ok := <-fast; ok {
		t.Fatal("cancelled channel still open")
	}
	f.Close()
	late, _ := f.Subscribe()
	if _, ok := <-late; ok {
		t.Fatal("subscription after Close is open")
	}
	f.Publish(logEvent("after close")) // must not panic
}
