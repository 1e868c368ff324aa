package stream

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

func datagramOf(flow, seq, n int) []byte {
	d := bytes.Repeat([]byte{byte(flow)}, n)
	copy(d, fmt.Sprintf("%d/%d/", flow, seq))
	return d
}

// TestPackedDatagrams: N datagrams of 1,200 bytes queued together on one
// flow leave in about N/3 frames (cells), not N, and arrive whole, in
// order; datagrams of several flows queued together share frames while
// each flow keeps one frame's worth per turn; and a lone datagram leaves
// at once in a frame of its own.
func TestPackedDatagrams(t *testing.T) {
	for _, tc := range []struct {
		name        string
		flows, each int
		maxFrames   int64
	}{
		// 3 datagrams of 1,200 bytes fit a 4,000-byte frame.
		{"one flow", 1, 30, 10},
		// 60 datagrams in ten flows: 20 frames when full.
		{"ten flows", 10, 6, 21},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var open atomic.Bool
			wake := make(chan struct{}, 1)
			gate := func() <-chan struct{} {
				if open.Load() {
					return nil
				}
				return wake
			}
			p := newPair(t, Config{Gate: gate, PackDatagrams: true}, Config{PackDatagrams: true}, pipeOpts{})
			got := make(chan []byte, 1024)
			p.serve(func(r *Request) {
				c := accept(r)
				if c == nil {
					return
				}
				defer c.Close()
				for {
					b := make([]byte, 2000)
					n, err := c.Read(b)
					if err != nil {
						return
					}
					got <- b[:n]
				}
			})
			var flows []*Stream
			for f := range tc.flows {
				s, err := p.client.DialStream(t.Context(), "udp", fmt.Sprintf("flow%d.test:9", f))
				if err != nil {
					t.Fatal(err)
				}
				flows = append(flows, s)
			}
			// Frames the server took before the datagrams: the OPENs.
			base := p.server.Stats().FramesReceived
			frames := func() int64 { return int64(p.server.Stats().FramesReceived - base) }
			for i := range tc.each {
				for f, s := range flows {
					if _, err := s.Write(datagramOf(f, i, 1200)); err != nil {
						t.Fatal(err)
					}
				}
			}
			open.Store(true)
			wake <- struct{}{}
			next := make([]int, tc.flows)
			for range tc.flows * tc.each {
				select {
				case b := <-got:
					f := int(b[len(b)-1])
					if want := datagramOf(f, next[f], 1200); !bytes.Equal(b, want) {
						t.Fatalf("flow %d: got datagram %.12q..., want %.12q...", f, b, want)
					}
					next[f]++
				case <-time.After(10 * time.Second):
					t.Fatalf("datagrams received per flow: %v, want %d each", next, tc.each)
				}
			}
			n := int64(tc.flows * tc.each)
			if f := frames(); f > tc.maxFrames {
				t.Fatalf("%d datagrams of 1200 bytes queued together left in %d frames, want at most %d", n, f, tc.maxFrames)
			}
			for _, s := range flows {
				if st := s.FlowStats(); st.Sent != uint64(tc.each) || st.DroppedOut != 0 {
					t.Fatalf("flow %d: sent %d, dropped %d; want %d sent, none dropped", st.ID, st.Sent, st.DroppedOut, tc.each)
				}
			}
			// A lone datagram does not wait for company.
			before := frames()
			flows[0].Write(datagramOf(0, next[0], 1200))
			select {
			case <-got:
			case <-time.After(10 * time.Second):
				t.Fatal("a lone datagram was not delivered")
			}
			if f := frames() - before; f != 1 {
				t.Fatalf("a lone datagram left in %d frames, want 1", f)
			}
		})
	}
}
