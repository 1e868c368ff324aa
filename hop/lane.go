package hop

import (
	"time"

	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/hop/stream"
)

// The datagram lane (docs/PROTOCOL.md 2.9). A circuit whose every hop
// granted the lane in its handshake, on a first link that has one, sends
// its udp and icmp flows' DATAGRAM frames as datagram cells on the link's
// unreliable, unordered lane, so a lost packet is lost once instead of
// holding every later cell of the circuit behind its retransmission at
// each hop. The frames still come from the stream layer's per-flow
// bounded queues in its round-robin turn. The lane never makes the send
// loop wait (that would hold the circuit's other streams behind a
// flood): what it cannot take is dropped and counted, except that a
// quiet flow (no datagram on the lane for the last 10 ms) may use a
// reserve beyond the lane's window, which a flood therefore never fills. Everything else, and datagrams
// too large for a datagram cell, stays on the reliable channel. A padded
// circuit does not ask for the lane: its cells leave in their slots.

// sendFrame is the stream layer's send function.
func (c *Circuit) sendFrame(frame []byte) error {
	if c.lane && stream.IsDatagramFrame(frame) && len(frame) <= onion.MaxDatagramPayload(c.cc.CellSize()) {
		c.sendDatagram(frame)
		return nil
	}
	return c.queue(len(c.hops)-1, onion.LinkRelay, onion.RelayData, frame)
}

// sendDatagram seals a DATAGRAM frame for the exit and puts it on the
// lane, or drops it when the lane is full; a quiet flow may use the lane's
// reserve, so a flood that fills the lane does not crowd it out.
func (c *Circuit) sendDatagram(frame []byte) {
	select {
	case <-c.done:
		return
	default:
	}
	cell := make([]byte, c.cc.CellSize())
	if err := onion.PutHeader(cell, c.circID, onion.LinkDatagram); err != nil {
		return
	}
	if err := c.cc.SealDatagramInto(cell[onion.HeaderLen:], len(c.hops)-1, onion.RelayData, frame); err != nil {
		c.laneDropped.Add(1)
		return
	}
	if !c.link.SendLane(cell, c.quiet.Admit(frame)) {
		c.laneDropped.Add(1)
		return
	}
	c.laneUp.Add(1)
	c.carry(len(cell))
}

// laneRead handles a datagram cell from the link's lane, on the lane's
// goroutine.
func (c *Circuit) laneRead(msg []byte) {
	if len(msg) != c.cc.CellSize() || onion.LinkCmd(msg[4]) != onion.LinkDatagram {
		c.laneDropped.Add(1)
		return
	}
	hop, cmd, payload, err := c.cc.OpenDatagram(msg[onion.HeaderLen:])
	if err != nil || hop != len(c.hops)-1 || cmd != onion.RelayData {
		c.laneDropped.Add(1)
		return
	}
	// The cell shows the way back works, but not lastData: a PONG is not
	// queued behind the lane's cells, so they cannot excuse its absence
	// (watchdog.go).
	c.lastRecv.Store(time.Now().UnixNano())
	c.laneDown.Add(1)
	c.carry(len(msg))
	c.mux.DeliverDatagram(payload)
}

// LaneStats says whether the circuit carries its datagrams on the links'
// datagram lane, and counts the datagram cells it sent and received there
// and those it dropped (the lane was full, or a cell from it did not
// authenticate or was replayed).
type LaneStats struct {
	Lane                    bool
	Sent, Received, Dropped uint64
}

// Lane returns the circuit's datagram lane counters.
func (c *Circuit) Lane() LaneStats {
	return LaneStats{Lane: c.lane, Sent: c.laneUp.Load(), Received: c.laneDown.Load(), Dropped: c.laneDropped.Load()}
}
