package netstack

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/checksum"
)

// Fragmented echo requests and replies. An echo request larger than the
// TUN's MTU (ping -s 3000) leaves the app in IP fragments, which the link
// reader sees before gVisor, whose own reassembly would hand the result to
// a stack that does not answer echoes. So fragments of ICMP and ICMPv6
// packets are reassembled here (RFC 791, RFC 8200 4.5), and a whole echo
// request goes to its echo flow like any other; a reassembled packet that
// is not an echo request is dropped, as gVisor would. A reply larger than
// the TUN's MTU is written to it in fragments, as the destination's IP
// layer would have sent it.

const (
	// fragTimeout is how long the fragments of a packet wait for the
	// rest (RFC 8200's 60 s is for hosts on real paths; a TUN delivers
	// in order within milliseconds).
	fragTimeout = 30 * time.Second
	// maxFragPackets bounds the packets being reassembled at once, and
	// maxFragBytes the bytes they hold; fragments beyond are dropped.
	maxFragPackets = 64
	maxFragBytes   = 4 << 20
)

// fragKey identifies the fragments of one packet.
type fragKey struct {
	src, dst netip.Addr
	id       uint32
}

// fragPacket is a packet being reassembled: the payload after the IP
// header (the ICMP message) in pieces.
type fragPacket struct {
	first  time.Time
	pieces []fragPiece
	total  int // payload length, known once the last fragment arrived; -1 before
	bytes  int
}

type fragPiece struct {
	off  int
	data []byte
}

// reassembler holds the fragments of ICMP and ICMPv6 packets read from
// the TUN.
type reassembler struct {
	mu    sync.Mutex
	pkts  map[fragKey]*fragPacket
	bytes int
	now   func() time.Time
}

// icmpFragment reports whether pkt is a fragment of an ICMP (IPv4) or
// ICMPv6 packet, and parses it: the header of the unfragmented packet to
// be (the IPv4 header, or the fixed IPv6 header with next header 58), the
// fragment's offset and data, and whether more fragments follow.
func icmpFragment(pkt []byte) (k fragKey, hdr []byte, off int, data []byte, more, ok bool) {
	switch pkt[0] >> 4 {
	case 4:
		if len(pkt) < 20 {
			return
		}
		ihl := int(pkt[0]&0xf) * 4
		total := int(binary.BigEndian.Uint16(pkt[2:4]))
		frag := binary.BigEndian.Uint16(pkt[6:8])
		if pkt[9] != 1 || ihl < 20 || total > len(pkt) || total < ihl || frag&0x3fff == 0 {
			return
		}
		k.src = netip.AddrFrom4([4]byte(pkt[12:16]))
		k.dst = netip.AddrFrom4([4]byte(pkt[16:20]))
		k.id = uint32(binary.BigEndian.Uint16(pkt[4:6])) | 1<<16 // apart from IPv6's
		return k, pkt[:ihl], int(frag&0x1fff) * 8, pkt[ihl:total], frag&0x2000 != 0, true
	case 6:
		// Only a Fragment header right after the fixed header, holding
		// ICMPv6: what ping and the kernel send.
		if len(pkt) < 48 || pkt[6] != 44 || pkt[40] != 58 {
			return
		}
		total := 40 + int(binary.BigEndian.Uint16(pkt[4:6]))
		if total > len(pkt) || total < 48 {
			return
		}
		fo := binary.BigEndian.Uint16(pkt[42:44])
		k.src = netip.AddrFrom16([16]byte(pkt[8:24]))
		k.dst = netip.AddrFrom16([16]byte(pkt[24:40]))
		k.id = binary.BigEndian.Uint32(pkt[44:48])
		hdr = slices.Clone(pkt[:40])
		hdr[6] = 58
		return k, hdr, int(fo>>3) * 8, pkt[48:total], fo&1 != 0, true
	}
	return
}

// add takes a fragment; when it completes its packet, add returns the
// whole packet (a fresh IP packet without fragmentation). taken reports
// whether pkt was an ICMP fragment (taken, whether or not it completed
// one, or was dropped).
func (r *reassembler) add(pkt []byte) (whole []byte, taken bool) {
	k, hdr, off, data, more, ok := icmpFragment(pkt)
	if !ok {
		return nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	for key, p := range r.pkts {
		if now.Sub(p.first) > fragTimeout {
			r.dropLocked(key, p)
		}
	}
	if r.pkts == nil {
		r.pkts = make(map[fragKey]*fragPacket)
	}
	p := r.pkts[k]
	if p == nil {
		if len(r.pkts) >= maxFragPackets {
			return nil, true
		}
		p = &fragPacket{first: now, total: -1}
		r.pkts[k] = p
	}
	end := off + len(data)
	if end > maxPacket-len(hdr) || r.bytes+len(data) > maxFragBytes || more && len(data)%8 != 0 {
		r.dropLocked(k, p)
		return nil, true
	}
	if !more {
		if p.total >= 0 && p.total != end {
			r.dropLocked(k, p)
			return nil, true
		}
		p.total = end
	}
	p.pieces = append(p.pieces, fragPiece{off, slices.Clone(data)})
	p.bytes += len(data)
	r.bytes += len(data)
	if off == 0 {
		// The first fragment's header stands for the packet's.
		p.pieces[len(p.pieces)-1].data = slices.Concat(hdr, data)
		p.pieces[len(p.pieces)-1].off = -len(hdr)
	}
	if p.total < 0 {
		return nil, true
	}
	// Complete when the pieces cover the header and 0..total.
	slices.SortFunc(p.pieces, func(a, b fragPiece) int { return a.off - b.off })
	if p.pieces[0].off >= 0 {
		return nil, true
	}
	hlen := -p.pieces[0].off
	at := 0
	for _, pc := range p.pieces {
		if pc.off > at {
			return nil, true
		}
		at = max(at, pc.off+len(pc.data))
	}
	if at < p.total {
		return nil, true
	}
	whole = make([]byte, hlen+p.total)
	for _, pc := range p.pieces {
		copy(whole[hlen+pc.off:], pc.data) // overlaps: later pieces win
	}
	r.dropLocked(k, p)
	if whole[0]>>4 == 4 {
		binary.BigEndian.PutUint16(whole[2:4], uint16(len(whole)))
		binary.BigEndian.PutUint16(whole[6:8], 0)
		whole[10], whole[11] = 0, 0
		binary.BigEndian.PutUint16(whole[10:12], ^checksum.Checksum(whole[:hlen], 0))
	} else {
		binary.BigEndian.PutUint16(whole[4:6], uint16(len(whole)-40))
	}
	return whole, true
}

func (r *reassembler) dropLocked(k fragKey, p *fragPacket) {
	r.bytes -= p.bytes
	delete(r.pkts, k)
}

// fragment splits pkt, an IPv4 packet with a 20-byte header or an IPv6
// packet with no extension header, into fragments of at most mtu bytes;
// it returns pkt alone if it fits. id is the fragment identification.
func fragment(pkt []byte, mtu int, id uint32) [][]byte {
	if len(pkt) <= mtu {
		return [][]byte{pkt}
	}
	var out [][]byte
	if pkt[0]>>4 == 4 {
		payload := pkt[20:]
		step := (mtu - 20) &^ 7
		for off := 0; off < len(payload); off += step {
			n := min(step, len(payload)-off)
			f := make([]byte, 20+n)
			copy(f, pkt[:20])
			binary.BigEndian.PutUint16(f[2:4], uint16(20+n))
			binary.BigEndian.PutUint16(f[4:6], uint16(id))
			fo := uint16(off / 8)
			if off+n < len(payload) {
				fo |= 0x2000
			}
			binary.BigEndian.PutUint16(f[6:8], fo)
			f[10], f[11] = 0, 0
			binary.BigEndian.PutUint16(f[10:12], ^checksum.Checksum(f[:20], 0))
			copy(f[20:], payload[off:off+n])
			out = append(out, f)
		}
		return out
	}
	payload := pkt[40:]
	next := pkt[6]
	step := (mtu - 48) &^ 7
	for off := 0; off < len(payload); off += step {
		n := min(step, len(payload)-off)
		f := make([]byte, 48+n)
		copy(f, pkt[:40])
		binary.BigEndian.PutUint16(f[4:6], uint16(8+n))
		f[6] = 44
		f[40] = next
		fo := uint16(off)
		if off+n < len(payload) {
			fo |= 1
		}
		binary.BigEndian.PutUint16(f[42:44], fo)
		binary.BigEndian.PutUint32(f[44:48], id)
		copy(f[48:], payload[off:off+n])
		out = append(out, f)
	}
	return out
}
