package hop_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/relay"
)

// sizeTap records the length of every message a node reads from or writes
// to its circuit channels.
type sizeTap struct {
	mu           sync.Mutex
	read, writes []int
}

func (s *sizeTap) wrap(ch link.Channel) link.Channel { return sizedChannel{ch, s} }

func (s *sizeTap) sizes() (reads, writes []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.read...), append([]int(nil), s.writes...)
}

type sizedChannel struct {
	link.Channel
	s *sizeTap
}

func (c sizedChannel) Read(p []byte) (int, error) {
	n, err := c.Channel.Read(p)
	if n > 0 {
		c.s.mu.Lock()
		c.s.read = append(c.s.read, n)
		c.s.mu.Unlock()
	}
	return n, err
}

func (c sizedChannel) Write(p []byte) (int, error) {
	c.s.mu.Lock()
	c.s.writes = append(c.s.writes, len(p))
	c.s.mu.Unlock()
	return c.Channel.Write(p)
}

// TestCellsGroupedOnLinks moves bulk data both ways through 3 hops and
// checks what the nodes' channels carried: only whole cells, at most one
// message's worth at a time, and, under bulk load, several cells per
// message in both directions at every hop.
func TestCellsGroupedOnLinks(t *testing.T) {
	dst := testutil.Transfer(t, "127.0.0.1:0").Addr
	const hops = 3
	var taps []*sizeTap
	var infos []hop.HopInfo
	for i := range hops {
		tap := &sizeTap{}
		n, err := hoptest.Start(i == hops-1, relay.NodeConfig{Tap: tap.wrap})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		taps, infos = append(taps, tap), append(infos, n.Info)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := hop.Build(ctx, infos, hop.BuildConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := transfer(ctx, c, dst, 1<<20); err != nil {
		t.Fatal(err)
	}
	c.Close()

	const size = onion.DefaultCellSize
	for k, tap := range taps {
		reads, writes := tap.sizes()
		for _, sizes := range [][]int{reads, writes} {
			for _, n := range sizes {
				if n%size != 0 || n > link.MaxMessageSize {
					t.Fatalf("hop %d: a %d-byte message", k+1, n)
				}
			}
		}
		// Every node reads from and writes to the link in both
		// directions; the exit's stream layer and every relay make
		// messages of several cells.
		if maxOf(reads) < 2*size || maxOf(writes) < 2*size {
			t.Errorf("hop %d: largest message read %d, written %d bytes: cells were not grouped", k+1, maxOf(reads), maxOf(writes))
		}
		t.Logf("hop %d: %d messages read (largest %d), %d written (largest %d)", k+1, len(reads), maxOf(reads), len(writes), maxOf(writes))
	}
}

func maxOf(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// TestCellSizes moves data both ways through circuits of the smallest and
// the largest cells: 128 and 4 of them to a full message.
func TestCellSizes(t *testing.T) {
	dst := testutil.Transfer(t, "127.0.0.1:0").Addr
	for _, size := range []int{onion.MinCellSize, onion.MaxCellSize} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			_, infos := hoptest.StartCircuit(t, 2)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c := hoptest.Build(t, ctx, infos, hop.BuildConfig{CellSize: size})
			if err := transfer(ctx, c, dst, 256<<10); err != nil {
				t.Fatal(err)
			}
		})
	}
}
