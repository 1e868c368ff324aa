package netstack

import (
	"encoding/binary"
	"errors"
	"os"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// The offload path (see the package documentation): the device file is
// read and written directly, each packet preceded by its virtio-net header.

// virtioHdr is struct virtio_net_hdr (include/uapi/linux/virtio_net.h) in
// the host's byte order, as the TUN driver uses it.
type virtioHdr struct {
	flags      uint8
	gsoType    uint8
	hdrLen     uint16
	gsoSize    uint16
	csumStart  uint16
	csumOffset uint16
}

const (
	virtioHdrLen       = 10
	virtioNeedsCsum    = 1 // VIRTIO_NET_HDR_F_NEEDS_CSUM
	virtioGSONone      = 0
	virtioGSOTCPv4     = 1
	virtioGSOTCPv6     = 4
	vnetGSOMaxSize     = 1 << 16
	errBackoffMax      = 100 * time.Millisecond
	errLogFirst        = 3
	errLogEvery        = 1000
	errBackoffPerError = time.Millisecond
)

func (h *virtioHdr) decode(b []byte) {
	h.flags = b[0]
	h.gsoType = b[1]
	h.hdrLen = binary.NativeEndian.Uint16(b[2:])
	h.gsoSize = binary.NativeEndian.Uint16(b[4:])
	h.csumStart = binary.NativeEndian.Uint16(b[6:])
	h.csumOffset = binary.NativeEndian.Uint16(b[8:])
}

func (h *virtioHdr) encode(b []byte) {
	b[0] = h.flags
	b[1] = h.gsoType
	binary.NativeEndian.PutUint16(b[2:], h.hdrLen)
	binary.NativeEndian.PutUint16(b[4:], h.gsoSize)
	binary.NativeEndian.PutUint16(b[6:], h.csumStart)
	binary.NativeEndian.PutUint16(b[8:], h.csumOffset)
}

// gsoHeader describes pkt, as gVisor built it and as copied to b (the
// whole IP packet), to the kernel. Header lengths are read from b: asking
// the PacketBuffer for its headers would make it copy a shared chunk.
func gsoHeader(pkt *stack.PacketBuffer, b []byte) virtioHdr {
	gso := pkt.GSOOptions
	if !gso.NeedsCsum || (gso.Type != stack.GSOTCPv4 && gso.Type != stack.GSOTCPv6) {
		return virtioHdr{} // complete packet, checksums included
	}
	l3 := header.IPv6MinimumSize
	if gso.Type == stack.GSOTCPv4 {
		l3 = int(b[0]&0xf) * 4
	}
	hdrLen := l3 + int(header.TCP(b[l3:]).DataOffset())
	h := virtioHdr{
		flags:      virtioNeedsCsum,
		hdrLen:     uint16(hdrLen),
		csumStart:  uint16(l3),
		csumOffset: gso.CsumOffset,
	}
	if len(b)-hdrLen > int(gso.MSS) {
		h.gsoType = virtioGSOTCPv4
		if gso.Type == stack.GSOTCPv6 {
			h.gsoType = virtioGSOTCPv6
		}
		h.gsoSize = gso.MSS
	}
	return h
}

// vnetReadLoop reads one packet or superpacket per call from the device
// file and delivers it.
func (l *link) vnetReadLoop() {
	buf := make([]byte, virtioHdrLen+maxPacket)
	var failures int
	for {
		n, err := l.vnet.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return
			}
			l.readFailed(err, &failures)
			continue
		}
		failures = 0
		if n <= virtioHdrLen {
			l.c.drops.Add(1)
			continue
		}
		var h virtioHdr
		h.decode(buf)
		switch h.gsoType {
		case virtioGSONone, virtioGSOTCPv4, virtioGSOTCPv6:
		default:
			l.c.drops.Add(1) // UDP segmentation is off; nothing else is expected
			continue
		}
		l.deliverOne(buf[virtioHdrLen:n])
	}
}

// vnetWrite writes pkt with its virtio-net header, using buf (at least
// virtioHdrLen+maxPacket bytes) as scratch.
func (l *link) vnetWrite(buf []byte, pkt *stack.PacketBuffer) error {
	n := copyPacket(buf[virtioHdrLen:], pkt)
	h := gsoHeader(pkt, buf[virtioHdrLen:virtioHdrLen+n])
	h.encode(buf)
	_, err := l.vnet.Write(buf[:virtioHdrLen+n])
	return err
}

// readFailed counts, logs and paces read errors: malformed packets are one
// off, but a device that went away must not make the loop spin.
func (l *link) readFailed(err error, failures *int) {
	l.c.drops.Add(1)
	*failures++
	if *failures <= errLogFirst || *failures%errLogEvery == 0 {
		l.logf("tun read: %v", err)
	}
	if *failures > errLogFirst {
		time.Sleep(min(time.Duration(*failures)*errBackoffPerError, errBackoffMax))
	}
}
