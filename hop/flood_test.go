package hop_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/internal/testutil"
)

// udpSink counts the datagrams sent to it on loopback.
func udpSink(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	var n atomic.Int64
	go func() {
		buf := make([]byte, 64<<10)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			n.Add(1)
		}
	}()
	return pc.LocalAddr().String(), &n
}

// exchange times one request and answer on a new stream: a
// testutil.Transfer server answers a zero-byte upload with its hash.
func exchange(ctx context.Context, c *hop.Circuit, dst string) (time.Duration, error) {
	start := time.Now()
	conn, err := c.Dial(ctx, "tcp", dst)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "0\n"); err != nil {
		return 0, err
	}
	got := make([]byte, sha256.Size)
	if _, err := io.ReadFull(conn, got); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// TestUDPFloodKeepsCircuit: a UDP sender far above what a 3-hop circuit
// carries (the in-process relays' capacity) loads the circuit for several
// stall timeouts, with nothing else on it. The circuit must not be
// declared stalled: the flood is dropped at the client rather than queued
// along the path, so the watchdog's acknowledgements keep coming, and a TCP
// exchange on the same circuit still gets through. Before, the PING sat
// behind every queue on the way and the circuit failed with ErrStalled.
func TestUDPFloodKeepsCircuit(t *testing.T) {
	const stall = hop.DefaultStallTimeout
	dst := testutil.Transfer(t, "127.0.0.1:0").Addr
	sink, got := udpSink(t)
	_, infos := hoptest.StartCircuit(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := hoptest.Build(t, ctx, infos, hop.BuildConfig{})
	idle, err := exchange(ctx, c, dst)
	if err != nil {
		t.Fatal(err)
	}
	flow, err := c.Dial(ctx, "udp", sink)
	if err != nil {
		t.Fatal(err)
	}
	defer flow.Close()

	// 16000 datagrams of 1200 bytes a second, 64 MB/s of cells: more
	// than the in-process relays carry on a 2-core machine.
	stop := make(chan struct{})
	var sent atomic.Int64
	flooding := make(chan struct{})
	go func() {
		defer close(flooding)
		d := make([]byte, 1200)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-c.Done():
				return
			case <-tick.C:
			}
			for range 16 {
				if _, err := flow.Write(d); err != nil {
					return
				}
				sent.Add(1)
			}
		}
	}()
	defer func() {
		close(stop)
		<-flooding
	}()

	// The flood alone, for 3 stall timeouts.
	select {
	case <-c.Done():
		t.Fatalf("circuit failed under the flood: %v (datagrams sent %d, arrived %d)", c.Err(), sent.Load(), got.Load())
	case <-time.After(3 * stall):
	}
	if got.Load() == 0 {
		t.Fatal("no datagram arrived")
	}
	// Exchanges on the same circuit while the flood goes on.
	var rtts []time.Duration
	end := time.Now().Add(stall)
	for len(rtts) == 0 || time.Now().Before(end) {
		rtt, err := exchange(ctx, c, dst)
		if err != nil {
			t.Fatalf("exchange during the flood: %v (circuit: %v)", err, c.Err())
		}
		rtts = append(rtts, rtt)
	}
	if err := c.Err(); err != nil {
		t.Fatalf("circuit failed under the flood: %v", err)
	}
	sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
	t.Logf("idle exchange %v; under flood %d exchanges, median %v, max %v; datagrams sent %d, arrived %d",
		idle.Round(time.Millisecond), len(rtts), rtts[len(rtts)/2].Round(time.Millisecond),
		rtts[len(rtts)-1].Round(time.Millisecond), sent.Load(), got.Load())
}
