package stream

// The datagram lane (docs/PROTOCOL.md 2.9): a circuit may carry DATAGRAM
// frames on an unreliable, unordered lane beside the reliable one, where
// they can be lost, duplicated (the onion layer's replay window stops
// that) or overtake the stream's OPEN, OPENED or FIN. Such frames go to
// DeliverDatagram, which drops what does not fit instead of failing the
// Mux.

// IsDatagramFrame reports whether frame, as the Mux hands it to its send
// function, is a DATAGRAM or DATAGRAMS frame, which may take the datagram
// lane.
func IsDatagramFrame(frame []byte) bool {
	return len(frame) >= HeaderLen && (frame[0] == frameDatagram || frame[0] == frameDatagrams)
}

// DeliverDatagram processes a DATAGRAM or DATAGRAMS frame that came on the
// datagram lane. It never fails the Mux and never blocks: a frame that is
// not a well-formed DATAGRAM or DATAGRAMS, or a datagram for a stream that
// is not an open udp or icmp flow (not yet, or no longer), is dropped and
// counted in Stats.DatagramsDroppedIn. It may be called concurrently with
// Deliver.
func (m *Mux) DeliverDatagram(b []byte) {
	f, err := parseFrame(b, m.cfg.MaxFrame)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	if err == nil && f.typ == frameDatagrams {
		m.stats.FramesReceived++
		m.stats.BytesReceived += uint64(len(b))
		eachPacked(f.payload, func(id uint32, d []byte) {
			m.laneDatagramLocked(&frame{typ: frameDatagram, id: id, payload: d}, false)
		})
		return
	}
	if err != nil || f.typ != frameDatagram {
		m.stats.DatagramsDroppedIn++
		return
	}
	m.laneDatagramLocked(&f, true)
}

// laneDatagramLocked queues one datagram that came on the lane, counting
// its frame if counted says so.
func (m *Mux) laneDatagramLocked(f *frame, counted bool) {
	s := m.streams[f.id]
	// A client takes a reply that overtook the exit's OPENED.
	open := s != nil && (s.state == stateOpen || s.state == stateOpening && m.cfg.Role == RoleClient)
	if !open || !s.kind.datagram() || s.remoteFin {
		m.stats.DatagramsDroppedIn++
		if s != nil {
			s.dgDropIn++
		}
		return
	}
	if counted {
		m.stats.FramesReceived++
		m.stats.BytesReceived += uint64(HeaderLen + len(f.payload))
	}
	cost := len(f.payload) + datagramOverhead
	if !m.roomInLocked(s, cost) {
		s.dgDropIn++
		m.stats.DatagramsDroppedIn++
		return
	}
	m.dgInBytes += cost
	s.dgInQ += cost
	s.dgRecv++
	s.dgIn.push(append([]byte(nil), f.payload...))
	s.rwait.broadcast()
}
