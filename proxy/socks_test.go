package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop/stream"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/vishvananda/netns"
	xproxy "golang.org/x/net/proxy"
)

// forwardRecorder is the dialer golang.org/x/net/proxy reaches the SOCKS
// server with; it keeps the TCP connection so a test can half-close it.
type forwardRecorder struct{ last *net.TCPConn }

func (f *forwardRecorder) Dial(network, addr string) (net.Conn, error) {
	c, err := net.Dial(network, addr)
	if err == nil {
		f.last = c.(*net.TCPConn)
	}
	return c, err
}

func TestSOCKSConnect(t *testing.T) {
	testutil.CheckGoroutines(t)
	echo4 := testutil.EchoTCP(t, "127.0.0.1:0")
	echo6 := testutil.EchoTCP(t, "[::1]:0")
	d := newTestDialer(map[string]string{"echo.pexia.test": "::1"})
	_, proxyAddr := startServer(t, Config{Dialer: d}, modeSniff)

	tests := []struct {
		name   string
		target string
		echo   *testutil.Server
	}{
		{"ipv4", echo4.Addr, echo4},
		{"ipv6", echo6.Addr, echo6},
		{"domain", "echo.pexia.test:" + strconv.Itoa(int(echo6.Port())), echo6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fwd := &forwardRecorder{}
			pd, err := xproxy.SOCKS5("tcp", proxyAddr, nil, fwd)
			if err != nil {
				t.Fatal(err)
			}
			// DialContext returns a conn that reports BND.ADDR.
			c, err := pd.(xproxy.ContextDialer).DialContext(context.Background(), "tcp", tt.target)
			if err != nil {
				t.Fatalf("dial %s through proxy: %v", tt.target, err)
			}
			defer c.Close()
			exchange(t, c, "hello through "+tt.name)
			exchange(t, c, "and again")

			// The dialer was asked for the target exactly as given: the
			// name was not resolved by the proxy.
			calls := d.calls()
			if got, want := calls[len(calls)-1], "tcp "+tt.target; got != want {
				t.Errorf("dialer asked for %q, want %q", got, want)
			}

			// BND.ADDR is the upstream connection's local address, which
			// the echo server saw as its client.
			bound := c.(interface{ BoundAddr() net.Addr }).BoundAddr()
			seen := <-tt.echo.Remotes()
			if got := addrPortOf(bound); got != seen {
				t.Errorf("BND.ADDR %v, want the upstream local address %v", got, seen)
			}

			// Half-close: after our FIN the echo server sees EOF, echoes
			// the rest and half-closes; both ends pass that on.
			if _, err := io.WriteString(c, "last words"); err != nil {
				t.Fatal(err)
			}
			if err := fwd.last.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			rest, err := io.ReadAll(c)
			if err != nil {
				t.Fatalf("read after half-close: %v", err)
			}
			if string(rest) != "last words" {
				t.Errorf("after half-close got %q, want %q", rest, "last words")
			}
		})
	}
}

func TestSOCKSAuth(t *testing.T) {
	testutil.CheckGoroutines(t)
	echo := testutil.EchoTCP(t, "127.0.0.1:0")
	d := newTestDialer(nil)
	_, proxyAddr := startServer(t, Config{Dialer: d, Username: "alice", Password: "s3cret"}, modeSOCKS)

	t.Run("right credentials", func(t *testing.T) {
		pd, _ := xproxy.SOCKS5("tcp", proxyAddr, &xproxy.Auth{User: "alice", Password: "s3cret"}, xproxy.Direct)
		c, err := pd.Dial("tcp", echo.Addr)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer c.Close()
		exchange(t, c, "authenticated")
	})
	for _, tt := range []struct{ name, user, pass string }{
		{"wrong password", "alice", "guess"},
		{"wrong user", "bob", "s3cret"},
		{"password prefix", "alice", "s3cre"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(d.calls())
			pd, _ := xproxy.SOCKS5("tcp", proxyAddr, &xproxy.Auth{User: tt.user, Password: tt.pass}, xproxy.Direct)
			if c, err := pd.Dial("tcp", echo.Addr); err == nil {
				c.Close()
				t.Fatal("dial succeeded with wrong credentials")
			}
			if n := len(d.calls()); n != before {
				t.Errorf("dialer called %d times after failed auth", n-before)
			}
		})
	}
	t.Run("raw failure status", func(t *testing.T) {
		c, err := net.Dial("tcp", proxyAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if m := socksGreet(t, c, methodNoAuth, methodUserPass); m != methodUserPass {
			t.Fatalf("method: got 0x%02x, want 0x02", m)
		}
		c.Write([]byte{1, 5, 'a', 'l', 'i', 'c', 'e', 1, 'x'})
		var st [2]byte
		if _, err := io.ReadFull(c, st[:]); err != nil {
			t.Fatal(err)
		}
		if st != [2]byte{1, userPassStatusFailure} {
			t.Errorf("status: got %x, want 0101", st)
		}
		expectClosed(t, c, 5*time.Second)
	})
	t.Run("no auth offered", func(t *testing.T) {
		c, err := net.Dial("tcp", proxyAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if m := socksGreet(t, c, methodNoAuth); m != methodNoAcceptable {
			t.Errorf("method: got 0x%02x, want 0xff", m)
		}
		expectClosed(t, c, 5*time.Second)
	})
}

// TestSOCKSUserPassWithoutAuth: a client that only offers username and
// password gets in with any credentials when none are configured.
func TestSOCKSUserPassWithoutAuth(t *testing.T) {
	testutil.CheckGoroutines(t)
	echo := testutil.EchoTCP(t, "127.0.0.1:0")
	_, proxyAddr := startServer(t, Config{Dialer: newTestDialer(nil)}, modeSOCKS)
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if m := socksGreet(t, c, methodUserPass); m != methodUserPass {
		t.Fatalf("method: got 0x%02x, want 0x02", m)
	}
	c.Write([]byte{1, 1, 'u', 1, 'p'})
	var st [2]byte
	if _, err := io.ReadFull(c, st[:]); err != nil || st != [2]byte{1, 0} {
		t.Fatalf("status %x, %v; want 0100", st, err)
	}
	if code, _ := socksCmd(t, c, cmdConnect, rawAddr(t, echo.Addr)); code != repSucceeded {
		t.Fatalf("reply 0x%02x", code)
	}
	exchange(t, c, "in")
}

// TestSOCKSReplyCodes checks the reply to each kind of failure.
func TestSOCKSReplyCodes(t *testing.T) {
	testutil.CheckGoroutines(t)
	d := newTestDialer(nil)
	_, proxyAddr := startServer(t, Config{Dialer: d, DialTimeout: 200 * time.Millisecond}, modeSniff)

	// A port nothing listens on, for a real ECONNREFUSED.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := l.Addr().String()
	l.Close()

	opErr := func(errno syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errno)}
	}
	d.setFail("denied.test:80", fmt.Errorf("rule says no: %w", ErrNotAllowed))
	d.setFail("policy.test:80", &stream.RefusedError{Reason: stream.ReasonPolicy})
	d.setFail("exitrefused.test:80", &stream.RefusedError{Reason: stream.ReasonConnectFailed})
	d.setFail("exittimeout.test:80", &stream.RefusedError{Reason: stream.ReasonTimeout})
	d.setFail("exitdns.test:80", &stream.RefusedError{Reason: stream.ReasonDNS})
	d.setFail("netunreach.test:80", opErr(syscall.ENETUNREACH))
	d.setFail("hostunreach.test:80", opErr(syscall.EHOSTUNREACH))
	d.setFail("timedout.test:80", opErr(syscall.ETIMEDOUT))
	d.setFail("circuit.test:80", stream.ErrCircuitClosed)

	tests := []struct {
		name string
		cmd  byte
		addr []byte
		want byte
	}{
		{"refused port", cmdConnect, rawAddr(t, refused), repConnectionRefused},
		{"not allowed", cmdConnect, rawAddr(t, "denied.test:80"), repNotAllowed},
		{"exit policy", cmdConnect, rawAddr(t, "policy.test:80"), repNotAllowed},
		{"refused at exit", cmdConnect, rawAddr(t, "exitrefused.test:80"), repConnectionRefused},
		{"timeout at exit", cmdConnect, rawAddr(t, "exittimeout.test:80"), repTTLExpired},
		{"name failed at exit", cmdConnect, rawAddr(t, "exitdns.test:80"), repHostUnreachable},
		{"unknown name", cmdConnect, rawAddr(t, "nosuch.test:80"), repHostUnreachable},
		{"network unreachable", cmdConnect, rawAddr(t, "netunreach.test:80"), repNetworkUnreachable},
		{"host unreachable", cmdConnect, rawAddr(t, "hostunreach.test:80"), repHostUnreachable},
		{"connect timed out", cmdConnect, rawAddr(t, "timedout.test:80"), repTTLExpired},
		{"circuit closed", cmdConnect, rawAddr(t, "circuit.test:80"), repGeneralFailure},
		{"dial timeout", cmdConnect, rawAddr(t, "slow.test:80"), repTTLExpired},
		{"bind", cmdBind, rawAddr(t, "127.0.0.1:80"), repCommandNotSupported},
		{"unknown command", 0x09, rawAddr(t, "127.0.0.1:80"), repCommandNotSupported},
		{"bad address type", cmdConnect, []byte{0x02, 1, 2, 3, 4, 0, 80}, repAddrTypeNotSupported},
		{"bad name", cmdConnect, []byte{atypDomain, 5, 'a', ':', 'b', '/', 'c', 0, 80}, repGeneralFailure},
	}
	slow := make(chan struct{})
	defer close(slow)
	sd := DialerFunc(func(ctx context.Context, network, address string) (net.Conn, error) {
		if address == "slow.test:80" {
			<-ctx.Done() // a circuit that never finishes building
			return nil, ctx.Err()
		}
		return d.DialContext(ctx, network, address)
	})
	_, slowProxy := startServer(t, Config{Dialer: sd, DialTimeout: 100 * time.Millisecond}, modeSOCKS)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := proxyAddr
			if tt.name == "dial timeout" {
				addr = slowProxy
			}
			c := dialSOCKS(t, addr)
			code, bnd := socksCmd(t, c, tt.cmd, tt.addr)
			if code != tt.want {
				t.Errorf("reply: got 0x%02x, want 0x%02x", code, tt.want)
			}
			if bnd != netip.AddrPortFrom(netip.IPv4Unspecified(), 0) {
				t.Errorf("BND on failure: got %v, want 0.0.0.0:0", bnd)
			}
			expectClosed(t, c, 5*time.Second)
		})
	}
}

// TestSOCKSNetworkUnreachable dials for real from a network namespace that
// has no routes, so the kernel itself answers ENETUNREACH.
func TestSOCKSNetworkUnreachable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	testutil.CheckGoroutines(t)
	ns := newEmptyNetns(t)
	d := DialerFunc(func(ctx context.Context, network, address string) (net.Conn, error) {
		type result struct {
			c   net.Conn
			err error
		}
		ch := make(chan result, 1)
		go func() {
			// The socket is created in the namespace of the thread that
			// creates it; this thread is discarded afterwards.
			runtime.LockOSThread()
			if err := netns.Set(ns); err != nil {
				ch <- result{nil, err}
				return
			}
			var nd net.Dialer
			c, err := nd.DialContext(ctx, network, address)
			ch <- result{c, err}
		}()
		r := <-ch
		return r.c, r.err
	})
	_, proxyAddr := startServer(t, Config{Dialer: d}, modeSOCKS)
	c := dialSOCKS(t, proxyAddr)
	if code, _ := socksCmd(t, c, cmdConnect, rawAddr(t, "192.0.2.1:80")); code != repNetworkUnreachable {
		t.Errorf("reply: got 0x%02x, want 0x03", code)
	}
}

// newEmptyNetns creates an unnamed network namespace (only a down lo) and
// returns a handle to it; the process's own namespace is untouched.
func newEmptyNetns(t *testing.T) netns.NsHandle {
	t.Helper()
	type result struct {
		h   netns.NsHandle
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// netns.New moves the calling thread; the thread is left locked
		// so the runtime discards it instead of reusing it elsewhere.
		runtime.LockOSThread()
		h, err := netns.New()
		ch <- result{h, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("new netns: %v", r.err)
	}
	t.Cleanup(func() { r.h.Close() })
	return r.h
}

// TestSOCKSHandshakeTimeout: a client that connects and says nothing, or
// stops halfway, is dropped after ReadHeaderTimeout.
func TestSOCKSHandshakeTimeout(t *testing.T) {
	testutil.CheckGoroutines(t)
	_, proxyAddr := startServer(t, Config{Dialer: newTestDialer(nil), ReadHeaderTimeout: 150 * time.Millisecond}, modeSniff)
	for _, tt := range []struct {
		name string
		send []byte
	}{
		{"silent", nil},
		{"half greeting", []byte{5, 2, 0}},
		{"greeting, no request", []byte{5, 1, 0}},
		{"half request", []byte{5, 1, 0, 5, 1, 0, atypDomain, 10, 'a'}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", proxyAddr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write(tt.send)
			start := time.Now()
			expectClosed(t, c, 5*time.Second)
			if el := time.Since(start); el < 100*time.Millisecond {
				t.Errorf("closed after %v, before the timeout", el)
			}
		})
	}
}

// TestSOCKSOptimisticData: data sent right behind the request, before the
// reply, reaches the destination.
func TestSOCKSOptimisticData(t *testing.T) {
	testutil.CheckGoroutines(t)
	echo := testutil.EchoTCP(t, "127.0.0.1:0")
	_, proxyAddr := startServer(t, Config{Dialer: newTestDialer(nil)}, modeSniff)
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := []byte{5, 1, 0, 5, 1, 0}
	msg = append(msg, rawAddr(t, echo.Addr)...)
	msg = append(msg, "early data"...)
	c.Write(msg)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	want := []byte{5, 0, 5, 0}
	got := make([]byte, 2+4+4+2+len("early data"))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got[:4], want) || string(got[12:]) != "early data" {
		t.Errorf("got %q", got)
	}
}

func TestParseAddr(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    string
		wantN   int
		wantErr error
	}{
		{"ipv4", []byte{1, 10, 0, 0, 1, 0, 80}, "10.0.0.1:80", 7, nil},
		{"ipv6", append(append([]byte{4}, netip.MustParseAddr("2001:db8::1").AsSlice()...), 1, 187), "[2001:db8::1]:443", 19, nil},
		{"v4-mapped ipv6", append(append([]byte{4}, netip.MustParseAddr("::ffff:10.1.2.3").AsSlice()...), 0, 53), "10.1.2.3:53", 19, nil},
		{"name", append([]byte{3, 11}, "example.com\x00\x50"...), "example.com:80", 15, nil},
		{"ip literal as name", append([]byte{3, 5}, "[::1]\x00\x50"...), "[::1]:80", 9, nil},
		{"trailing payload", []byte{1, 10, 0, 0, 1, 0, 80, 'x', 'y'}, "10.0.0.1:80", 7, nil},
		{"short ipv4", []byte{1, 10, 0}, "", 0, io.ErrUnexpectedEOF},
		{"short name", []byte{3, 11, 'e'}, "", 0, io.ErrUnexpectedEOF},
		{"no length", []byte{3}, "", 0, io.ErrUnexpectedEOF},
		{"bad type", []byte{2, 1, 2, 3, 4, 0, 0}, "", 0, errAddrType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, n, err := parseAddr(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err: got %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if a.String() != tt.want || n != tt.wantN {
				t.Errorf("got %s (%d bytes), want %s (%d bytes)", a, n, tt.want, tt.wantN)
			}
		})
	}
	for _, name := range []string{"", "a b", "a:b", "a/b", "a@b", "a\x00b", "caf\xc3\xa9"} {
		b := append([]byte{3, byte(len(name))}, name...)
		if _, _, err := parseAddr(append(b, 0, 80)); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
}

// FuzzSOCKSHandshake feeds arbitrary client bytes to the SOCKS5 server: it
// must neither panic nor hang.
func FuzzSOCKSHandshake(f *testing.F) {
	f.Add([]byte{5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0, 80})
	f.Add([]byte{5, 1, 2, 1, 1, 'u', 1, 'p', 5, 1, 0, 3, 4, 'h', 'o', 's', 't', 0, 80})
	f.Add([]byte{5, 0})
	f.Add([]byte{5, 1, 0, 5, 3, 0, 4})
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := New(Config{Dialer: DialerFunc(func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("no network in this test")
		}), ReadHeaderTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		client, server := net.Pipe()
		tc, ok := s.track(server)
		if !ok {
			t.Fatal("track refused")
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer s.wg.Done()
			s.serveSOCKS(newBufConn(tc))
		}()
		go io.Copy(io.Discard, client)
		client.SetWriteDeadline(time.Now().Add(time.Second))
		client.Write(in)
		client.Close()
		<-done
	})
}
