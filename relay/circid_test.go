package relay_test

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/relay"
)

// idTap records the circuit ID of the first cell written to each channel
// it wraps, in order.
type idTap struct {
	mu  sync.Mutex
	ids []uint32
}

type idChannel struct {
	link.Channel
	tap  *idTap
	once sync.Once
}

func (c *idChannel) Write(p []byte) (int, error) {
	c.once.Do(func() {
		if len(p) >= 4 {
			c.tap.mu.Lock()
			c.tap.ids = append(c.tap.ids, binary.BigEndian.Uint32(p))
			c.tap.mu.Unlock()
		}
	})
	return c.Channel.Write(p)
}

func (t *idTap) wrap(ch link.Channel) link.Channel { return &idChannel{Channel: ch, tap: t} }

// TestFreshCircuitIDPerLink: each relay creates the circuit on the next
// link under an ID of its own, so the relays of a path do not see the
// same circuit ID (which would let them match the circuit at a glance).
func TestFreshCircuitIDPerLink(t *testing.T) {
	var taps [2]idTap
	var infos []hop.HopInfo
	for i := range taps {
		n := hoptest.StartRelay(t, relay.NodeConfig{Tap: taps[i].wrap})
		infos = append(infos, n.Info)
	}
	infos = append(infos, hoptest.StartExit(t, relay.NodeConfig{}).Info)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hoptest.Build(t, ctx, infos, hop.BuildConfig{})
	// Each relay wrote CREATED to its previous hop, then CREATE to its
	// next: the ID of each.
	for i := range taps {
		taps[i].mu.Lock()
		ids := taps[i].ids
		taps[i].mu.Unlock()
		if len(ids) != 2 {
			t.Fatalf("relay %d wrote first to %d channels, want 2", i, len(ids))
		}
		if ids[0] == ids[1] {
			t.Fatalf("relay %d passed the circuit on under its incoming ID %#x", i, ids[0])
		}
		if ids[1]&(1<<31) == 0 {
			t.Errorf("relay %d's ID %#x on a link it opened lacks the top bit", i, ids[1])
		}
	}
}
