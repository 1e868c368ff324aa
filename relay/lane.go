package relay

import (
	"crypto/rand"
	"encoding/binary"

	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/hop/stream"
)

// The datagram lane (docs/PROTOCOL.md 2.9). A circuit whose client asked
// for the lane, on a link that has one, takes datagram cells from the
// previous hop's lane, removes its layer (onion.ForwardDatagram) and
// passes them to the next hop's lane, and the other way with its layer
// added; an exit delivers them to its streams and sends its udp and icmp
// flows' datagrams back the same way. Nothing on the lane ever blocks or
// fails the circuit: a cell that is replayed, forged, for a closed
// stream, or that finds the next lane full is dropped and counted. The
// lane's cells are metered and paid for like any other.

// startLane registers the circuit for datagram cells from prev's link.
func (c *circuit) startLane(lk *link.Link) bool {
	c.prevLk = lk
	if !lk.HandleLane(c.id, c.laneForward) {
		c.lane = false
		return false
	}
	return true
}

// stopLane unregisters the circuit's lane handlers; close calls it with
// the link to the next hop and the circuit's ID there (nil and 0 before an
// EXTEND).
func (c *circuit) stopLane(o *outLink, nextID uint32) {
	if !c.lane {
		return
	}
	c.prevLk.HandleLane(c.id, nil)
	if o != nil {
		o.lk.HandleLane(nextID, nil)
	}
	c.laneNext.Store(nil)
	c.laneMux.Store(nil)
}

// pickNextID picks the circuit's ID on the link to the next hop: random,
// with the top bit set (this node opened the link), and, when the
// circuit takes the lane, one no other circuit's lane handler on lk has.
func (c *circuit) pickNextID(lk *link.Link) (uint32, bool) {
	for range 16 {
		var b [4]byte
		rand.Read(b[:])
		id := binary.BigEndian.Uint32(b[:]) | 1<<31
		if !c.lane || lk.HandleLane(id, c.laneBackward) {
			return id, true
		}
	}
	return 0, false
}

// laneMeter charges a lane cell to the circuit's payment session; it
// reports false when the cell is to be dropped because the circuit is
// behind on payment (its reliable cells slow down or end it).
func (c *circuit) laneMeter(n int) bool {
	if c.pay == nil {
		return true
	}
	c.pay.Carry(n)
	return c.pay.State() == MeterOK
}

// laneCell checks a message from a lane: one datagram cell of the
// circuit's size.
func (c *circuit) laneCell(msg []byte) bool {
	if len(msg) == c.cellSize && onion.LinkCmd(msg[4]) == onion.LinkDatagram {
		return true
	}
	c.n.cfg.Stats.cellMalformed()
	return false
}

// laneForward handles a datagram cell from the previous hop. It runs on
// the previous link's lane goroutine and owns msg until it returns.
func (c *circuit) laneForward(msg []byte) {
	if !c.laneCell(msg) {
		return
	}
	c.cells.Add(1)
	if !c.laneMeter(len(msg)) {
		c.n.cfg.Stats.cellDropped()
		return
	}
	mine, cmd, payload, _, err := c.hs.ForwardDatagram(msg[onion.HeaderLen:])
	if err != nil {
		c.n.cfg.Stats.cellDropped()
		return
	}
	if !mine {
		next := c.laneNext.Load()
		if next == nil {
			c.n.cfg.Stats.cellDropped()
			return
		}
		onion.PutHeader(msg, c.nextID, onion.LinkDatagram)
		if !next.SendLane(msg, false) {
			c.n.cfg.Stats.cellDropped()
		}
		return
	}
	mux := c.laneMux.Load()
	if cmd != onion.RelayData || mux == nil {
		c.n.cfg.Stats.cellDropped()
		return
	}
	if c.n.cfg.Observe != nil {
		c.n.cfg.Observe(cmd, payload)
	}
	mux.DeliverDatagram(payload)
}

// laneBackward handles a datagram cell from the next hop, on the next
// link's lane goroutine.
func (c *circuit) laneBackward(msg []byte) {
	if !c.laneCell(msg) {
		return
	}
	c.cells.Add(1)
	if !c.laneMeter(len(msg)) {
		c.n.cfg.Stats.cellDropped()
		return
	}
	if _, err := c.hs.BackwardDatagram(msg[onion.HeaderLen:]); err != nil {
		c.n.cfg.Stats.cellDropped()
		return
	}
	onion.PutHeader(msg, c.id, onion.LinkDatagram)
	if !c.prevLk.SendLane(msg, false) {
		c.n.cfg.Stats.cellDropped()
	}
}

// sendFrame is the exit's send function for its streams: DATAGRAM frames
// take the lane when the circuit has one and they fit its cells, the rest
// the reliable channel.
func (c *circuit) sendFrame(circID uint32, frame []byte) error {
	if c.lane && stream.IsDatagramFrame(frame) && len(frame) <= onion.MaxDatagramPayload(c.cellSize) && c.bpad.Load() == nil {
		c.originateDatagram(circID, frame)
		return nil
	}
	return c.originate(circID, onion.RelayData, frame)
}

// originateDatagram sends one DATAGRAM frame to the client on the lane,
// or drops it when the lane is full (a quiet flow may use the lane's
// reserve) or the circuit is behind on payment.
func (c *circuit) originateDatagram(circID uint32, frame []byte) {
	if c.pay != nil && c.pay.State() != MeterOK {
		c.n.cfg.Stats.cellDropped()
		return
	}
	cell := make([]byte, c.cellSize)
	if err := onion.PutHeader(cell, circID, onion.LinkDatagram); err != nil {
		return
	}
	if err := c.hs.OriginateDatagramInto(cell[onion.HeaderLen:], onion.RelayData, frame); err != nil {
		c.n.cfg.Stats.cellDropped()
		return
	}
	if c.pay != nil {
		c.pay.Carry(len(cell))
	}
	if !c.prevLk.SendLane(cell, c.quiet.Admit(frame)) {
		c.n.cfg.Stats.cellDropped()
	}
}
