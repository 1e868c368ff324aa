package stream

// Waiting reports whether this end waits on its peer: a stream opened and
// not yet answered, or data ready to send that waits for the peer's credit
// (per stream or for the circuit). Only the peer can end such a wait, so a
// circuit that carries nothing back meanwhile may be dead rather than
// idle; a circuit's liveness check uses this to probe it.
func (m *Mux) Waiting() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false
	}
	for _, s := range m.streams {
		if s.err != nil {
			continue
		}
		if s.state == stateOpening {
			return true
		}
		if len(s.wbuf) > 0 && !s.closed && (s.sendCredit <= 0 || m.connSend <= 0) {
			return true
		}
	}
	return false
}
