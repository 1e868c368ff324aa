package netstack

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/checksum"

	"github.com/pexia-network/pexia/internal/icmperr"
)

// ICMP echo ("ping"). The link reader hands echo requests to handleEcho
// before gVisor sees them (gVisor would not answer them, and a local
// answer would report a round trip that never happened). Each (source,
// destination, identifier) is one echo flow with its own upstream
// connection from EchoDialer.DialEcho; every reply read from it is written
// to the TUN as the destination's echo reply, with the app's identifier
// and the sequence number the reply carries, so the app measures the real
// round trip to the destination.

// EchoDialer is implemented by a Handler that carries ICMP echo. Without
// it, echo requests go to gVisor, which drops them.
type EchoDialer interface {
	// DialEcho returns an echo connection to f.Dst's address for the
	// app's echo requests with identifier f.Src.Port() (f.Network is
	// "icmp", f.Dst's port is 0). Each Write sends one echo request and
	// each Read returns one echo reply from the destination, both as
	// sequence number (2 bytes, big-endian) followed by the echo data. The
	// Stack owns the connection and closes it when the flow ends.
	DialEcho(ctx context.Context, f Flow) (net.Conn, error)
}

const (
	// EchoHeaderLen is the sequence number in front of the echo data in
	// the datagrams of an echo connection.
	EchoHeaderLen = 2
	// MaxEchoFlows caps concurrent echo flows; requests that would open
	// another one are dropped (and counted in Stats.Drops).
	MaxEchoFlows = 256
	// echoQueue bounds the requests of one flow waiting for its upstream
	// (while it is dialled); more are dropped.
	echoQueue = 16
	// echoTTL is the TTL (hop limit) of the replies written to the TUN.
	echoTTL = 64
)

// echoKey identifies an echo flow.
type echoKey struct {
	src, dst netip.Addr
	id       uint16
}

// echoFlow is one app's echo flow to one destination.
type echoFlow struct {
	s     *Stack
	key   echoKey
	in    chan []byte // requests, EchoHeaderLen+data each
	done  chan struct{}
	start time.Time
	last  atomic.Int64 // time of the last request or reply, ns since start
	timer *time.Timer

	mu    sync.Mutex
	up    net.Conn // set once dialled; guarded by mu
	ended bool     // guarded by mu
}

// isEchoRequest reports whether pkt is an unfragmented ICMP or ICMPv6
// echo request, and parses it (fragmented ones are reassembled first,
// echofrag.go).
func isEchoRequest(pkt []byte) (k echoKey, msg []byte, ok bool) {
	switch pkt[0] >> 4 {
	case 4:
		if len(pkt) < 20 {
			return k, nil, false
		}
		ihl := int(pkt[0]&0xf) * 4
		total := int(binary.BigEndian.Uint16(pkt[2:4]))
		frag := binary.BigEndian.Uint16(pkt[6:8])
		if pkt[9] != 1 || ihl < 20 || total > len(pkt) || total < ihl+8 || frag&0x3fff != 0 {
			return k, nil, false
		}
		icmp := pkt[ihl:total]
		if icmp[0] != 8 || icmp[1] != 0 {
			return k, nil, false
		}
		k.src = netip.AddrFrom4([4]byte(pkt[12:16]))
		k.dst = netip.AddrFrom4([4]byte(pkt[16:20]))
		k.id = binary.BigEndian.Uint16(icmp[4:6])
		return k, icmp[6:], true
	case 6:
		if len(pkt) < 48 || pkt[6] != 58 {
			return k, nil, false
		}
		total := 40 + int(binary.BigEndian.Uint16(pkt[4:6]))
		if total > len(pkt) || total < 48 {
			return k, nil, false
		}
		icmp := pkt[40:total]
		if icmp[0] != 128 || icmp[1] != 0 {
			return k, nil, false
		}
		k.src = netip.AddrFrom16([16]byte(pkt[8:24]))
		k.dst = netip.AddrFrom16([16]byte(pkt[24:40]))
		k.id = binary.BigEndian.Uint16(icmp[4:6])
		return k, icmp[6:], true
	}
	return k, nil, false
}

// handleEcho takes pkt if it is an echo request; the link reader calls it
// for every packet, and pkt is reused once it returns.
func (s *Stack) handleEcho(pkt []byte) bool {
	if whole, taken := s.frags.add(pkt); taken {
		if whole == nil {
			return true // waits for the rest, or dropped
		}
		if _, _, ok := isEchoRequest(whole); !ok {
			s.c.drops.Add(1)
			return true
		}
		pkt = whole
	}
	k, msg, ok := isEchoRequest(pkt)
	if !ok {
		return false
	}
	s.c.echoRequests.Add(1)
	f := s.echoFlow(k)
	if f == nil {
		s.c.drops.Add(1)
		return true
	}
	select {
	case f.in <- append([]byte(nil), msg...):
	default:
		s.c.drops.Add(1)
	}
	return true
}

// echoFlow returns the flow of k, starting it if needed; nil when the
// Stack is closing or MaxEchoFlows are open.
func (s *Stack) echoFlow(k echoKey) *echoFlow {
	s.echoMu.Lock()
	defer s.echoMu.Unlock()
	if f := s.echoes[k]; f != nil {
		return f
	}
	if len(s.echoes) >= MaxEchoFlows || !s.enter() {
		return nil
	}
	f := &echoFlow{s: s, key: k, in: make(chan []byte, echoQueue), done: make(chan struct{}), start: time.Now()}
	s.echoes[k] = f
	s.c.echoTotal.Add(1)
	go f.run()
	return f
}

func (f *echoFlow) run() {
	s := f.s
	defer s.wg.Done()
	defer f.reset()
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.DialTimeout)
	up, err := s.cfg.Handler.(EchoDialer).DialEcho(ctx, Flow{
		Network: "icmp",
		Src:     netip.AddrPortFrom(f.key.src, f.key.id),
		Dst:     netip.AddrPortFrom(f.key.dst, 0),
	})
	cancel()
	if err != nil {
		s.c.dialErrors.Add(1)
		return
	}
	f.mu.Lock()
	if f.ended {
		f.mu.Unlock()
		up.Close()
		return
	}
	f.up = up
	f.timer = time.AfterFunc(s.cfg.UDPIdleTimeout, f.checkIdle)
	f.mu.Unlock()
	s.track(f)
	defer s.untrack(f)

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer f.reset()
		f.download(up)
	}()
	for {
		select {
		case <-f.done:
			return
		case m := <-f.in:
			f.touch()
			if _, err := up.Write(m); err != nil {
				if f.icmpError(err, binary.BigEndian.Uint16(m), len(m)-EchoHeaderLen) {
					continue
				}
				return
			}
			s.c.bytesUp.Add(uint64(len(m) - EchoHeaderLen))
		}
	}
}

// download writes every reply read from up to the TUN.
func (f *echoFlow) download(up net.Conn) {
	buf := make([]byte, maxPacket)
	for {
		n, err := up.Read(buf)
		if err != nil {
			var ie *icmperr.Error
			if errors.As(err, &ie) {
				f.icmpError(err, ie.Seq, 0)
				continue
			}
			return
		}
		if n < EchoHeaderLen {
			continue
		}
		f.touch()
		pkt := echoReply(f.key, buf[:n])
		if pkt == nil {
			f.s.c.drops.Add(1)
			continue
		}
		if f.s.injectAll(fragment(pkt, int(f.s.link.MTU()), f.s.fragID.Add(1))) {
			f.s.c.echoReplies.Add(1)
			f.s.c.bytesDown.Add(uint64(n - EchoHeaderLen))
		}
	}
}

// icmpError writes the ICMP error err carries (an *icmperr.Error) to the app,
// about its echo request seq with n bytes of data (0 if not known), and
// reports whether err was one.
func (f *echoFlow) icmpError(err error, seq uint16, n int) bool {
	var ie *icmperr.Error
	if !errors.As(err, &ie) {
		return false
	}
	k := f.key
	v6 := k.dst.Is6()
	typ, code, ok := icmpCode(ie.Type, v6)
	if !ok {
		return true
	}
	quote := make([]byte, 8) // the request's ICMP header
	quote[0], quote[1] = 8, 0
	proto := byte(1)
	if v6 {
		quote[0], proto = 128, 58
	}
	binary.BigEndian.PutUint16(quote[4:6], k.id)
	binary.BigEndian.PutUint16(quote[6:8], seq)
	f.s.injectICMP(icmpPacket(k.dst, k.src, proto, ipHeaderLen(k.dst)+8+n, quote, typ, code, icmpInfo(ie, v6)))
	return true
}

func (f *echoFlow) touch() { f.last.Store(int64(time.Since(f.start))) }

// checkIdle ends the flow after UDPIdleTimeout without a request or a
// reply, or re-arms itself for the rest of that time.
func (f *echoFlow) checkIdle() {
	idle := f.s.cfg.UDPIdleTimeout
	quiet := time.Since(f.start) - time.Duration(f.last.Load())
	if quiet >= idle {
		f.reset()
		return
	}
	f.mu.Lock()
	if !f.ended {
		f.timer.Reset(idle - quiet)
	}
	f.mu.Unlock()
}

// reset ends the flow; the next request of the app opens a new one.
func (f *echoFlow) reset() {
	f.mu.Lock()
	if f.ended {
		f.mu.Unlock()
		return
	}
	f.ended = true
	up, timer := f.up, f.timer
	f.mu.Unlock()
	close(f.done)
	if timer != nil {
		timer.Stop()
	}
	if up != nil {
		up.Close()
	}
	f.s.echoMu.Lock()
	if f.s.echoes[f.key] == f {
		delete(f.s.echoes, f.key)
	}
	f.s.echoMu.Unlock()
}

// injectAll writes the fragments of one packet to the TUN and reports
// whether all were queued.
func (s *Stack) injectAll(pkts [][]byte) bool {
	ok := true
	for _, p := range pkts {
		ok = s.link.inject(p) && ok
	}
	return ok
}

// echoReply builds the destination's echo reply to the app: msg is
// sequence(2) ‖ data as an echo connection returns it. It returns nil if
// the packet would not fit a TUN packet.
func echoReply(k echoKey, msg []byte) []byte {
	icmpLen := 6 + len(msg) // type, code, checksum, identifier, then msg
	if k.src.Is4() {
		total := 20 + icmpLen
		if total > maxPacket {
			return nil
		}
		p := make([]byte, total)
		p[0] = 0x45
		binary.BigEndian.PutUint16(p[2:4], uint16(total))
		p[8] = echoTTL
		p[9] = 1 // ICMP
		copy(p[12:16], k.dst.AsSlice())
		copy(p[16:20], k.src.AsSlice())
		binary.BigEndian.PutUint16(p[10:12], ^checksum.Checksum(p[:20], 0))
		icmp := p[20:]
		icmp[0] = 0 // echo reply
		binary.BigEndian.PutUint16(icmp[4:6], k.id)
		copy(icmp[6:], msg)
		binary.BigEndian.PutUint16(icmp[2:4], ^checksum.Checksum(icmp, 0))
		return p
	}
	if icmpLen > maxPacket-40 {
		return nil
	}
	p := make([]byte, 40+icmpLen)
	p[0] = 0x60
	binary.BigEndian.PutUint16(p[4:6], uint16(icmpLen))
	p[6] = 58 // ICMPv6
	p[7] = echoTTL
	copy(p[8:24], k.dst.AsSlice())
	copy(p[24:40], k.src.AsSlice())
	icmp := p[40:]
	icmp[0] = 129 // echo reply
	binary.BigEndian.PutUint16(icmp[4:6], k.id)
	copy(icmp[6:], msg)
	// The pseudo-header: source, destination, upper-layer length, next
	// header.
	var ph [8]byte
	binary.BigEndian.PutUint32(ph[0:4], uint32(icmpLen))
	ph[7] = 58
	sum := checksum.Checksum(p[8:40], 0)
	sum = checksum.Checksum(ph[:], sum)
	binary.BigEndian.PutUint16(icmp[2:4], ^checksum.Checksum(icmp, sum))
	return p
}
