package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// leakCheck fails t if goroutines started during the test are still
// running a few seconds after it (and its other cleanups) ended. Call it
// first, so its cleanup runs last.
func leakCheck(t *testing.T) {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= base {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutines: %d at start, %d after the test\n%s", base, n, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// waitFor polls cond until it is true or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testLog sends a Server's log to t until the test's cleanups have run.
type testLog struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
	// lines keeps every line, for tests that look for one.
	lines []string
}

func newTestLog(t *testing.T) *testLog {
	l := &testLog{t: t}
	t.Cleanup(func() {
		l.mu.Lock()
		l.done = true
		l.mu.Unlock()
	})
	return l
}

func (l *testLog) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	line := fmt.Sprintf(format, args...)
	l.lines = append(l.lines, line)
	if !l.done {
		l.t.Log(line)
	}
}

func (l *testLog) has(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// testDialer dials with net.Dialer and records what it was asked for. It
// resolves names from hosts only, the way an exit would resolve them, so a
// name that reaches it proves the proxy did not resolve it.
type testDialer struct {
	hosts map[string]string // name → IP
	fail  map[string]error  // address → error to return instead of dialling

	mu    sync.Mutex
	dials []string // "network address"
}

func newTestDialer(hosts map[string]string) *testDialer {
	return &testDialer{hosts: hosts, fail: map[string]error{}}
}

func (d *testDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d.mu.Lock()
	d.dials = append(d.dials, network+" "+address)
	err := d.fail[address]
	d.mu.Unlock()
	if err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	if _, err := netip.ParseAddr(host); err != nil {
		ip, ok := d.hosts[host]
		if !ok {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		host = ip
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, net.JoinHostPort(host, port))
}

func (d *testDialer) calls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.dials...)
}

func (d *testDialer) setFail(address string, err error) {
	d.mu.Lock()
	d.fail[address] = err
	d.mu.Unlock()
}

// startServer serves cfg on a fresh loopback listener in mode m and closes
// it when the test ends, checking that Serve returned ErrServerClosed.
func startServer(t *testing.T, cfg Config, m mode) (*Server, string) {
	t.Helper()
	if cfg.Logf == nil {
		cfg.Logf = newTestLog(t).logf
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.serve(l, m) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return s, l.Addr().String()
}

// echoServer is a TCP echo server that passes half-closes on: it echoes
// until EOF, then half-closes its side.
type echoServer struct {
	addr    string
	l       net.Listener
	remotes chan netip.AddrPort // the address of each accepted client
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
}

func startEcho(t *testing.T, network, addr string) *echoServer {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatalf("listen %s %s: %v", network, addr, err)
	}
	e := &echoServer{addr: l.Addr().String(), l: l, remotes: make(chan netip.AddrPort, 64), conns: map[net.Conn]struct{}{}}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			e.mu.Lock()
			e.conns[c] = struct{}{}
			e.mu.Unlock()
			select {
			case e.remotes <- c.RemoteAddr().(*net.TCPAddr).AddrPort():
			default:
			}
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				defer func() {
					e.mu.Lock()
					delete(e.conns, c)
					e.mu.Unlock()
					c.Close()
				}()
				io.Copy(c, c)
				c.(*net.TCPConn).CloseWrite()
				io.Copy(io.Discard, c)
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		e.mu.Lock()
		for c := range e.conns {
			c.Close()
		}
		e.mu.Unlock()
		e.wg.Wait()
	})
	return e
}

func (e *echoServer) port() string {
	_, p, _ := net.SplitHostPort(e.addr)
	return p
}

// startUDPEcho echoes every datagram back to its sender.
func startUDPEcho(t *testing.T, addr string) *net.UDPConn {
	t.Helper()
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			pc.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	t.Cleanup(func() {
		pc.Close()
		<-done
	})
	return pc
}

// exchange writes msg on c and reads the same number of bytes back.
func exchange(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read echo: %v", err)
	}
	if !bytes.Equal(got, []byte(msg)) {
		t.Fatalf("echo: got %q, want %q", got, msg)
	}
}

// expectClosed checks that the peer closes c within d.
func expectClosed(t *testing.T, c net.Conn, d time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v", d)
	}
}

// Raw SOCKS5 client pieces, for what golang.org/x/net/proxy doesn't do.

// socksGreet sends a greeting offering methods and returns the chosen one.
func socksGreet(t *testing.T, c net.Conn, methods ...byte) byte {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write(append([]byte{5, byte(len(methods))}, methods...)); err != nil {
		t.Fatal(err)
	}
	var b [2]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		t.Fatalf("read method: %v", err)
	}
	if b[0] != 5 {
		t.Fatalf("method reply version %d", b[0])
	}
	return b[1]
}

// socksCmd sends a request with a raw address (ATYP first) and returns the
// reply code and bound address.
func socksCmd(t *testing.T, c net.Conn, cmd byte, addr []byte) (byte, netip.AddrPort) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write(append([]byte{5, cmd, 0}, addr...)); err != nil {
		t.Fatal(err)
	}
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		t.Fatalf("read reply: %v", err)
	}
	var n int
	switch hdr[3] {
	case atypIPv4:
		n = 4
	case atypIPv6:
		n = 16
	default:
		t.Fatalf("reply address type %d", hdr[3])
	}
	b := make([]byte, n+2)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read reply address: %v", err)
	}
	ip, _ := netip.AddrFromSlice(b[:n])
	return hdr[1], netip.AddrPortFrom(ip.Unmap(), uint16(b[n])<<8|uint16(b[n+1]))
}

// rawAddr encodes "host:port" as a SOCKS5 address; a host that is not an IP
// goes as a DOMAINNAME.
func rawAddr(t *testing.T, hostport string) []byte {
	t.Helper()
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	var p uint16
	fmt.Sscan(port, &p)
	var b []byte
	if ip, err := netip.ParseAddr(host); err == nil {
		b = appendAddr(nil, netip.AddrPortFrom(ip, p))
		return b
	}
	b = append([]byte{atypDomain, byte(len(host))}, host...)
	return append(b, byte(p>>8), byte(p))
}

// dialSOCKS connects to the proxy and completes a no-auth greeting.
func dialSOCKS(t *testing.T, proxyAddr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if m := socksGreet(t, c, methodNoAuth); m != methodNoAuth {
		t.Fatalf("method: got 0x%02x, want 0x00", m)
	}
	return c
}
