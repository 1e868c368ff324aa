package netstack

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"syscall"

	"gvisor.dev/gvisor/pkg/tcpip/checksum"

	"github.com/pexia-network/pexia/internal/icmperr"
)

// ICMP errors. When an upstream connection reports that the destination's
// network answered with an ICMP error, the stack writes that ICMP error to
// the TUN from the destination's address, quoting the app's packet's IP
// header and the first 8 bytes after it (the UDP header, the TCP header's
// ports and sequence number, the echo request's header), as a router or
// the destination would. The app's kernel matches it to the app's socket,
// so the app sees ECONNREFUSED, EHOSTUNREACH, ENETUNREACH or EMSGSIZE (and
// learns the path MTU) as on a plain network.
//
//   - A UDP flow whose upstream fails with ErrPortUnreachable or
//     ErrHostUnreachable (or ECONNREFUSED, EHOSTUNREACH, ENETUNREACH) gets
//     destination unreachable, and the flow ends.
//   - A UDP or echo flow whose upstream's Read or Write returns an
//     *icmperr.Error gets that error and goes on: packet too big with the MTU
//     (a datagram the tunnel cannot carry, or the exit's path MTU), or
//     unreachable for one echo request.
//   - A TCP connection whose DialTCP fails with ErrHostUnreachable (or
//     EHOSTUNREACH, ENETUNREACH) gets host unreachable for its SYN instead
//     of a RST, so connect fails with EHOSTUNREACH, not ECONNREFUSED.

// Errors an upstream connection's Dial, Read or Write may wrap (or the
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

// icmpCode returns the ICMP (v6 false) or ICMPv6 type and code of t.
func icmpCode(t icmperr.Type, v6 bool) (typ, code byte, ok bool) {
	switch t {
	case icmperr.TooBig:
		if v6 {
			return 2, 0, true
		}
		return 3, 4, true
	case icmperr.NetUnreachable:
		if v6 {
			return 1, 0, true
		}
		return 3, 0, true
	case icmperr.HostUnreachable:
		if v6 {
			return 1, 3, true
		}
		return 3, 1, true
	case icmperr.Prohibited:
		if v6 {
			return 1, 1, true
		}
		return 3, 13, true
	}
	return 0, 0, false
}

// unreachCode returns the ICMP destination unreachable code for err (for
// IPv4 or IPv6 as v6 says), or false if err is no such error.
func unreachCode(err error, v6 bool) (byte, bool) {
	switch {
	case errors.Is(err, ErrPortUnreachable), errors.Is(err, syscall.ECONNREFUSED):
		if v6 {
			return 4, true
		}
		return 3, true
	case isHostUnreachable(err):
		if v6 {
			return 3, true
		}
		return 1, true
	}
	return 0, false
}

func isHostUnreachable(err error) bool {
	return errors.Is(err, ErrHostUnreachable) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH)
}

// icmpPacket builds the ICMP error that from (the destination of the app's
// packet) sends to the app at to, about a packet of protocol proto from to
// to from, of totalLen bytes, whose first bytes after the IP header were
// quote. info is the ICMP header's second word (the MTU of a too-big).
func icmpPacket(from, to netip.Addr, proto byte, totalLen int, quote []byte, typ, code byte, info uint32) []byte {
	if from.Is4() {
		inner := make([]byte, 20+len(quote))
		inner[0] = 0x45
		binary.BigEndian.PutUint16(inner[2:4], uint16(min(max(totalLen, len(inner)), 65535)))
		inner[6] = 0x40 // don't fragment
		inner[8] = echoTTL
		inner[9] = proto
		copy(inner[12:16], to.AsSlice())
		copy(inner[16:20], from.AsSlice())
		binary.BigEndian.PutUint16(inner[10:12], ^checksum.Checksum(inner[:20], 0))
		copy(inner[20:], quote)
		p := make([]byte, 20+8+len(inner))
		p[0] = 0x45
		binary.BigEndian.PutUint16(p[2:4], uint16(len(p)))
		p[8] = echoTTL
		p[9] = 1 // ICMP
		copy(p[12:16], from.AsSlice())
		copy(p[16:20], to.AsSlice())
		binary.BigEndian.PutUint16(p[10:12], ^checksum.Checksum(p[:20], 0))
		icmp := p[20:]
		icmp[0], icmp[1] = typ, code
		binary.BigEndian.PutUint32(icmp[4:8], info)
		copy(icmp[8:], inner)
		binary.BigEndian.PutUint16(icmp[2:4], ^checksum.Checksum(icmp, 0))
		return p
	}
	inner := make([]byte, 40+len(quote))
	inner[0] = 0x60
	binary.BigEndian.PutUint16(inner[4:6], uint16(min(max(totalLen-40, len(quote)), 65535)))
	inner[6] = proto
	inner[7] = echoTTL
	copy(inner[8:24], to.AsSlice())
	copy(inner[24:40], from.AsSlice())
	copy(inner[40:], quote)
	icmpLen := 8 + len(inner)
	p := make([]byte, 40+icmpLen)
	p[0] = 0x60
	binary.BigEndian.PutUint16(p[4:6], uint16(icmpLen))
	p[6] = 58 // ICMPv6
	p[7] = echoTTL
	copy(p[8:24], from.AsSlice())
	copy(p[24:40], to.AsSlice())
	icmp := p[40:]
	icmp[0], icmp[1] = typ, code
	binary.BigEndian.PutUint32(icmp[4:8], info)
	copy(icmp[8:], inner)
	var ph [8]byte
	binary.BigEndian.PutUint32(ph[0:4], uint32(icmpLen))
	ph[7] = 58
	sum := checksum.Checksum(p[8:40], 0)
	sum = checksum.Checksum(ph[:], sum)
	binary.BigEndian.PutUint16(icmp[2:4], ^checksum.Checksum(icmp, sum))
	return p
}

// ipHeaderLen is the IP header of a's family, without options.
func ipHeaderLen(a netip.Addr) int {
	if a.Is4() {
		return 20
	}
	return 40
}

// udpQuote is the UDP header of a datagram of n bytes of flow f.
func udpQuote(f Flow, n int) []byte {
	udp := make([]byte, 8)
	binary.BigEndian.PutUint16(udp[0:2], f.Src.Port())
	binary.BigEndian.PutUint16(udp[2:4], f.Dst.Port())
	binary.BigEndian.PutUint16(udp[4:6], uint16(min(8+n, 65535)))
	return udp
}

// udpUnreachable builds the ICMP destination unreachable that f.Dst's side
// sends to f.Src for one of the flow's datagrams: the quoted datagram is
// the flow's IP and UDP headers (its payload is not kept).
func udpUnreachable(f Flow, code byte) []byte {
	typ := byte(3)
	if f.Dst.Addr().Is6() {
		typ = 1
	}
	return icmpPacket(f.Dst.Addr(), f.Src.Addr(), 17, 0, udpQuote(f, 0), typ, code, 0)
}

// unreachable tells the app of flow f about err, if err is an ICMP error
// (see ErrPortUnreachable), and reports whether it did.
func (s *Stack) unreachable(f Flow, err error) bool {
	code, ok := unreachCode(err, f.Dst.Addr().Is6())
	if !ok {
		return false
	}
	s.injectICMP(udpUnreachable(f, code))
	return true
}

// udpICMP writes the ICMP error err carries (an *icmperr.Error) to the app of
// UDP flow f, for a datagram of n bytes (0 if not known), and reports
// whether err was one.
func (s *Stack) udpICMP(f Flow, n int, err error) bool {
	var ie *icmperr.Error
	if !errors.As(err, &ie) {
		return false
	}
	v6 := f.Dst.Addr().Is6()
	if typ, code, ok := icmpCode(ie.Type, v6); ok {
		hdr := ipHeaderLen(f.Dst.Addr())
		s.injectICMP(icmpPacket(f.Dst.Addr(), f.Src.Addr(), 17, hdr+8+n, udpQuote(f, n), typ, code, icmpInfo(ie, v6)))
	}
	return true
}

// icmpInfo is the second word of the ICMP header for ie: the MTU of a
// too-big (the low 16 bits in ICMP, all 32 in ICMPv6).
func icmpInfo(ie *icmperr.Error, v6 bool) uint32 {
	if ie.Type != icmperr.TooBig {
		return 0
	}
	mtu := max(ie.MTU, 0)
	if !v6 {
		mtu = min(mtu, 65535)
	}
	return uint32(mtu)
}

func (s *Stack) injectICMP(pkt []byte) {
	if s.link.inject(pkt) {
		s.c.icmpErrors.Add(1)
	}
}
