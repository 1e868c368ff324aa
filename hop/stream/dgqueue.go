package stream

import "time"

// Datagram queues. A udp flow has a queue per direction, bounded in
// datagrams (Config.DatagramQueue) and bytes (Config.DatagramQueueBytes),
// and all flows of a Mux share a byte limit per direction
// (Config.DatagramBytes). Datagrams are never flow controlled: one that
// does not fit is dropped and counted on its flow, and nothing blocks.
//
// Sending is fair between flows because the sending goroutine takes one
// frame from each ready flow in turn, and a frame travels in one cell
// of the circuit: every flow gets the same number of cells per round
// whatever its datagrams' sizes, which is deficit round robin with the
// cell, the circuit's unit of cost, as the quantum. The datagram flows as
// a class get a third of the cells while a tcp stream has data (mux.go,
// ReliablePerDatagram). The
// shared limit keeps that fairness: when it is reached, the flow holding
// the most bytes sheds its oldest datagram, so a flood fills only its own
// queue and a flow that queues little is never dropped for it.

// A flow that writes faster than the circuit takes would otherwise take
// the Mux's lock for every datagram it writes, and the lock is what the
// sending goroutine and Deliver need for every frame: a writer in a tight
// loop would slow the whole circuit down for every flow on it. So once a
// datagram of a flow has been dropped, the flow is marked full (dgFull)
// and its further datagrams are dropped without the lock, until the
// sending goroutine takes one of its datagrams or the stream changes state
// (wakeLocked). Taking the lock is thus bounded by what the circuit sends,
// not by what the flood writes.

// roomOutLocked makes room for a datagram of cost bytes on s's send queue,
// dropping the oldest datagrams of fatter flows if the Mux's limit needs
// it. It reports false if the datagram itself must be dropped.
func (m *Mux) roomOutLocked(s *Stream, cost int) bool {
	if s.dgOut.len() >= m.cfg.DatagramQueue || s.dgOutQ+cost > m.cfg.DatagramQueueBytes {
		return false
	}
	for m.dgOutBytes+cost > m.dgOutLimit {
		var fat *Stream
		for _, f := range m.readyDg.buf[m.readyDg.head:] {
			if f.dgOut.len() > 0 && (fat == nil || f.dgOutQ > fat.dgOutQ) {
				fat = f
			}
		}
		if fat == nil || fat == s || fat.dgOutQ < s.dgOutQ+cost {
			return false
		}
		fat.popOutLocked()
		fat.droppedOut()
	}
	return true
}

// roomInLocked is roomOutLocked for a received datagram.
func (m *Mux) roomInLocked(s *Stream, cost int) bool {
	if s.dgIn.len() >= m.cfg.DatagramQueue || s.dgInQ+cost > m.cfg.DatagramQueueBytes {
		return false
	}
	for m.dgInBytes+cost > m.dgInLimit {
		var fat *Stream
		for _, f := range m.streams {
			if f.dgIn.len() > 0 && (fat == nil || f.dgInQ > fat.dgInQ) {
				fat = f
			}
		}
		if fat == nil || fat == s || fat.dgInQ < s.dgInQ+cost {
			return false
		}
		fat.popInLocked()
		fat.dgDropIn++
		fat.dropped()
		m.stats.DatagramsDroppedIn++
	}
	return true
}

// popInLocked takes the oldest received datagram off s's queue.
func (s *Stream) popInLocked() []byte {
	d := s.dgIn.pop()
	c := len(d) + datagramOverhead
	s.dgInQ -= c
	s.m.dgInBytes -= c
	return d
}

// MaxDatagramAge is how long a datagram may wait in a flow's send queue
// while others of the same flow wait behind it: older ones are dropped
// (and counted) when the flow's turn comes, so a flow that writes faster
// than its share of the circuit loses its oldest datagrams rather than
// having every datagram wait for the whole queue (a backlog that would
// hold its turns, and the circuit's window, for seconds after the burst),
// as CoDel does to a router's queue. A flow's only datagram is never
// dropped for its age: a flow that sends a datagram at a time waits only
// for its turn.
const MaxDatagramAge = 250 * time.Millisecond

// dropStaleLocked drops the datagrams of s's send queue that are older
// than MaxDatagramAge, keeping at least one.
func (s *Stream) dropStaleLocked(now time.Time) {
	for s.dgOut.len() > 1 && now.Sub(*s.dgOutAt.front()) > MaxDatagramAge {
		s.popOutLocked()
		s.droppedOut()
	}
}

// CountDropped counts n datagrams of a udp or icmp flow as dropped on the
// way out (FlowStats.DroppedOut) that were dropped before they reached
// it: by the local network stack that hands the flow its datagrams, when
// it fell behind the app. It needs no lock.
func (s *Stream) CountDropped(n uint64) {
	if n == 0 || !s.kind.datagram() {
		return
	}
	s.dgDropOut.Add(n)
	s.m.dgDropOut.Add(n)
	s.dropped()
}

// droppedOut counts a datagram written on s and dropped. It needs no lock.
func (s *Stream) droppedOut() {
	s.dgDropOut.Add(1)
	s.m.dgDropOut.Add(1)
	s.dropped()
}

// popOutLocked takes the oldest datagram to send off s's queue.
func (s *Stream) popOutLocked() []byte {
	s.dgFull.Store(false)
	d := s.dgOut.pop()
	s.dgOutAt.pop()
	c := len(d) + datagramOverhead
	s.dgOutQ -= c
	s.m.dgOutBytes -= c
	return d
}

// discardSendLocked drops the datagrams waiting to be sent. They are not
// counted as drops: the flow ended.
func (s *Stream) discardSendLocked() {
	s.dgFull.Store(false)
	s.m.dgOutBytes -= s.dgOutQ
	s.dgOutQ = 0
	s.dgOut.reset()
	s.dgOutAt.reset()
}

// FlowStats returns the counters of a udp or icmp flow (zero counts for
// other kinds).
func (s *Stream) FlowStats() FlowStats {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.flowStatsLocked()
}

func (s *Stream) flowStatsLocked() FlowStats {
	return FlowStats{ID: s.id, Kind: s.kind, Address: s.addr, Sent: s.dgSent, DroppedOut: s.dgDropOut.Load(),
		Received: s.dgRecv, DroppedIn: s.dgDropIn, QueuedOut: s.dgOutQ, QueuedIn: s.dgInQ,
		PeerDroppedOut: s.peerDropped[0], PeerDroppedIn: s.peerDropped[1]}
}
