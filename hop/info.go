package hop

import (
	"math/big"
	"time"

	"github.com/pexia-network/pexia/hop/stream"
)

// Hops returns the hops of the circuit, entry first.
func (c *Circuit) Hops() []HopInfo { return append([]HopInfo(nil), c.hops...) }

// CircuitStats is what a circuit carried and paid so far.
type CircuitStats struct {
	// CellsUp and CellsDown count relay cells sent and received; every
	// hop carries all of them, CellSize bytes each.
	CellsUp, CellsDown uint64
	CellSize           int
	// ExitRTT is the latest round trip to the last hop through the
	// circuit: from a PING to its PONG, both queued behind the circuit's
	// other cells (zero before the first).
	ExitRTT time.Duration
	// PackedDatagrams says whether the exit agreed to pack several
	// datagrams into one cell each way (wire.FeaturePack).
	PackedDatagrams bool
	Hops            []HopStats
}

// HopStats is one hop's share.
type HopStats struct {
	// Paid is the sum of the payments sent to the hop (zero for a free
	// hop).
	Paid *big.Int
	// RTT is the latest round trip to the hop through the circuit: from a
	// PAY cell to its PAID answer (zero before the first one).
	RTT time.Duration
}

// Stats returns what the circuit carried and paid so far.
func (c *Circuit) Stats() CircuitStats {
	st := CircuitStats{CellsUp: c.cellsUp.Load(), CellsDown: c.cellsDown.Load(), CellSize: c.cc.CellSize(),
		PackedDatagrams: c.pack, Hops: make([]HopStats, len(c.hops))}
	c.amu.Lock()
	st.ExitRTT = c.exitRTT
	c.amu.Unlock()
	for k, p := range c.pays {
		st.Hops[k].Paid = new(big.Int)
		if p == nil {
			continue
		}
		p.mu.Lock()
		if p.paid != nil {
			st.Hops[k].Paid.Set(p.paid)
		}
		st.Hops[k].RTT = p.rtt
		p.mu.Unlock()
	}
	return st
}

// Flows returns the counters of the udp and icmp (echo) flows open on the
// circuit, by stream ID: datagrams sent and received, those dropped
// because the flow's queue was full (see package stream, "Datagram
// queues"), and those the exit reported it dropped.
func (c *Circuit) Flows() []stream.FlowStats { return c.mux.Flows() }

// Streams returns how many streams (tcp, udp, icmp, dns) are open on the
// circuit or opening.
func (c *Circuit) Streams() int { return c.mux.Streams() }
