package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// maxUDPFlows caps the destinations of one association.
	maxUDPFlows = 256
	// udpQueueLen is how many datagrams wait for one destination while its
	// flow is being dialled or written; more are dropped, as a full socket
	// buffer would.
	udpQueueLen = 64
	// maxDatagram is the largest UDP payload.
	maxDatagram = 65535
	// udpHeaderLen is RSV(2) FRAG(1) before the address.
	udpHeaderLen = 3
)

// association is one UDP ASSOCIATE: a UDP socket for the client and a flow
// per destination.
type association struct {
	s      *Server
	ctx    context.Context // canceled when the control connection ends
	cancel context.CancelFunc
	pc     *net.UDPConn
	from   net.Addr // the control connection's client, for logs

	clientIP   netip.Addr
	clientPort uint16         // from the request; 0 means lock on the first datagram
	client     netip.AddrPort // only touched by readClient

	mu    sync.Mutex
	flows map[string]*udpFlow // guarded by mu; key: destination as addressed

	dropped atomic.Int64 // datagrams dropped (wrong source, fragments, full queues, too many flows)
	wg      sync.WaitGroup
}

// udpFlow carries one destination's datagrams.
type udpFlow struct {
	a    *association
	dst  string
	hdr  []byte         // RSV RSV FRAG ATYP ADDR PORT, as the client addressed dst
	to   netip.AddrPort // the client's UDP address
	out  chan []byte
	act  *activity
	gone chan struct{} // closed when the reply reader ends
}

// socksAssociate serves UDP ASSOCIATE (RFC 1928 §4, §7) until the control
// connection closes.
func (s *Server) socksAssociate(c *bufConn, req socksAddr) {
	from := c.RemoteAddr()
	clientIP := addrPortOf(from).Addr().Unmap()
	localIP := addrPortOf(c.LocalAddr()).Addr().Unmap()
	if !clientIP.IsValid() || !localIP.IsValid() {
		// Not an IP connection (a unix socket, say): the client is local.
		clientIP = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		localIP = clientIP
	}
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(localIP, 0)))
	if err != nil {
		writeReply(c, repGeneralFailure, netip.AddrPort{})
		s.logf("socks %s: UDP ASSOCIATE: %v", from, err)
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	a := &association{
		s:        s,
		ctx:      ctx,
		cancel:   cancel,
		pc:       pc,
		from:     from,
		clientIP: clientIP,
		flows:    make(map[string]*udpFlow),
	}
	if req.ip.IsValid() && !req.ip.IsUnspecified() && req.ip != clientIP {
		s.vlogf("socks %s: UDP ASSOCIATE: client named source %s; accepting datagrams from %s only", from, req, clientIP)
	}
	a.clientPort = req.port
	bnd := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	if err := writeReply(c, repSucceeded, bnd); err != nil {
		pc.Close()
		cancel()
		s.vlogf("socks %s: UDP ASSOCIATE: write reply: %v", from, err)
		return
	}
	start := time.Now()
	s.vlogf("socks %s: UDP ASSOCIATE: relaying on %s", from, bnd)
	a.wg.Add(1)
	go a.readClient()

	// The association lives as long as the control connection. The client
	// has nothing more to say on it; whatever it sends is discarded.
	io.Copy(io.Discard, c)

	a.cancel()
	a.pc.Close()
	a.wg.Wait()
	s.vlogf("socks %s: UDP ASSOCIATE: closed after %v, %d datagrams dropped",
		from, time.Since(start).Round(time.Millisecond), a.dropped.Load())
}

// readClient reads the client's datagrams and hands each to its
// destination's flow.
func (a *association) readClient() {
	defer a.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, src, err := a.pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if a.ctx.Err() == nil {
				a.s.vlogf("socks %s: UDP ASSOCIATE: read: %v", a.from, err)
				a.cancel()
			}
			return
		}
		if !a.fromClient(netip.AddrPortFrom(src.Addr().Unmap(), src.Port())) {
			a.dropped.Add(1)
			continue
		}
		b := buf[:n]
		if len(b) < udpHeaderLen+1 {
			a.dropped.Add(1)
			continue
		}
		if b[2] != 0 {
			// A fragment: reassembly is optional (RFC 1928 §7) and no
			// client we know of fragments.
			a.dropped.Add(1)
			continue
		}
		dst, n, err := parseAddr(b[udpHeaderLen:])
		if err != nil {
			a.dropped.Add(1)
			continue
		}
		hdrLen := udpHeaderLen + n
		a.send(dst.String(), b[:hdrLen], b[hdrLen:])
	}
}

// fromClient says whether src may send on this association, locking onto
// the first port seen when the request named none.
func (a *association) fromClient(src netip.AddrPort) bool {
	if src.Addr() != a.clientIP {
		return false
	}
	if a.client.IsValid() {
		return src == a.client
	}
	if a.clientPort != 0 && src.Port() != a.clientPort {
		return false
	}
	a.client = src
	return true
}

// send queues payload for dst, opening its flow on the first datagram.
func (a *association) send(dst string, hdr, payload []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.flows[dst]
	if f == nil {
		if len(a.flows) >= maxUDPFlows {
			a.dropped.Add(1)
			return
		}
		h := make([]byte, len(hdr))
		copy(h, hdr)
		h[0], h[1], h[2] = 0, 0, 0
		f = &udpFlow{
			a:    a,
			dst:  dst,
			hdr:  h,
			to:   a.client,
			out:  make(chan []byte, udpQueueLen),
			act:  newActivity(),
			gone: make(chan struct{}),
		}
		a.flows[dst] = f
		a.wg.Add(1)
		go f.run()
	}
	select {
	case f.out <- append([]byte(nil), payload...):
	default:
		a.dropped.Add(1)
	}
}

// remove forgets f; a later datagram to its destination opens a new flow.
func (a *association) remove(f *udpFlow) {
	a.mu.Lock()
	if a.flows[f.dst] == f {
		delete(a.flows, f.dst)
	}
	a.mu.Unlock()
}

// run dials the destination and writes the queued datagrams to it until
// the flow idles out, its connection fails, or the association ends.
func (f *udpFlow) run() {
	a := f.a
	defer a.wg.Done()
	defer a.remove(f)
	conn, err := a.s.dial(a.ctx, "udp", f.dst)
	if err != nil {
		if a.ctx.Err() == nil {
			a.s.vlogf("socks %s: UDP %s: %v", a.from, f.dst, err)
		}
		return
	}
	defer conn.Close()
	a.s.vlogf("socks %s: UDP %s: open", a.from, f.dst)
	a.wg.Add(1)
	go f.readReplies(conn)

	idle := a.s.cfg.UDPIdleTimeout
	var tick <-chan time.Time
	var t *time.Timer
	if idle > 0 {
		t = time.NewTimer(idle)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case b := <-f.out:
			f.write(conn, b)
		case <-tick:
			if wait := time.Until(f.act.last().Add(idle)); wait > 0 {
				t.Reset(wait)
				continue
			}
			a.s.vlogf("socks %s: UDP %s: idle, closed", a.from, f.dst)
			return
		case <-f.gone:
			return
		case <-a.ctx.Done():
			return
		}
	}
}

// write sends one datagram. Errors are per datagram (a refused port, a
// datagram too large for the circuit): it is dropped and the flow goes on;
// a dead connection is noticed by the reply reader.
func (f *udpFlow) write(conn net.Conn, b []byte) {
	f.act.touch()
	if _, err := conn.Write(b); err != nil {
		f.a.dropped.Add(1)
		if !errors.Is(err, net.ErrClosed) {
			f.a.s.vlogf("socks %s: UDP %s: write %d bytes: %v", f.a.from, f.dst, len(b), err)
		}
	}
}

// readReplies wraps the destination's datagrams in the SOCKS UDP header and
// sends them to the client.
func (f *udpFlow) readReplies(conn net.Conn) {
	defer f.a.wg.Done()
	defer close(f.gone)
	buf := make([]byte, len(f.hdr)+maxDatagram)
	copy(buf, f.hdr)
	for {
		n, err := conn.Read(buf[len(f.hdr):])
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EMSGSIZE) ||
				errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
				// An ICMP error for an earlier datagram (port
				// unreachable, too big, unreachable); the flow stays
				// usable, as a UDP socket does.
				continue
			}
			if f.a.ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				f.a.s.vlogf("socks %s: UDP %s: read: %v", f.a.from, f.dst, err)
			}
			return
		}
		f.act.touch()
		if _, err := f.a.pc.WriteToUDPAddrPort(buf[:len(f.hdr)+n], f.to); err != nil {
			if f.a.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			f.a.dropped.Add(1)
		}
	}
}
