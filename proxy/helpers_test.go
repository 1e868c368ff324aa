package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/testutil"
)

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
		cfg.Logf = testutil.NewLog(t).Logf
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
