package proxy

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/testutil"
)

// udpClient is a hand-written SOCKS5 UDP client: it wraps datagrams in the
// RFC 1928 §7 header and unwraps the replies.
type udpClient struct {
	t   *testing.T
	pc  *net.UDPConn
	bnd netip.AddrPort
}

func newUDPClient(t *testing.T, bnd netip.AddrPort) *udpClient {
	t.Helper()
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(bnd.Addr(), 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return &udpClient{t: t, pc: pc, bnd: bnd}
}

func (u *udpClient) send(frag byte, dst []byte, payload []byte) {
	u.t.Helper()
	b := append([]byte{0, 0, frag}, dst...)
	b = append(b, payload...)
	if _, err := u.pc.WriteToUDPAddrPort(b, u.bnd); err != nil {
		u.t.Fatalf("send: %v", err)
	}
}

// recv returns the next reply's address bytes and payload, or ok false
// after wait.
func (u *udpClient) recv(wait time.Duration) (addr, payload []byte, ok bool) {
	u.t.Helper()
	buf := make([]byte, 65535)
	u.pc.SetReadDeadline(time.Now().Add(wait))
	n, from, err := u.pc.ReadFromUDPAddrPort(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, nil, false
		}
		u.t.Fatalf("recv: %v", err)
	}
	if from != u.bnd {
		u.t.Fatalf("reply from %v, want the relay %v", from, u.bnd)
	}
	b := buf[:n]
	if len(b) < 4 || b[0] != 0 || b[1] != 0 || b[2] != 0 {
		u.t.Fatalf("bad reply header % x", b[:min(len(b), 8)])
	}
	_, an, err := parseAddr(b[3:])
	if err != nil {
		u.t.Fatalf("reply address: %v", err)
	}
	return b[3 : 3+an], b[3+an:], true
}

// roundTrip sends payload to dst and checks that the echo comes back from
// dst as addressed.
func (u *udpClient) roundTrip(dst []byte, payload []byte) {
	u.t.Helper()
	u.send(0, dst, payload)
	addr, got, ok := u.recv(5 * time.Second)
	if !ok {
		u.t.Fatalf("no reply to %d bytes", len(payload))
	}
	if !bytes.Equal(addr, dst) {
		u.t.Errorf("reply names % x, want % x", addr, dst)
	}
	if !bytes.Equal(got, payload) {
		u.t.Errorf("reply payload: got %d bytes %q..., want %d bytes", len(got), got[:min(len(got), 16)], len(payload))
	}
}

func associate(t *testing.T, proxyAddr string) (net.Conn, netip.AddrPort) {
	t.Helper()
	ctl := dialSOCKS(t, proxyAddr)
	code, bnd := socksCmd(t, ctl, cmdUDPAssociate, rawAddr(t, "0.0.0.0:0"))
	if code != repSucceeded {
		t.Fatalf("UDP ASSOCIATE reply 0x%02x", code)
	}
	return ctl, bnd
}

func countCalls(d *testDialer, call string) int {
	n := 0
	for _, c := range d.calls() {
		if c == call {
			n++
		}
	}
	return n
}

func TestSOCKSUDPAssociate(t *testing.T) {
	testutil.CheckGoroutines(t)
	echo4 := testutil.EchoUDP(t, "127.0.0.1:0")
	echo6 := testutil.EchoUDP(t, "[::1]:0")
	addr4 := echo4.Addr
	addr6 := echo6.Addr
	_, port4, _ := net.SplitHostPort(addr4)
	named := "udp.pexia.test:" + port4
	d := newTestDialer(map[string]string{"udp.pexia.test": "127.0.0.1"})
	_, proxyAddr := startServer(t, Config{Dialer: d}, modeSniff)

	ctl, bnd := associate(t, proxyAddr)
	if bnd.Addr() != netip.MustParseAddr("127.0.0.1") || bnd.Port() == 0 {
		t.Fatalf("BND %v, want 127.0.0.1 and a port", bnd)
	}
	u := newUDPClient(t, bnd)

	t.Run("ipv4", func(t *testing.T) { u.roundTrip(rawAddr(t, addr4), []byte("ping v4")) })
	t.Run("ipv6", func(t *testing.T) { u.roundTrip(rawAddr(t, addr6), []byte("ping v6")) })
	t.Run("domain", func(t *testing.T) { u.roundTrip(rawAddr(t, named), []byte("ping by name")) })
	t.Run("large", func(t *testing.T) { u.roundTrip(rawAddr(t, addr4), bytes.Repeat([]byte("x"), 60000)) })
	t.Run("empty", func(t *testing.T) { u.roundTrip(rawAddr(t, addr4), nil) })
	t.Run("one dial per destination", func(t *testing.T) {
		for i := range 5 {
			u.roundTrip(rawAddr(t, addr4), []byte{byte(i)})
		}
		for _, call := range []string{"udp " + addr4, "udp " + addr6, "udp " + named} {
			if n := countCalls(d, call); n != 1 {
				t.Errorf("%q dialled %d times, want 1", call, n)
			}
		}
	})
	t.Run("fragments dropped", func(t *testing.T) {
		u.send(1, rawAddr(t, addr4), []byte("fragment"))
		u.send(0x81, rawAddr(t, addr4), []byte("last fragment"))
		u.roundTrip(rawAddr(t, addr4), []byte("whole"))
		if _, p, ok := u.recv(100 * time.Millisecond); ok {
			t.Errorf("a fragment was relayed: %q", p)
		}
	})
	t.Run("other source dropped", func(t *testing.T) {
		other := newUDPClient(t, bnd)
		other.send(0, rawAddr(t, addr4), []byte("intruder"))
		if _, p, ok := other.recv(100 * time.Millisecond); ok {
			t.Errorf("datagram from a second port relayed: %q", p)
		}
		u.roundTrip(rawAddr(t, addr4), []byte("still mine"))
	})

	// Closing the control connection ends the association: its socket is
	// gone, so the kernel answers port unreachable.
	ctl.Close()
	probe, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(bnd))
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	testutil.WaitFor(t, "the association's UDP socket to close", 5*time.Second, func() bool {
		probe.Write([]byte{0, 0, 0})
		probe.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		_, err := probe.Read(make([]byte, 16))
		return errors.Is(err, syscall.ECONNREFUSED)
	})
}

// TestSOCKSUDPRequestedPort: with a port in the request, only that port may
// send.
func TestSOCKSUDPRequestedPort(t *testing.T) {
	testutil.CheckGoroutines(t)
	echo := testutil.EchoUDP(t, "127.0.0.1:0")
	_, proxyAddr := startServer(t, Config{Dialer: newTestDialer(nil)}, modeSOCKS)
	ctl := dialSOCKS(t, proxyAddr)

	mine, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	mine.Close() // only its port is needed for the request, then reopened below
	port := mine.LocalAddr().(*net.UDPAddr).AddrPort()
	code, bnd := socksCmd(t, ctl, cmdUDPAssociate, rawAddr(t, port.String()))
	if code != repSucceeded {
		t.Fatalf("reply 0x%02x", code)
	}
	// A first datagram from another port must not lock the association.
	intruder := newUDPClient(t, bnd)
	intruder.send(0, rawAddr(t, echo.Addr), []byte("first!"))
	if _, _, ok := intruder.recv(100 * time.Millisecond); ok {
		t.Fatal("datagram from a port other than the requested one was relayed")
	}
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(port))
	if err != nil {
		t.Skipf("requested port taken meanwhile: %v", err)
	}
	u := &udpClient{t: t, pc: pc, bnd: bnd}
	defer pc.Close()
	u.roundTrip(rawAddr(t, echo.Addr), []byte("from the named port"))
}

// TestSOCKSUDPIdleFlow: an idle destination's flow is closed and a later
// datagram dials it again.
func TestSOCKSUDPIdleFlow(t *testing.T) {
	testutil.CheckGoroutines(t)
	echo := testutil.EchoUDP(t, "127.0.0.1:0")
	dst := echo.Addr
	d := newTestDialer(nil)
	tl := testutil.NewLog(t)
	_, proxyAddr := startServer(t, Config{Dialer: d, Logf: tl.Logf, UDPIdleTimeout: 400 * time.Millisecond}, modeSOCKS)
	_, bnd := associate(t, proxyAddr)
	u := newUDPClient(t, bnd)

	// Traffic more often than the idle timeout keeps one flow.
	for i := range 6 {
		u.roundTrip(rawAddr(t, dst), []byte{byte(i)})
		time.Sleep(100 * time.Millisecond)
	}
	if n := countCalls(d, "udp "+dst); n != 1 {
		t.Fatalf("dialled %d times while busy, want 1", n)
	}
	testutil.WaitFor(t, "the idle flow to close", 5*time.Second, func() bool { return tl.Has("UDP " + dst + ": idle, closed") })
	u.roundTrip(rawAddr(t, dst), []byte("after idle"))
	if n := countCalls(d, "udp "+dst); n != 2 {
		t.Errorf("dialled %d times, want 2 (a new flow after idle)", n)
	}
}

// TestSOCKSUDPDialFailure: a destination that can't be dialled drops its
// datagrams without hurting the others.
func TestSOCKSUDPDialFailure(t *testing.T) {
	testutil.CheckGoroutines(t)
	echo := testutil.EchoUDP(t, "127.0.0.1:0")
	d := newTestDialer(nil)
	_, proxyAddr := startServer(t, Config{Dialer: d}, modeSOCKS)
	_, bnd := associate(t, proxyAddr)
	u := newUDPClient(t, bnd)
	u.send(0, rawAddr(t, "nosuch.test:53"), []byte("query"))
	u.roundTrip(rawAddr(t, echo.Addr), []byte("fine"))
	if _, p, ok := u.recv(100 * time.Millisecond); ok {
		t.Errorf("unexpected reply %q", p)
	}
	if !strings.Contains(strings.Join(d.calls(), ","), "udp nosuch.test:53") {
		t.Errorf("name not passed to the dialer: %v", d.calls())
	}
}
