package stream

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// queuedOut sums what the datagram queues of m hold for sending, in bytes
// with the per-datagram overhead, and the largest single queue.
func queuedOut(m *Mux) (total, largest int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.streams {
		n := 0
		for _, d := range s.dgOut.buf[s.dgOut.head:] {
			n += len(d) + datagramOverhead
		}
		total += n
		largest = max(largest, n)
	}
	return total, largest
}

// TestDatagramQueuesBoundedInBytes: many flows that each write far more
// than a slow circuit carries hold a few MiB at most, whatever the size of
// their datagrams, and a flow that writes little still gets through.
func TestDatagramQueuesBoundedInBytes(t *testing.T) {
	p := newPair(t, Config{}, Config{}, pipeOpts{rate: 200_000})
	got := make(chan []byte, 16)
	p.serve(func(r *Request) {
		s := accept(r)
		if r.Address != "10.0.0.2:9" {
			return // flood flows: never read
		}
		buf := make([]byte, 8000)
		for {
			n, err := s.Read(buf)
			if err != nil {
				return
			}
			got <- append([]byte(nil), buf[:n]...)
		}
	})
	const flows, each = 64, 300
	big := make([]byte, p.client.MaxDatagram())
	var floods []*Stream
	for range flows {
		floods = append(floods, dial(t, p.client, "udp", "10.0.0.1:9"))
	}
	modest := dial(t, p.client, "udp", "10.0.0.2:9")
	for _, f := range floods {
		for range each {
			if _, err := f.Write(big); err != nil {
				t.Fatal(err)
			}
		}
	}
	total, largest := queuedOut(p.client)
	t.Logf("%d flows wrote %d datagrams of %d bytes: %d bytes queued, %d in the largest queue",
		flows, flows*each, len(big), total, largest)
	const bound = 4 << 20
	if total > bound {
		t.Errorf("%d bytes of datagrams queued on one circuit, want at most %d", total, bound)
	}
	// The circuit is full of the floods' datagrams; a flow that sends one
	// now is not the one that pays for them.
	msg := []byte("modest")
	if _, err := modest.Write(msg); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-got:
		if !bytes.Equal(d, msg) {
			t.Fatalf("modest flow received %q", d)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the modest flow's datagram never arrived")
	}
	_ = context.Background
}
