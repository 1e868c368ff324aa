package hop_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/stream"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/relay"
)

// udpServer is a real UDP socket on loopback that serves a flood test:
// datagrams starting with 'e' are echoed, those starting with 'b' make it
// blast datagrams back to their sender as fast as it can until stop, and
// every other datagram is counted and discarded.
type udpServer struct {
	pc       net.PacketConn
	received atomic.Uint64 // datagrams counted and discarded
	blasted  atomic.Uint64 // datagrams sent by the blaster
	stop     chan struct{}
	wg       sync.WaitGroup
}

func startUDPServer(t *testing.T) *udpServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &udpServer{pc: pc, stop: make(chan struct{})}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() {
		s.halt()
		pc.Close()
		s.wg.Wait()
	})
	return s
}

func (s *udpServer) halt() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
}

func (s *udpServer) serve() {
	defer s.wg.Done()
	buf := make([]byte, 65536)
	blasting := map[string]bool{}
	for {
		n, from, err := s.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		switch {
		case n > 0 && buf[0] == 'e':
			s.pc.WriteTo(buf[:n], from)
		case n > 0 && buf[0] == 'b':
			if !blasting[from.String()] {
				blasting[from.String()] = true
				s.wg.Add(1)
				go s.blast(from, n)
			}
		default:
			s.received.Add(1)
		}
	}
}

// blast sends size-byte datagrams to to until stop, as fast as flood
// does: far more than any circuit carries.
func (s *udpServer) blast(to net.Addr, size int) {
	defer s.wg.Done()
	d := make([]byte, size)
	d[0] = 'd'
	for n := 1; ; n++ {
		select {
		case <-s.stop:
			return
		default:
		}
		if _, err := s.pc.WriteTo(d, to); errors.Is(err, net.ErrClosed) {
			return
		}
		s.blasted.Add(1)
		if n%floodBurst == 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

// A flood writes floodBurst datagrams, then sleeps a millisecond: up to
// 16,000 datagrams of 1200 bytes a second, 150 Mbit/s, each in a cell of
// its own, ten times what a circuit on loopback carries under the race
// detector and still above what it carries without, while leaving the
// circuit's goroutines CPU time on a busy machine (a loop that never
// yields starves them of it and says nothing about queueing).
const floodBurst = 16

func buildCircuit(t *testing.T, hops int) (*hop.Circuit, *relay.NodeStats) {
	t.Helper()
	var nodes []*hoptest.Node
	t.Cleanup(func() {
		for _, n := range nodes {
			n.Close()
		}
	})
	var infos []hop.HopInfo
	exitStats := new(relay.NodeStats)
	for i := range hops {
		cfg := relay.NodeConfig{}
		if i == hops-1 {
			cfg.Stats = exitStats
		}
		n, err := hoptest.Start(i == hops-1, cfg)
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
		infos = append(infos, n.Info)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The watchdog is not under test here: a flood upwards keeps the
	// circuit's queues full, so a PING waits behind them for longer than
	// the default stall timeout allows on a busy machine.
	c, err := hop.Build(ctx, infos, hop.BuildConfig{StallTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, exitStats
}

// flood writes size-byte datagrams to conn until stop (see floodBurst)
// and returns how many it wrote.
func flood(conn net.Conn, size int, tag byte, stop <-chan struct{}) uint64 {
	d := make([]byte, size)
	d[0] = tag
	var n uint64
	for {
		select {
		case <-stop:
			return n
		default:
		}
		if _, err := conn.Write(d); err != nil {
			return n
		}
		n++
		if n%floodBurst == 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

// flowOf returns the counters of conn's flow on c.
func flowOf(t *testing.T, c *hop.Circuit, conn net.Conn) stream.FlowStats {
	t.Helper()
	id := conn.(*stream.Stream).ID()
	for _, f := range c.Flows() {
		if f.ID == id {
			return f
		}
	}
	t.Fatalf("flow %d not listed in %+v (circuit: %v)", id, c.Flows(), c.Err())
	return stream.FlowStats{}
}

// pingPong sends rounds numbered datagrams on conn one at a time, each
// waiting up to wait for its echo, and returns how many came back and
// their mean round trip.
func pingPong(conn net.Conn, rounds int, wait time.Duration) (got int, rtt time.Duration) {
	out := make([]byte, 200)
	out[0] = 'e'
	in := make([]byte, 2000)
	var total time.Duration
	for i := range rounds {
		binary.BigEndian.PutUint32(out[1:], uint32(i))
		start := time.Now()
		if _, err := conn.Write(out); err != nil {
			return got, 0
		}
		conn.SetReadDeadline(start.Add(wait))
		for {
			n, err := conn.Read(in)
			if err != nil {
				break
			}
			if n == len(out) && binary.BigEndian.Uint32(in[1:]) == uint32(i) {
				got++
				total += time.Since(start)
				break
			}
		}
	}
	if got > 0 {
		rtt = total / time.Duration(got)
	}
	return got, rtt
}

// TestUDPFloodSparesModestFlow: a flow floods the circuit far above what
// it carries, upwards from the client or back from the exit; a modest flow
// on the same circuit, one datagram per round trip, still gets nearly all
// its datagrams through. The flood's drops are counted on its own flow, at
// the client or at the exit, and what it queues stays within its flow's
// bound. (Both ways at once stall the circuit, and over three hops the
// links' first-in-first-out windows at every hop hold seconds of the flood
// ahead of the modest flow's datagrams: the links' business, not the
// queues'.)
func TestUDPFloodSparesModestFlow(t *testing.T) {
	for _, tc := range []struct {
		hops int
		way  string
	}{{1, "up"}, {1, "down"}} {
		hops := tc.hops
		t.Run(fmt.Sprintf("%dhop_%s", hops, tc.way), func(t *testing.T) {
			srv := startUDPServer(t)
			c, exitStats := buildCircuit(t, hops)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Second)
			defer cancel()
			dial := func() net.Conn {
				conn, err := c.Dial(ctx, "udp", srv.pc.LocalAddr().String())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { conn.Close() })
				return conn
			}
			up, down, modest := dial(), dial(), dial()

			// Alone first, for the round trip of an idle circuit.
			// The flood fills the link's window ahead of the modest
			// flow's datagrams, which a busy machine drains slowly: each
			// gets up to 30 s. What is asserted is that they are not
			// dropped, not how long they take.
			const rounds, wait = 10, 30 * time.Second
			if got, _ := pingPong(modest, 5, 5*time.Second); got < 5 {
				t.Fatalf("idle circuit: %d of 5 datagrams echoed", got)
			}
			_, idle := pingPong(modest, rounds, wait)

			stop := make(chan struct{})
			var wg sync.WaitGroup
			var upSent atomic.Uint64
			var downGot atomic.Uint64
			wg.Add(1)
			go func() {
				defer wg.Done()
				if tc.way == "up" {
					upSent.Store(flood(up, 1200, 'u', stop))
					return
				}
				// The first datagram starts the blaster.
				b := make([]byte, 1200)
				b[0] = 'b'
				down.Write(b)
				in := make([]byte, 2000)
				for {
					if _, err := down.Read(in); err != nil {
						return
					}
					downGot.Add(1)
				}
			}()
			// The flood is on and past what the circuit carries.
			for (tc.way == "up" && flowOf(t, c, up).DroppedOut == 0) || (tc.way == "down" && srv.blasted.Load() < 10000) {
				if ctx.Err() != nil {
					t.Fatalf("floods did not start: %d up, %d blasted", srv.received.Load(), srv.blasted.Load())
				}
				time.Sleep(10 * time.Millisecond)
			}
			before := flowOf(t, c, modest)
			got, rtt := pingPong(modest, rounds, wait)
			upFlow, modestFlow := flowOf(t, c, up), flowOf(t, c, modest)
			close(stop)
			srv.halt()
			// Closing the flow ends its reader; the exit counts what it
			// dropped on the way back when the flow ends.
			down.Close()
			wg.Wait()
			t.Logf("%d hops: modest flow %d/%d echoed, RTT %v under flood (idle %v); flood up: %d written, %d sent, %d dropped here, %d arrived; flood down: %d blasted, %d received",
				hops, got, rounds, rtt.Round(time.Millisecond), idle.Round(time.Millisecond), upSent.Load(), upFlow.Sent, upFlow.DroppedOut,
				srv.received.Load(), srv.blasted.Load(), downGot.Load())
			if got < rounds*9/10 {
				t.Errorf("modest flow: %d of %d datagrams echoed under flood, want at least 90%%", got, rounds)
			}
			if d := modestFlow.DroppedOut - before.DroppedOut; d != 0 {
				t.Errorf("modest flow: %d datagrams dropped at the client", d)
			}
			if err := c.Err(); err != nil {
				t.Fatalf("circuit failed under flood: %v", err)
			}
			if tc.way == "up" {
				if upFlow.DroppedOut == 0 || upFlow.DroppedOut+upFlow.Sent+uint64(upFlow.QueuedOut/1264) < upSent.Load()*9/10 {
					t.Errorf("flood: %d written, %d sent and %d counted as dropped", upSent.Load(), upFlow.Sent, upFlow.DroppedOut)
				}
				if upFlow.QueuedOut > stream.DefaultDatagramQueueBytes {
					t.Errorf("flood queues %d bytes, more than its bound %d", upFlow.QueuedOut, stream.DefaultDatagramQueueBytes)
				}
				return
			}
			counted := time.Now().Add(60 * time.Second)
			for exitStats.Snapshot().DatagramsDroppedBack == 0 {
				if time.Now().After(counted) {
					t.Fatalf("the exit counted no drops of a flow blasted at %d datagrams (%d reached the client)", srv.blasted.Load(), downGot.Load())
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// TestTCPUnderUDPFlood: a TCP stream on a circuit that a UDP flow floods
// far above what the circuit carries completes intact, and the circuit is
// not torn down. Its share of the circuit is logged: the sender takes a
// cell from each in turn, but the link below queues up to its channel
// window first in, first out, and the flood keeps that queue full.
func TestTCPUnderUDPFlood(t *testing.T) {
	dst := testutil.Transfer(t, "127.0.0.1:0").Addr
	srv := startUDPServer(t)
	c, _ := buildCircuit(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
	defer cancel()
	const size = 2 << 20
	timed := func() time.Duration {
		start := time.Now()
		if err := transfer(ctx, c, dst, size); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	timed() // warm up
	alone := timed()

	up, err := c.Dial(ctx, "udp", srv.pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	stop := make(chan struct{})
	done := make(chan uint64)
	go func() { done <- flood(up, 1200, 'u', stop) }()
	for flowOf(t, c, up).DroppedOut == 0 {
		if ctx.Err() != nil {
			t.Fatal("flood did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	flooded := timed()
	f := flowOf(t, c, up)
	close(stop)
	written := <-done
	t.Logf("TCP %d MiB up and %d MiB down: %v alone, %v under a UDP flood (share %.2f); flood %d written, %d sent, %d dropped, %d arrived",
		size>>20, size>>20, alone.Round(time.Millisecond), flooded.Round(time.Millisecond), float64(alone)/float64(flooded),
		written, f.Sent, f.DroppedOut, srv.received.Load())
	if err := c.Err(); err != nil {
		t.Errorf("circuit failed under flood: %v", err)
	}
}
