package netstack

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"

	"github.com/pexia-network/pexia/internal/icmperr"
	"github.com/pexia-network/pexia/internal/testutil"
)

// testHandler dials loopback services and answers DNS from a fixed zone.
type testHandler struct {
	srv *servers

	mu      sync.Mutex
	flows   []Flow
	udpUp   []*trackedConn
	resolve func(ctx context.Context, f Flow, q []byte) ([]byte, error) // optional override
	// dialEcho carries echo flows (echo_test.go); nil refuses them.
	dialEcho func(ctx context.Context, f Flow) (net.Conn, error)
	// dialUDP makes the upstream of udp flows to portHeld.
	dialUDP func(f Flow) (net.Conn, error)

	dnsFlows []Flow
}

var errRefused = errors.New("test: refused by rule")

func (h *testHandler) record(f Flow) {
	h.mu.Lock()
	h.flows = append(h.flows, f)
	h.mu.Unlock()
}

func (h *testHandler) dialed() []Flow {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Flow(nil), h.flows...)
}

func loopbackFor(a netip.Addr) string {
	if a.Is4() {
		return "127.0.0.1"
	}
	return "::1"
}

func (h *testHandler) DialTCP(ctx context.Context, f Flow) (net.Conn, error) {
	h.record(f)
	var port int
	switch f.Dst.Port() {
	case portRefuse:
		return nil, errRefused
	case portUnreach:
		return nil, fmt.Errorf("test: exit says: %w", ErrHostUnreachable)
	case portClosed:
		port = h.srv.closedPort
	case portEcho:
		port = h.srv.ports["echo"]
	case portSink:
		port = h.srv.ports["sink"]
	case portSource:
		port = h.srv.ports["source"]
	case portReset:
		port = h.srv.ports["reset"]
	case portHold:
		port = h.srv.ports["hold"]
	case portHalf:
		port = h.srv.ports["half"]
	case portDiscard:
		port = h.srv.ports["discard"]
	case portZeros:
		port = h.srv.ports["zeros"]
	default:
		return nil, fmt.Errorf("test: no service on port %d", f.Dst.Port())
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", net.JoinHostPort(loopbackFor(f.Dst.Addr()), strconv.Itoa(port)))
}

func (h *testHandler) DialUDP(ctx context.Context, f Flow) (net.Conn, error) {
	h.record(f)
	port := 0
	switch f.Dst.Port() {
	case portUDPEcho, portTooBig:
		port = h.srv.udpPort(f.Dst.Addr())
	case portClosed:
		port = closedUDPPort(loopbackFor(f.Dst.Addr()))
	case portHeld:
		h.mu.Lock()
		dial := h.dialUDP
		h.mu.Unlock()
		if dial != nil {
			return dial(f)
		}
		return nil, fmt.Errorf("test: no udp service on port %d", f.Dst.Port())
	default:
		return nil, fmt.Errorf("test: no udp service on port %d", f.Dst.Port())
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", net.JoinHostPort(loopbackFor(f.Dst.Addr()), strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c}
	h.mu.Lock()
	h.udpUp = append(h.udpUp, tc)
	h.mu.Unlock()
	if f.Dst.Port() == portTooBig {
		return tooBigConn{tc, 1280 - 8 - ipHeaderLen(f.Dst.Addr())}, nil
	}
	return tc, nil
}

// closedUDPPort returns a loopback UDP port nothing listens on: one the
// kernel just gave out and took back.
func closedUDPPort(host string) int {
	c, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 1
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func (h *testHandler) setDialEcho(dial func(ctx context.Context, f Flow) (net.Conn, error)) {
	h.mu.Lock()
	h.dialEcho = dial
	h.mu.Unlock()
}

func (h *testHandler) DialEcho(ctx context.Context, f Flow) (net.Conn, error) {
	h.record(f)
	h.mu.Lock()
	dial := h.dialEcho
	h.mu.Unlock()
	if dial == nil {
		return nil, errRefused
	}
	return dial(ctx, f)
}

func (h *testHandler) ResolveDNS(ctx context.Context, f Flow, q []byte) ([]byte, error) {
	h.mu.Lock()
	h.dnsFlows = append(h.dnsFlows, f)
	override := h.resolve
	h.mu.Unlock()
	if override != nil {
		return override(ctx, f, q)
	}
	return zoneAnswer(q)
}

// zoneAnswer answers from a small fixed zone:
//
//	www.example.test. CNAME cdn.example.test.
//	cdn.example.test. A 192.0.2.10, AAAA 2001:db8::10
//	big.test.         60 A records (over 512 bytes)
//	fail.test.        resolver error
//
// anything else is NXDOMAIN.
func zoneAnswer(q []byte) ([]byte, error) {
	var m dns.Msg
	if err := m.Unpack(q); err != nil {
		return nil, err
	}
	r := new(dns.Msg).SetReply(&m)
	qn := m.Question[0]
	switch qn.Name {
	case "www.example.test.", "cdn.example.test.":
		if qn.Name == "www.example.test." {
			r.Answer = append(r.Answer, &dns.CNAME{Hdr: hdr("www.example.test.", dns.TypeCNAME, 300), Target: "cdn.example.test."})
		}
		switch qn.Qtype {
		case dns.TypeA:
			r.Answer = append(r.Answer, &dns.A{Hdr: hdr("cdn.example.test.", dns.TypeA, 30), A: net.ParseIP("192.0.2.10")})
		case dns.TypeAAAA:
			r.Answer = append(r.Answer, &dns.AAAA{Hdr: hdr("cdn.example.test.", dns.TypeAAAA, 30), AAAA: net.ParseIP("2001:db8::10")})
		}
	case "big.test.":
		for i := range 60 {
			r.Answer = append(r.Answer, &dns.A{Hdr: hdr("big.test.", dns.TypeA, 60), A: net.IPv4(192, 0, 2, byte(100+i))})
		}
	case "fail.test.":
		return nil, errors.New("test: upstream resolver failed")
	default:
		r.Rcode = dns.RcodeNameError
	}
	return r.Pack()
}

func hdr(name string, t uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
}

// trackedConn records whether the Stack closed an upstream conn.
type trackedConn struct {
	net.Conn
	closed atomic.Bool
}

func (c *trackedConn) Close() error {
	c.closed.Store(true)
	return c.Conn.Close()
}

// servers are the upstream services on the host's loopback.
type servers struct {
	ports      map[string]int // same port on 127.0.0.1 and ::1
	closedPort int
	udp4, udp6 int
	held       chan heldConn
	wg         sync.WaitGroup
}

// heldConn reports how a "hold" connection ended on the server side.
type heldConn struct {
	got []byte
	err error
}

func (s *servers) udpPort(a netip.Addr) int {
	if a.Is4() {
		return s.udp4
	}
	return s.udp6
}

func startServers(t testing.TB) *servers {
	t.Helper()
	s := &servers{ports: map[string]int{}, held: make(chan heldConn, 64)}
	services := map[string]func(net.Conn){
		"echo":    testutil.ServeEcho,
		"sink":    testutil.ServeSink,
		"source":  serveSource,
		"reset":   serveReset,
		"hold":    s.serveHold,
		"half":    s.serveHalf,
		"discard": serveDiscard,
		"zeros":   serveZeros,
	}
	var lns []io.Closer
	for name, fn := range services {
		ln4, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln4.Addr().(*net.TCPAddr).Port
		ln6, err := net.Listen("tcp", net.JoinHostPort("::1", strconv.Itoa(port)))
		if err != nil {
			t.Fatal(err)
		}
		s.ports[name] = port
		for _, ln := range []net.Listener{ln4, ln6} {
			lns = append(lns, ln)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				var conns sync.WaitGroup
				defer conns.Wait()
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					conns.Add(1)
					go func() {
						defer conns.Done()
						defer c.Close()
						fn(c)
					}()
				}
			}()
		}
	}
	// A port that was listening and is not any more: dials are refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.closedPort = ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if addr[0] == '1' {
			s.udp4 = pc.LocalAddr().(*net.UDPAddr).Port
		} else {
			s.udp6 = pc.LocalAddr().(*net.UDPAddr).Port
		}
		lns = append(lns, pc)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			buf := make([]byte, 65535)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				pc.WriteTo(buf[:n], from)
			}
		}()
	}
	t.Cleanup(func() {
		for _, l := range lns {
			l.Close()
		}
		s.wg.Wait()
	})
	return s
}

// serveSource sends the requested number of bytes of pattern(seed).
func serveSource(c net.Conn) {
	var req [16]byte
	if _, err := io.ReadFull(c, req[:]); err != nil {
		return
	}
	n, seed := binary.BigEndian.Uint64(req[:8]), binary.BigEndian.Uint64(req[8:])
	if _, err := io.Copy(c, io.LimitReader(newPattern(seed), int64(n))); err != nil {
		return
	}
	c.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, c)
}

func serveDiscard(c net.Conn) {
	buf := make([]byte, 256<<10)
	var n uint64
	for {
		m, err := c.Read(buf)
		n += uint64(m)
		if err == io.EOF {
			c.Write(binary.BigEndian.AppendUint64(nil, n))
			return
		}
		if err != nil {
			return
		}
	}
}

func serveZeros(c net.Conn) {
	var req [8]byte
	if _, err := io.ReadFull(c, req[:]); err != nil {
		return
	}
	buf := make([]byte, 256<<10)
	for n := binary.BigEndian.Uint64(req[:]); n > 0; {
		m := min(n, uint64(len(buf)))
		if _, err := c.Write(buf[:m]); err != nil {
			return
		}
		n -= m
	}
	c.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, c)
}

func serveReset(c net.Conn) {
	var b [1]byte
	io.ReadFull(c, b[:])
	c.(*net.TCPConn).SetLinger(0)
}

func (s *servers) serveHalf(c net.Conn) {
	if _, err := c.Write([]byte("bye")); err != nil {
		return
	}
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	s.held <- heldConn{got: got, err: err}
}

func (s *servers) serveHold(c net.Conn) {
	got, err := io.ReadAll(c)
	s.held <- heldConn{got: got, err: err}
}

// pattern is a deterministic byte stream.
type pattern struct{ r *rand.ChaCha8 }

func newPattern(seed uint64) *pattern {
	var k [32]byte
	binary.BigEndian.PutUint64(k[:], seed)
	return &pattern{rand.NewChaCha8(k)}
}

func (p *pattern) Read(b []byte) (int, error) { return p.r.Read(b) }

func patternBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	newPattern(seed).Read(b)
	return b
}

// tooBigConn carries datagrams of at most max bytes, as a tunnel with a
// 1280-byte MTU would; a larger one fails with a too-big.
type tooBigConn struct {
	net.Conn
	max int
}

func (c tooBigConn) Write(p []byte) (int, error) {
	if len(p) > c.max {
		return 0, &icmperr.Error{Type: icmperr.TooBig, MTU: 1280}
	}
	return c.Conn.Write(p)
}
