package netstack

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/tun"
)

// The test world: a fresh network namespace holding a real TUN with
// addresses and default routes, the Stack reading it, and upstream servers
// on the host's loopback. Apps are sockets opened inside the namespace.
//
// The handler maps a flow's destination port to a loopback service, on
// 127.0.0.1 for IPv4 flows and ::1 for IPv6 flows, whatever the address.
const (
	portEcho    = 7  // echoes, half-closes after the app's FIN
	portSink    = 9  // reads to EOF, answers length and SHA-256, closes
	portSource  = 19 // reads an 8-byte length, sends that many bytes, half-closes
	portReset   = 11 // reads one byte, then resets
	portHold    = 13 // keeps the connection, reports how it ended
	portHalf    = 17 // sends "bye", half-closes, reports what it reads after
	portDiscard = 10 // reads to EOF, answers the 8-byte count
	portZeros   = 20 // reads an 8-byte length, sends that many zero bytes
	portRefuse  = 1  // the handler refuses
	portClosed  = 2  // the handler dials a closed loopback port
	portUDPEcho = 7
)

var (
	dst4 = netip.MustParseAddr("198.51.100.7")
	dst6 = netip.MustParseAddr("2001:db8:7::7")
	app4 = netip.MustParseAddr("10.99.0.2")
	app6 = netip.MustParseAddr("fd99::2")
)

type env struct {
	t     *testing.T
	ns    netns.NsHandle
	orig  netns.NsHandle
	s     *Stack
	h     *testHandler
	srv   *servers
	mtu   int
	devNm string
}

// newEnv builds the world; cfg.Handler is filled in. The Stack gets the
// wireguard TUN itself and so takes the offload path.
func newEnv(t testing.TB, mtu int, cfg Config) *env {
	t.Helper()
	return newEnvPath(t, mtu, cfg, false)
}

// genericDevice hides the concrete TUN type, which puts the Stack on the
// generic batched path (wireguard TUN Read/Write with its own GSO split and
// GRO) over the same real device.
type genericDevice struct{ tun.Device }

func newEnvPath(t testing.TB, mtu int, cfg Config, generic bool) *env {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a network namespace and a TUN device")
	}
	srv := startServers(t)
	h := &testHandler{srv: srv}
	cfg.Handler = h
	if cfg.Logf == nil {
		cfg.Logf = t.Logf
	}
	e := &env{h: h, srv: srv, mtu: mtu, devNm: "pxt0"}
	dev := e.makeNamespace(t)
	if generic {
		dev = genericDevice{dev}
	}
	// Inside the namespace, so that New can read the device's MTU.
	var s *Stack
	err := e.inNS(func() (err error) {
		s, err = New(dev, cfg)
		return err
	})
	if err != nil {
		dev.Close()
		t.Fatalf("New: %v", err)
	}
	e.s = s
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		e.ns.Close()
		e.orig.Close()
	})
	return e
}

// makeNamespace creates the namespace and the TUN inside it and configures
// addresses and routes. The host's own network is never touched.
func (e *env) makeNamespace(t testing.TB) tun.Device {
	t.Helper()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("netns.Get: %v", err)
	}
	ns, err := netns.New() // the thread is now inside ns
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("netns.New: %v", err)
	}
	dev, err := tun.CreateTUN(e.devNm, e.mtu)
	if err == nil {
		err = configureLink(e.devNm)
	}
	if serr := netns.Set(orig); serr != nil {
		// Leave the thread locked: it dies with the goroutine.
		t.Fatalf("restore netns: %v", serr)
	}
	runtime.UnlockOSThread()
	if err != nil {
		if dev != nil {
			dev.Close()
		}
		ns.Close()
		orig.Close()
		t.Fatalf("tun in namespace: %v", err)
	}
	e.ns, e.orig = ns, orig
	return dev
}

// configureLink runs inside the namespace.
func configureLink(name string) error {
	h, err := netlink.NewHandle()
	if err != nil {
		return err
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return err
	}
	if err := h.LinkSetUp(lo); err != nil {
		return err
	}
	l, err := h.LinkByName(name)
	if err != nil {
		return err
	}
	for _, a := range []netip.Prefix{netip.PrefixFrom(app4, 32), netip.PrefixFrom(app6, 128)} {
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: a.Addr().AsSlice(), Mask: net.CIDRMask(a.Bits(), a.Addr().BitLen())}}
		if a.Addr().Is6() {
			addr.Flags = unix.IFA_F_NODAD
		}
		if err := h.AddrAdd(l, addr); err != nil {
			return fmt.Errorf("add %v: %w", a, err)
		}
	}
	if err := h.LinkSetUp(l); err != nil {
		return err
	}
	for _, d := range []*net.IPNet{
		{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)},
		{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)},
	} {
		if err := h.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Dst: d, Scope: netlink.SCOPE_LINK}); err != nil {
			return fmt.Errorf("route %v: %w", d, err)
		}
	}
	// The kernel finishes bringing IPv6 up on the link asynchronously and
	// drops what arrives for a still-tentative address; wait for it, as
	// a long-running TUN would have long before.
	end := time.Now().Add(5 * time.Second)
	for {
		addrs, err := h.AddrList(l, netlink.FAMILY_V6)
		if err != nil {
			return err
		}
		ready := len(addrs) >= 2 // ours and the link-local one
		for _, a := range addrs {
			if a.Flags&unix.IFA_F_TENTATIVE != 0 {
				ready = false
			}
		}
		if ready {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("ipv6 on %s not ready: %v", name, addrs)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// inNS runs fn on a thread inside the namespace; sockets fn opens stay
// there and can be used from any goroutine afterwards.
func (e *env) inNS(fn func() error) error {
	runtime.LockOSThread()
	if err := netns.Set(e.ns); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	err := fn()
	if serr := netns.Set(e.orig); serr != nil {
		return errors.Join(err, serr) // the thread stays locked and dies
	}
	runtime.UnlockOSThread()
	return err
}

// dial connects from inside the namespace.
func (e *env) dial(network string, dst netip.AddrPort) (net.Conn, error) {
	var c net.Conn
	err := e.inNS(func() error {
		var err error
		d := net.Dialer{Timeout: 5 * time.Second}
		c, err = d.Dial(network, dst.String())
		return err
	})
	return c, err
}

func (e *env) mustDial(t testing.TB, network string, dst netip.AddrPort) net.Conn {
	t.Helper()
	c, err := e.dial(network, dst)
	if err != nil {
		t.Fatalf("dial %s %v: %v", network, dst, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testHandler dials loopback services and answers DNS from a fixed zone.
type testHandler struct {
	srv *servers

	mu      sync.Mutex
	flows   []Flow
	udpUp   []*trackedConn
	resolve func(ctx context.Context, f Flow, q []byte) ([]byte, error) // optional override

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
	if f.Dst.Port() != portUDPEcho {
		return nil, fmt.Errorf("test: no udp service on port %d", f.Dst.Port())
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", net.JoinHostPort(loopbackFor(f.Dst.Addr()), strconv.Itoa(h.srv.udpPort(f.Dst.Addr()))))
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c}
	h.mu.Lock()
	h.udpUp = append(h.udpUp, tc)
	h.mu.Unlock()
	return tc, nil
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
		"echo":    serveEcho,
		"sink":    serveSink,
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

func serveEcho(c net.Conn) {
	io.Copy(c, c)
	c.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, c)
}

// serveSink answers 8 bytes of length and the SHA-256 of what it read.
func serveSink(c net.Conn) {
	h := sha256.New()
	n, err := io.Copy(h, c)
	if err != nil {
		return
	}
	out := binary.BigEndian.AppendUint64(nil, uint64(n))
	c.Write(h.Sum(out))
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
