package netlab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// EtherType values Packet.EtherType takes for the frames Capture decodes.
const (
	EtherTypeIPv4 = 0x0800
	EtherTypeARP  = 0x0806
	EtherTypeIPv6 = 0x86dd
)

// IP protocol numbers of Packet.Proto.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// TCP flag bits of Packet.TCPFlags.
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPRst = 0x04
	TCPAck = 0x10
)

// Packet is one frame seen on a captured interface. With segmentation
// offload a single frame can carry several TCP segments, so count
// connections by SYN, not packets by size.
type Packet struct {
	Time      time.Time
	Outgoing  bool   // sent by the captured host, not received by it
	EtherType uint16 // EtherTypeIPv4, EtherTypeIPv6, EtherTypeARP, …
	Len       int    // frame length in bytes
	// Src and Dst are the IP addresses, or ARP's sender and target
	// protocol addresses; zero for other frames.
	Src, Dst netip.Addr
	// Proto is the IP protocol after any IPv6 extension headers.
	Proto uint8
	// SrcPort and DstPort are set for TCP and UDP (not for non-first
	// fragments), ICMPType for ICMP and ICMPv6, TCPFlags for TCP.
	SrcPort, DstPort uint16
	ICMPType         uint8
	TCPFlags         uint8
}

// LinkControl reports whether p is the link's own housekeeping rather than
// traffic: ARP, IPv6 neighbour and router discovery, and MLD.
func (p Packet) LinkControl() bool {
	if p.EtherType == EtherTypeARP {
		return true
	}
	if p.Proto != ProtoICMPv6 {
		return false
	}
	switch p.ICMPType {
	case 130, 131, 132, 133, 134, 135, 136, 137, 143: // MLD, RS, RA, NS, NA, redirect, MLDv2
		return true
	}
	return false
}

// Peer is the far end of p: its destination when sent, its source when
// received.
func (p Packet) Peer() netip.Addr {
	if p.Outgoing {
		return p.Dst
	}
	return p.Src
}

func (p Packet) String() string {
	dir := "in "
	if p.Outgoing {
		dir = "out"
	}
	ts := p.Time.Format("15:04:05.000000")
	switch {
	case p.EtherType == EtherTypeARP:
		return fmt.Sprintf("%s %s arp %s > %s", ts, dir, p.Src, p.Dst)
	case p.Proto == ProtoTCP || p.Proto == ProtoUDP:
		name := "udp"
		if p.Proto == ProtoTCP {
			name = fmt.Sprintf("tcp[%s]", tcpFlagString(p.TCPFlags))
		}
		return fmt.Sprintf("%s %s %s %s > %s len %d", ts, dir, name,
			netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort), p.Len)
	case p.Proto == ProtoICMP || p.Proto == ProtoICMPv6:
		return fmt.Sprintf("%s %s icmp type %d %s > %s", ts, dir, p.ICMPType, p.Src, p.Dst)
	case p.Src.IsValid():
		return fmt.Sprintf("%s %s proto %d %s > %s len %d", ts, dir, p.Proto, p.Src, p.Dst, p.Len)
	}
	return fmt.Sprintf("%s %s ethertype %#04x len %d", ts, dir, p.EtherType, p.Len)
}

func tcpFlagString(f uint8) string {
	var b []byte
	for _, x := range []struct {
		bit uint8
		c   byte
	}{{TCPSyn, 'S'}, {TCPFin, 'F'}, {TCPRst, 'R'}, {TCPAck, '.'}} {
		if f&x.bit != 0 {
			b = append(b, x.c)
		}
	}
	return string(b)
}

// Packets is a capture's record, oldest first.
type Packets []Packet

// Filter returns the packets for which keep is true.
func (ps Packets) Filter(keep func(Packet) bool) Packets {
	var out Packets
	for _, p := range ps {
		if keep(p) {
			out = append(out, p)
		}
	}
	return out
}

// Traffic returns the packets that are not link control (see
// Packet.LinkControl).
func (ps Packets) Traffic() Packets {
	return ps.Filter(func(p Packet) bool { return !p.LinkControl() })
}

// With returns the packets to or from addr.
func (ps Packets) With(addr netip.Addr) Packets {
	return ps.Filter(func(p Packet) bool { return p.Src == addr || p.Dst == addr })
}

// Without returns the packets whose peer is none of addrs: on a client's
// outer interface, Traffic().Without(firstHop, chainRPC) is every leak.
func (ps Packets) Without(addrs ...netip.Addr) Packets {
	return ps.Filter(func(p Packet) bool { return !slices.Contains(addrs, p.Peer()) })
}

// Capture records the frames crossing one interface of a host.
type Capture struct {
	fd   int
	wake int // eventfd that ends the reader
	done chan struct{}
	stop sync.Once

	mu   sync.Mutex // guards pkts and err
	pkts Packets
	err  error
}

// Capture starts recording every frame, in and out, crossing the named
// interface of the host (HostInterface for its link to the bridge). It uses
// an AF_PACKET socket opened in the host's namespace, so it needs no tools
// and sees exactly what the host's kernel sends and receives.
func (h *Host) Capture(iface string) (*Capture, error) {
	c := &Capture{fd: -1, wake: -1, done: make(chan struct{})}
	err := h.Do(func() error {
		link, err := net.InterfaceByName(iface)
		if err != nil {
			return err
		}
		// Protocol 0 receives nothing until bind, so the queue never holds
		// frames of other interfaces.
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("packet socket: %w", err)
		}
		c.fd = fd
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
			return fmt.Errorf("SO_TIMESTAMPNS: %w", err)
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20); err != nil {
			return fmt.Errorf("SO_RCVBUFFORCE: %w", err)
		}
		sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: link.Index}
		if err := unix.Bind(fd, sa); err != nil {
			return fmt.Errorf("bind to %s: %w", iface, err)
		}
		return nil
	})
	if err == nil {
		c.wake, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	}
	if err != nil {
		c.closeFDs()
		return nil, fmt.Errorf("netlab: %s: capture %s: %w", h.name, iface, err)
	}
	go c.run()
	return c, nil
}

// Stop ends the capture and returns every frame seen, including those
// still queued in the socket when Stop was called. A frame that was sent
// or received before a reply the caller has already read is always there.
// Stop can be called more than once.
func (c *Capture) Stop() Packets {
	c.stop.Do(func() {
		var one [8]byte
		binary.NativeEndian.PutUint64(one[:], 1)
		_, _ = unix.Write(c.wake, one[:])
		<-c.done
		c.closeFDs()
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.pkts)
}

// Err reports a read error that ended the capture early, if any.
func (c *Capture) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *Capture) closeFDs() {
	if c.fd >= 0 {
		unix.Close(c.fd)
	}
	if c.wake >= 0 {
		unix.Close(c.wake)
	}
}

func (c *Capture) run() {
	defer close(c.done)
	fds := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}, {Fd: int32(c.wake), Events: unix.POLLIN}}
	buf := make([]byte, 256) // headers only; MSG_TRUNC reports the full length
	oob := make([]byte, 64)
	for {
		if _, err := unix.Poll(fds, -1); err != nil && !errors.Is(err, unix.EINTR) {
			c.fail(fmt.Errorf("poll: %w", err))
			return
		}
		if err := c.drain(buf, oob); err != nil {
			c.fail(err)
			return
		}
		if fds[1].Revents != 0 {
			return
		}
	}
}

// drain reads every queued frame.
func (c *Capture) drain(buf, oob []byte) error {
	for {
		n, oobn, _, from, err := unix.Recvmsg(c.fd, buf, oob, unix.MSG_TRUNC)
		if errors.Is(err, unix.EAGAIN) {
			return nil
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		p := parseFrame(buf[:min(n, len(buf))], n)
		p.Time = packetTime(oob[:oobn])
		if ll, ok := from.(*unix.SockaddrLinklayer); ok {
			p.Outgoing = ll.Pkttype == unix.PACKET_OUTGOING
		}
		c.mu.Lock()
		c.pkts = append(c.pkts, p)
		c.mu.Unlock()
	}
}

func (c *Capture) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = err
}

// packetTime is the kernel's receive timestamp from the control messages,
// or now if there is none.
func packetTime(oob []byte) time.Time {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err == nil {
		for _, m := range msgs {
			if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
				sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
				nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
				return time.Unix(sec, nsec)
			}
		}
	}
	return time.Now()
}

// parseFrame decodes the headers of an Ethernet frame whose first bytes
// are b and whose full length is n.
func parseFrame(b []byte, n int) Packet {
	p := Packet{Len: n}
	if len(b) < 14 {
		return p
	}
	et := binary.BigEndian.Uint16(b[12:14])
	b = b[14:]
	for (et == 0x8100 || et == 0x88a8) && len(b) >= 4 { // VLAN tags
		et = binary.BigEndian.Uint16(b[2:4])
		b = b[4:]
	}
	p.EtherType = et
	switch et {
	case EtherTypeIPv4:
		parseIPv4(&p, b)
	case EtherTypeIPv6:
		parseIPv6(&p, b)
	case EtherTypeARP:
		// Ethernet/IPv4 ARP: sender protocol address at 14, target at 24.
		if len(b) >= 28 && b[4] == 6 && b[5] == 4 {
			p.Src = netip.AddrFrom4([4]byte(b[14:18]))
			p.Dst = netip.AddrFrom4([4]byte(b[24:28]))
		}
	}
	return p
}

func parseIPv4(p *Packet, b []byte) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return
	}
	ihl := int(b[0]&0x0f) * 4
	p.Proto = b[9]
	p.Src = netip.AddrFrom4([4]byte(b[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	fragOffset := binary.BigEndian.Uint16(b[6:8]) & 0x1fff
	if ihl < 20 || len(b) < ihl || fragOffset != 0 {
		return
	}
	parseTransport(p, b[ihl:])
}

func parseIPv6(p *Packet, b []byte) {
	if len(b) < 40 || b[0]>>4 != 6 {
		return
	}
	p.Src = netip.AddrFrom16([16]byte(b[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	next := b[6]
	b = b[40:]
	for {
		switch next {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(b) < 8 {
				p.Proto = next
				return
			}
			l := (int(b[1]) + 1) * 8
			next = b[0]
			if len(b) < l {
				p.Proto = next
				return
			}
			b = b[l:]
			continue
		case 44: // fragment
			if len(b) < 8 {
				p.Proto = next
				return
			}
			p.Proto = b[0]
			if binary.BigEndian.Uint16(b[2:4])&0xfff8 != 0 {
				return // not the first fragment: no transport header
			}
			parseTransport(p, b[8:])
			return
		}
		p.Proto = next
		parseTransport(p, b)
		return
	}
}

func parseTransport(p *Packet, b []byte) {
	switch p.Proto {
	case ProtoTCP, ProtoUDP:
		if len(b) < 4 {
			return
		}
		p.SrcPort = binary.BigEndian.Uint16(b[0:2])
		p.DstPort = binary.BigEndian.Uint16(b[2:4])
		if p.Proto == ProtoTCP && len(b) >= 14 {
			p.TCPFlags = b[13]
		}
	case ProtoICMP, ProtoICMPv6:
		if len(b) >= 1 {
			p.ICMPType = b[0]
		}
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
