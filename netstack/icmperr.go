package netstack

import (
	"encoding/binary"
	"errors"
	"syscall"

	"gvisor.dev/gvisor/pkg/tcpip/checksum"
)

// ICMP errors for UDP flows. When the upstream connection of a UDP flow
// fails with an error that says the destination's network answered with
// an ICMP error, the stack writes that ICMP error to the TUN, quoting the
// flow's IP and UDP headers as a router or the destination would, and the
// flow ends. The app's kernel matches it to the app's socket, so a
// connected UDP socket sees ECONNREFUSED or EHOSTUNREACH as on a plain
// network.

// Errors an upstream datagram connection's Read or Write may wrap (or the
// system call errors ECONNREFUSED, EHOSTUNREACH and ENETUNREACH) to make
// the stack send the app an ICMP destination unreachable for the flow.
var (
	// ErrPortUnreachable: nothing listens on the destination port (ICMP
	// type 3 code 3, ICMPv6 type 1 code 4).
	ErrPortUnreachable = errors.New("netstack: port unreachable")
	// ErrHostUnreachable: the destination cannot be reached (ICMP type 3
	// code 1, ICMPv6 type 1 code 3).
	ErrHostUnreachable = errors.New("netstack: host unreachable")
)

// unreachCode returns the ICMP destination unreachable code for err (for
// IPv4 or IPv6 as v6 says), or false if err is no such error.
func unreachCode(err error, v6 bool) (byte, bool) {
	switch {
	case errors.Is(err, ErrPortUnreachable), errors.Is(err, syscall.ECONNREFUSED):
		if v6 {
			return 4, true
		}
		return 3, true
	case errors.Is(err, ErrHostUnreachable), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		if v6 {
			return 3, true
		}
		return 1, true
	}
	return 0, false
}

// udpUnreachable builds the ICMP destination unreachable that f.Dst's side
// sends to f.Src for one of the flow's datagrams: the quoted datagram is
// the flow's IP and UDP headers (its payload is not kept).
func udpUnreachable(f Flow, code byte) []byte {
	src, dst := f.Dst.Addr(), f.Src.Addr()
	udp := make([]byte, 8)
	binary.BigEndian.PutUint16(udp[0:2], f.Src.Port())
	binary.BigEndian.PutUint16(udp[2:4], f.Dst.Port())
	binary.BigEndian.PutUint16(udp[4:6], 8)
	if src.Is4() {
		inner := make([]byte, 20+8)
		inner[0] = 0x45
		binary.BigEndian.PutUint16(inner[2:4], 28)
		inner[8] = echoTTL
		inner[9] = 17 // UDP
		copy(inner[12:16], dst.AsSlice())
		copy(inner[16:20], src.AsSlice())
		binary.BigEndian.PutUint16(inner[10:12], ^checksum.Checksum(inner[:20], 0))
		copy(inner[20:], udp)
		p := make([]byte, 20+8+len(inner))
		p[0] = 0x45
		binary.BigEndian.PutUint16(p[2:4], uint16(len(p)))
		p[8] = echoTTL
		p[9] = 1 // ICMP
		copy(p[12:16], src.AsSlice())
		copy(p[16:20], dst.AsSlice())
		binary.BigEndian.PutUint16(p[10:12], ^checksum.Checksum(p[:20], 0))
		icmp := p[20:]
		icmp[0], icmp[1] = 3, code // destination unreachable
		copy(icmp[8:], inner)
		binary.BigEndian.PutUint16(icmp[2:4], ^checksum.Checksum(icmp, 0))
		return p
	}
	inner := make([]byte, 40+8)
	inner[0] = 0x60
	binary.BigEndian.PutUint16(inner[4:6], 8)
	inner[6] = 17 // UDP
	inner[7] = echoTTL
	copy(inner[8:24], dst.AsSlice())
	copy(inner[24:40], src.AsSlice())
	copy(inner[40:], udp)
	icmpLen := 8 + len(inner)
	p := make([]byte, 40+icmpLen)
	p[0] = 0x60
	binary.BigEndian.PutUint16(p[4:6], uint16(icmpLen))
	p[6] = 58 // ICMPv6
	p[7] = echoTTL
	copy(p[8:24], src.AsSlice())
	copy(p[24:40], dst.AsSlice())
	icmp := p[40:]
	icmp[0], icmp[1] = 1, code // destination unreachable
	copy(icmp[8:], inner)
	var ph [8]byte
	binary.BigEndian.PutUint32(ph[0:4], uint32(icmpLen))
	ph[7] = 58
	sum := checksum.Checksum(p[8:40], 0)
	sum = checksum.Checksum(ph[:], sum)
	binary.BigEndian.PutUint16(icmp[2:4], ^checksum.Checksum(icmp, sum))
	return p
}

// unreachable tells the app of flow f about err, if err is an ICMP error
// (see ErrPortUnreachable), and reports whether it did.
func (s *Stack) unreachable(f Flow, err error) bool {
	code, ok := unreachCode(err, f.Dst.Addr().Is6())
	if !ok {
		return false
	}
	if s.link.inject(udpUnreachable(f, code)) {
		s.c.icmpErrors.Add(1)
	}
	return true
}
