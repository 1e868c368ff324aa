package stream

import (
	"strconv"
	"syscall"
	"time"
)

// ICMP errors and drop counts the exit reports on a datagram flow (udp or
// icmp) without ending it.
//
// An ICMP frame (exit→client) tells of one ICMP error the exit's network
// sent for the flow: a too-big with the path MTU, or an unreachable for an
// echo request. The client's Read returns it once as an *ICMPError, which
// matches (errors.Is) the errno a connected UDP socket returns for that
// error, and the flow goes on, as a UDP socket does.
//
// A DROPPED frame (exit→client) carries the exit's counts of the flow's
// datagrams it dropped, towards the client and from it. The exit sends it
// at most every dropReportDelay while drops go on, and once more after the
// last, so the client's FlowStats follow within that delay.

// ICMPType is the kind of an ICMP error carried in an ICMP frame.
type ICMPType uint8

// ICMP error types.
const (
	// ICMPTooBig: a packet was larger than the path behind the exit
	// carries (ICMP fragmentation needed, ICMPv6 packet too big, or the
	// exit's own EMSGSIZE); MTU is the largest IP packet that passes.
	ICMPTooBig ICMPType = 1
	// ICMPNetUnreachable: no route to the destination's network.
	ICMPNetUnreachable ICMPType = 2
	// ICMPHostUnreachable: the destination host cannot be reached.
	ICMPHostUnreachable ICMPType = 3
	// ICMPProhibited: a filter on the way refused the packet.
	ICMPProhibited ICMPType = 4
)

// icmpBodyLen is the body of an ICMP frame: type(1) seq(2) mtu(4).
const icmpBodyLen = 7

// maxNotices bounds the ICMP errors a flow keeps for Read; more are
// dropped, as a socket's error queue is bounded.
const maxNotices = 16

// dropReportDelay is the least time between two DROPPED frames of a flow.
const dropReportDelay = 250 * time.Millisecond

// ICMPError is an ICMP error the exit reported for a datagram flow.
type ICMPError struct {
	Type ICMPType
	// Seq is, on an icmp flow, the sequence number of the echo request
	// the error is about; 0 on a udp flow.
	Seq uint16
	// MTU is, for ICMPTooBig, the largest IP packet the exit's path
	// carries (IP header included).
	MTU int
}

func (e *ICMPError) Error() string {
	s := "stream: icmp: "
	switch e.Type {
	case ICMPTooBig:
		s += "packet too big, mtu " + strconv.Itoa(e.MTU)
	case ICMPNetUnreachable:
		s += "network unreachable"
	case ICMPHostUnreachable:
		s += "host unreachable"
	case ICMPProhibited:
		s += "administratively prohibited"
	default:
		s += "type " + strconv.Itoa(int(e.Type))
	}
	if e.Seq != 0 {
		s += " (echo request seq " + strconv.Itoa(int(e.Seq)) + ")"
	}
	return s
}

// Unwrap returns the errno a connected UDP socket reports for the error
// (EMSGSIZE, ENETUNREACH, EHOSTUNREACH), or nil for an unknown type.
func (e *ICMPError) Unwrap() error {
	switch e.Type {
	case ICMPTooBig:
		return syscall.EMSGSIZE
	case ICMPNetUnreachable:
		return syscall.ENETUNREACH
	case ICMPHostUnreachable, ICMPProhibited:
		return syscall.EHOSTUNREACH
	}
	return nil
}

// SendICMP reports an ICMP error for the flow to the client; the flow
// stays open. Only the exit (RoleServer) sends them, on udp and icmp
// flows. A report that finds the control queue full is dropped, as the
// network drops ICMP under load.
func (s *Stream) SendICMP(e ICMPError) error {
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
