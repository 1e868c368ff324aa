package relay_test

import (
	"context"
	"errors"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/relay"
)

// heapAndGoroutines returns the live heap and the goroutine count once the
// garbage collector has run.
func heapAndGoroutines() (uint64, int) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, runtime.NumGoroutine()
}

// TestSilentChannelsClosed: data channels that never send CREATE are closed
// by the node after the first-cell deadline, channels beyond the per-link
// cap and links beyond the per-peer cap are refused at once, the node's
// goroutines and heap return to near where they were, and an honest client
// still builds a circuit meanwhile. Everything is real: pion links over
// loopback to a real node.
func TestSilentChannelsClosed(t *testing.T) {
	const (
		deadline   = 2 * time.Second
		perLink    = 40 // channels awaiting CREATE per link
		links      = 3  // links per peer
		perLinkTry = 50
	)
	stats := new(relay.NodeStats)
	exit, err := hoptest.Start(true, relay.NodeConfig{FirstCellTimeout: deadline, MaxPendingPerLink: perLink, MaxLinksPerPeer: links, Stats: stats})
	if err != nil {
		t.Fatal(err)
	}
	defer exit.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// The attacker's links all come from 127.0.0.3; the honest client's
	// from the machine's other addresses.
	attacker := link.DialConfig{UDPAddr: "127.0.0.3:0"}
	var lks []*link.Link
	extra := 0
	for i := 0; i < links+1; i++ {
		lk, err := link.Dial(ctx, exit.Info.URL, exit.Info.Pin, attacker)
		if err != nil {
			if i < links {
				t.Fatal(err)
			}
			extra++ // closed by the node as it came up
			continue
		}
		defer lk.Close()
		lks = append(lks, lk)
	}
	closed := func() int {
		n := extra
		for _, lk := range lks {
			if lk.Err() != nil {
				n++
			}
		}
		return n
	}
	for end := time.Now().Add(10 * time.Second); closed() == 0 && time.Now().Before(end); {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if got := closed(); got != 1 {
		t.Errorf("%d of %d links from one peer closed by the node, want 1 (the cap is %d)", got, links+1, links)
	}
	var live []*link.Link
	for _, lk := range lks {
		if lk.Err() == nil {
			live = append(live, lk)
		}
	}

	baseHeap, baseG := heapAndGoroutines()
	results := make(chan error, len(live)*perLinkTry)
	var wg sync.WaitGroup
	opened := time.Now()
	for _, lk := range live {
		for i := 0; i < perLinkTry; i++ {
			ch, err := lk.Open(ctx, "c")
			if err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 64)
				_, err := ch.Read(buf)
				results <- err
				ch.Close()
			}()
		}
	}
	peakHeap, peakG := heapAndGoroutines()
	t.Logf("%d silent channels open: +%d goroutines, +%d KiB heap (node and client together)",
		len(live)*perLinkTry, peakG-baseG, (int64(peakHeap)-int64(baseHeap))>>10)

	// An honest client builds a circuit while the silent channels wait.
	c, err := hop.Build(ctx, []hop.HopInfo{exit.Info}, hop.BuildConfig{})
	if err != nil {
		t.Fatalf("honest circuit with %d silent channels open: %v", len(live)*perLinkTry, err)
	}
	conn, err := c.Dial(ctx, "tcp", testutil.EchoTCP(t, "127.0.0.1:0").Addr)
	if err == nil {
		_, err = conn.Write([]byte("ping"))
		if err == nil {
			_, err = io.ReadFull(conn, make([]byte, 4))
		}
		conn.Close()
	}
	if err != nil {
		t.Fatalf("honest circuit: %v", err)
	}
	c.Close()

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(deadline + 10*time.Second):
		t.Fatalf("%d of %d silent channels still open %v after they were opened (deadline %v)",
			len(live)*perLinkTry-len(results), len(live)*perLinkTry, time.Since(opened).Round(time.Millisecond), deadline)
	}
	close(results)
	for err := range results {
		if !errors.Is(err, io.EOF) {
			t.Errorf("silent channel ended with %v, want io.EOF (closed by the node)", err)
		}
	}
	// The node counts a channel as it finishes with it, just after closing it.
	want := uint64(len(live) * perLinkTry)
	testutil.WaitFor(t, "every silent channel counted", 5*time.Second, func() bool {
		s := stats.Snapshot()
		return s.CircuitsRefused[relay.RefuseChannels]+s.CircuitsRefused[relay.RefuseTimeout]+s.CircuitsRefused[relay.RefuseHandshake] >= want
	})
	snap := stats.Snapshot()
	refused, timedOut := snap.CircuitsRefused[relay.RefuseChannels], snap.CircuitsRefused[relay.RefuseTimeout]
	if want := uint64(len(live) * (perLinkTry - perLink)); refused != want {
		t.Errorf("%d channels refused at once, want %d beyond the cap of %d per link", refused, want, perLink)
	}
	if want := uint64(len(live) * perLink); timedOut != want {
		t.Errorf("%d channels closed at the deadline, want %d", timedOut, want)
	}
	if snap.LinksRefused != 1 {
		t.Errorf("%d links refused, want 1", snap.LinksRefused)
	}
	t.Logf("%d silent channels closed at the deadline, %d refused at once, %d link refused", timedOut, refused, snap.LinksRefused)

	// The node holds nothing for them any more (the links stay up).
	var heap uint64
	var g int
	for i := 0; i < 50; i++ {
		if heap, g = heapAndGoroutines(); g <= baseG+5 && heap <= baseHeap+2<<20 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("baseline %d goroutines, %d KiB heap; after %d, %d KiB", baseG, baseHeap>>10, g, heap>>10)
	if g > baseG+5 {
		t.Errorf("%d goroutines after the silent channels closed, baseline %d", g, baseG)
	}
	if heap > baseHeap+2<<20 {
		t.Errorf("heap %d KiB after the silent channels closed, baseline %d KiB", heap>>10, baseHeap>>10)
	}
	for _, lk := range live {
		if lk.Err() != nil {
			t.Errorf("an attacker's link was closed (%v); only its channels should be", lk.Err())
		}
	}
}
