package stream

import (
	"time"

	"github.com/pexia-network/pexia/internal/icmperr"
)

// ICMP errors and drop counts the exit reports on a datagram flow (udp or
// icmp) without ending it.
//
// An ICMP frame (exit→client) tells of one ICMP error the exit's network
// sent for the flow: a too-big with the path MTU, or an unreachable for an
// echo request. The client's Read returns it once as an *icmperr.Error, which
// matches (errors.Is) the errno a connected UDP socket returns for that
// error, and the flow goes on, as a UDP socket does.
//
// A DROPPED frame (exit→client) carries the exit's counts of the flow's
// datagrams it dropped, towards the client and from it. The exit sends it
// at most every dropReportDelay while drops go on, and once more after the
// last, so the client's FlowStats follow within that delay.

// icmpBodyLen is the body of an ICMP frame: type(1) seq(2) mtu(4).
const icmpBodyLen = 7

// maxNotices bounds the ICMP errors a flow keeps for Read; more are
// dropped, as a socket's error queue is bounded.
const maxNotices = 16

// dropReportDelay is the least time between two DROPPED frames of a flow.
const dropReportDelay = 250 * time.Millisecond

// SendICMP reports an ICMP error for the flow to the client; the flow
// stays open. Only the exit (RoleServer) sends them, on udp and icmp
// flows. A report that finds the control queue full is dropped, as the
// network drops ICMP under load.
func (s *Stream) SendICMP(e icmperr.Error) error {
	m := s.m
	if m.cfg.Role != RoleServer || !s.kind.datagram() {
		return ErrNotSupported
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := s.writeErrLocked(); err != nil {
		return err
	}
	if m.ctrlq.len() <= m.ctrlLimit {
		m.queueCtrl(ctrl{typ: frameICMP, id: s.id, s: s, icmp: e})
	}
	return nil
}

// popNoticeLocked returns the oldest ICMP error kept for Read, or nil.
func (s *Stream) popNoticeLocked() error {
	if s.notices.len() == 0 {
		return nil
	}
	e := s.notices.pop()
	return &e
}

// handleNoticeLocked takes an ICMP or DROPPED frame for s.
func (m *Mux) handleNoticeLocked(s *Stream, f *frame) error {
	if m.cfg.Role != RoleClient {
		return protoErr("%s sent to the server", frameName(f.typ))
	}
	if !s.kind.datagram() {
		return protoErr("%s on a %s stream", frameName(f.typ), s.kind)
	}
	if f.typ == frameDropped {
		s.peerDropped = f.dropped
		return nil
	}
	if s.notices.len() < maxNotices {
		s.notices.push(f.icmp)
		s.rwait.broadcast()
	}
	return nil
}

// dropped notes a datagram the exit dropped on s: a DROPPED frame follows
// within dropReportDelay. It needs no lock.
func (s *Stream) dropped() {
	if s.m.cfg.Role != RoleServer || !s.dropTimerArmed.CompareAndSwap(false, true) {
		return
	}
	time.AfterFunc(dropReportDelay, s.reportDropped)
}

// reportDropped queues a DROPPED frame with the flow's counts.
func (s *Stream) reportDropped() {
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	s.dropTimerArmed.Store(false)
	if !s.inMap || s.err != nil || m.closed || m.ctrlq.len() > m.ctrlLimit {
		return
	}
	m.queueCtrl(ctrl{typ: frameDropped, id: s.id, s: s})
}

// MaxDatagram returns the largest datagram the stream's Write takes on a
// udp or icmp flow; larger ones fail with ErrDatagramTooLarge.
func (s *Stream) MaxDatagram() int { return s.m.maxPayload }
