// Package icmperr is the ICMP error a datagram flow reports without ending:
// the exit's stream layer (hop/stream) carries it from the exit to the
// client, and the packet stack (netstack) writes it to the app. Both use
// this one type, so the daemon hands it from one to the other as it is.
// It is a leaf: it imports nothing of the module.
package icmperr

import (
	"strconv"
	"syscall"
)

// Type is the kind of an ICMP error. The values are part of the stream
// protocol's ICMP frame (docs/PROTOCOL.md).
type Type uint8

// ICMP error types.
const (
	// TooBig: a packet was larger than the path carries (ICMP
	// fragmentation needed, type 3 code 4; ICMPv6 packet too big, type 2;
	// or the exit's own EMSGSIZE); MTU says what passes.
	TooBig Type = 1
	// NetUnreachable: no route to the destination's network (ICMP type 3
	// code 0, ICMPv6 type 1 code 0).
	NetUnreachable Type = 2
	// HostUnreachable: the destination host cannot be reached (ICMP type
	// 3 code 1, ICMPv6 type 1 code 3).
	HostUnreachable Type = 3
	// Prohibited: a filter on the way refused the packet (ICMP type 3
	// code 13, ICMPv6 type 1 code 1).
	Prohibited Type = 4
)

// Error is one ICMP error about a datagram flow.
type Error struct {
	Type Type
	// MTU is, for TooBig, the largest IP packet that passes, IP header
	// included.
	MTU int
	// Seq is, on an echo (icmp) flow, the sequence number of the echo
	// request the error is about; 0 on a udp flow.
	Seq uint16
}

func (e *Error) Error() string {
	s := "icmp: "
	switch e.Type {
	case TooBig:
		s += "packet too big, mtu " + strconv.Itoa(e.MTU)
	case NetUnreachable:
		s += "network unreachable"
	case HostUnreachable:
		s += "host unreachable"
	case Prohibited:
		s += "administratively prohibited"
	default:
		s += "error type " + strconv.Itoa(int(e.Type))
	}
	if e.Seq != 0 {
		s += " (echo request seq " + strconv.Itoa(int(e.Seq)) + ")"
	}
	return s
}

// Unwrap returns the errno a connected UDP socket reports for the error
// (EMSGSIZE, ENETUNREACH, EHOSTUNREACH), or nil for an unknown type.
func (e *Error) Unwrap() error {
	switch e.Type {
	case TooBig:
		return syscall.EMSGSIZE
	case NetUnreachable:
		return syscall.ENETUNREACH
	case HostUnreachable, Prohibited:
		return syscall.EHOSTUNREACH
	}
	return nil
}
