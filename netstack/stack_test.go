package netstack

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.zx2c4.com/wireguard/tun"

	"github.com/pexia-network/pexia/internal/testutil"
)

func families() []struct {
	name string
	dst  netip.Addr
} {
	return []struct {
		name string
		dst  netip.Addr
	}{{"v4", dst4}, {"v6", dst6}}
}

// upload sends n bytes of pattern(seed) to the sink and checks the sink's
// length and hash.
func upload(t testing.TB, e *env, dst netip.Addr, n int, seed uint64) {
	t.Helper()
	c := e.mustDial(t, "tcp", netip.AddrPortFrom(dst, portSink))
	data := patternBytes(seed, n)
	if _, err := c.Write(data); err != nil {
		t.Fatalf("write: %v", err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatalf("close write: %v", err)
	}
	var resp [8 + sha256.Size]byte
	if _, err := io.ReadFull(c, resp[:]); err != nil {
		t.Fatalf("read sink answer: %v", err)
	}
	if got := binary.BigEndian.Uint64(resp[:8]); got != uint64(n) {
		t.Fatalf("sink got %d bytes, want %d", got, n)
	}
	if sum := sha256.Sum256(data); !bytes.Equal(resp[8:], sum[:]) {
		t.Fatalf("sink hash differs: data corrupted on the way up")
	}
}

// download asks the source for n bytes of pattern(seed) and compares.
func download(t testing.TB, e *env, dst netip.Addr, n int, seed uint64) {
	t.Helper()
	c := e.mustDial(t, "tcp", netip.AddrPortFrom(dst, portSource))
	var req [16]byte
	binary.BigEndian.PutUint64(req[:8], uint64(n))
	binary.BigEndian.PutUint64(req[8:], seed)
	if _, err := c.Write(req[:]); err != nil {
		t.Fatalf("write request: %v", err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if len(got) != n {
		t.Fatalf("got %d bytes, want %d", len(got), n)
	}
	if !bytes.Equal(got, patternBytes(seed, n)) {
		t.Fatalf("downloaded bytes differ")
	}
}

// paths are the two link paths: the offload path (wireguard TUN with the
// virtio-net header, used directly) and the generic batched path.
var paths = []struct {
	name    string
	generic bool
}{{"offload", false}, {"generic", true}}

func TestTCPTransfer(t *testing.T) {
	for _, path := range paths {
		for _, mtu := range []int{1500, 9000, 65535} {
			t.Run(fmt.Sprintf("%s/mtu%d", path.name, mtu), func(t *testing.T) {
				testTCPTransfer(t, newEnvPath(t, mtu, Config{}, path.generic))
			})
		}
	}
}

func testTCPTransfer(t *testing.T, e *env) {
	const size = 8 << 20
	for _, fam := range families() {
		t.Run(fam.name, func(t *testing.T) {
			upload(t, e, fam.dst, size, 1)
			download(t, e, fam.dst, size, 2)
		})
	}
	st := e.s.Stats()
	if st.BytesUp < 2*size || st.BytesDown < 2*size {
		t.Errorf("stats bytes up %d down %d, want at least %d each", st.BytesUp, st.BytesDown, 2*size)
	}
	if st.TCPTotal != 4 {
		t.Errorf("TCPTotal = %d, want 4", st.TCPTotal)
	}
	testutil.WaitFor(t, "flows to end", 5*time.Second, func() bool { return e.s.Stats().TCPActive == 0 })
}

func TestOffloadPathSelection(t *testing.T) {
	tests := []struct {
		name    string
		wrap    func(tun.Device) tun.Device
		offload bool
	}{
		{"wireguard TUN", func(d tun.Device) tun.Device { return d }, true},
		{"wrapper with Unwrap", func(d tun.Device) tun.Device { return unwrappableDevice{d} }, true},
		{"opaque wrapper", func(d tun.Device) tun.Device { return genericDevice{d} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnvWrapped(t, 1500, Config{}, tt.wrap)
			if got := e.s.link.vnet != nil; got != tt.offload {
				t.Fatalf("offload path on: %v, want %v", got, tt.offload)
			}
			upload(t, e, dst4, 1<<20, 5)
			download(t, e, dst6, 1<<20, 6)
		})
	}
}

func TestTCPFlowAddresses(t *testing.T) {
	e := newEnv(t, 1500, Config{})
	for _, fam := range families() {
		c := e.mustDial(t, "tcp", netip.AddrPortFrom(fam.dst, portEcho))
		local := c.LocalAddr().(*net.TCPAddr).AddrPort()
		remote := c.RemoteAddr().(*net.TCPAddr).AddrPort()
		want := Flow{Network: "tcp", Src: netip.AddrPortFrom(local.Addr().Unmap(), local.Port()), Dst: remote}
		if !slices.Contains(e.h.dialed(), want) {
			t.Errorf("%s: handler saw %v, want %v among them", fam.name, e.h.dialed(), want)
		}
		if fam.dst.Is4() && want.Src.Addr() != app4 || fam.dst.Is6() && want.Src.Addr() != app6 {
			t.Errorf("%s: source %v is not the TUN address", fam.name, want.Src)
		}
	}
}

func TestTCPParallel(t *testing.T) {
	for _, path := range paths {
		t.Run(path.name, func(t *testing.T) { testTCPParallel(t, newEnvPath(t, 1500, Config{}, path.generic)) })
	}
}

func testTCPParallel(t *testing.T, e *env) {
	const conns, size = 64, 128 << 10
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst := dst4
			if i%2 == 1 {
				dst = dst6
			}
			c, err := e.dial("tcp", netip.AddrPortFrom(dst, portEcho))
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			data := patternBytes(uint64(i), size)
			go func() {
				c.Write(data)
				c.(*net.TCPConn).CloseWrite()
			}()
			got, err := io.ReadAll(c)
			if err != nil {
				errs <- fmt.Errorf("conn %d: %w", i, err)
				return
			}
			if !bytes.Equal(got, data) {
				errs <- fmt.Errorf("conn %d: echo differs (%d bytes, want %d)", i, len(got), size)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := e.s.Stats().TCPTotal; got != conns {
		t.Errorf("TCPTotal = %d, want %d", got, conns)
	}
	testutil.WaitFor(t, "flows to end", 5*time.Second, func() bool { return e.s.Stats().TCPActive == 0 })
}

func TestTCPHalfClose(t *testing.T) {
	e := newEnv(t, 1500, Config{})
	for _, fam := range families() {
		t.Run(fam.name+"/app-first", func(t *testing.T) {
			// The echo server only answers its last bytes and its FIN
			// after it saw ours.
			c := e.mustDial(t, "tcp", netip.AddrPortFrom(fam.dst, portEcho))
			if _, err := c.Write([]byte("ping")); err != nil {
				t.Fatal(err)
			}
			if err := c.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			got, err := io.ReadAll(c)
			if err != nil || string(got) != "ping" {
				t.Fatalf("read after half-close: %q, %v; want \"ping\", EOF", got, err)
			}
		})
		t.Run(fam.name+"/upstream-first", func(t *testing.T) {
			c := e.mustDial(t, "tcp", netip.AddrPortFrom(fam.dst, portHalf))
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			got, err := io.ReadAll(c)
			if err != nil || string(got) != "bye" {
				t.Fatalf("read: %q, %v; want \"bye\", EOF", got, err)
			}
			// Our direction is still open.
			if _, err := c.Write([]byte("late data")); err != nil {
				t.Fatalf("write after peer FIN: %v", err)
			}
			c.(*net.TCPConn).CloseWrite()
			select {
			case h := <-e.srv.held:
				if h.err != nil || string(h.got) != "late data" {
					t.Fatalf("server read %q, %v; want \"late data\", EOF", h.got, h.err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("server never saw our FIN")
			}
		})
	}
}

func TestTCPRefused(t *testing.T) {
	e := newEnv(t, 1500, Config{})
	for _, fam := range families() {
		for _, port := range []uint16{portRefuse, portClosed} {
			start := time.Now()
			_, err := e.dial("tcp", netip.AddrPortFrom(fam.dst, port))
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("%s port %d: dial error %v, want ECONNREFUSED", fam.name, port, err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("%s port %d: refusal took %v", fam.name, port, d)
			}
		}
	}
	if got := e.s.Stats().DialErrors; got != 4 {
		t.Errorf("DialErrors = %d, want 4", got)
	}
}

func TestTCPUpstreamReset(t *testing.T) {
	e := newEnv(t, 1500, Config{})
	for _, fam := range families() {
		c := e.mustDial(t, "tcp", netip.AddrPortFrom(fam.dst, portReset))
		c.Write([]byte("x"))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := io.ReadAll(c)
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("%s: read after upstream reset: %v, want ECONNRESET", fam.name, err)
		}
	}
}

func TestTCPAppReset(t *testing.T) {
	e := newEnv(t, 1500, Config{})
	for _, fam := range families() {
		c, err := e.dial("tcp", netip.AddrPortFrom(fam.dst, portHold))
		if err != nil {
			t.Fatal(err)
		}
		up := e.s.Stats().BytesUp
		c.Write([]byte("abc"))
		testutil.WaitFor(t, "data upstream", 5*time.Second, func() bool { return e.s.Stats().BytesUp >= up+3 })
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
		select {
		case h := <-e.srv.held:
			if string(h.got) != "abc" || !errors.Is(h.err, syscall.ECONNRESET) {
				t.Errorf("%s: upstream read %q, %v; want \"abc\", ECONNRESET", fam.name, h.got, h.err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: upstream never saw the reset", fam.name)
		}
	}
}

func TestUDPEcho(t *testing.T) {
	for _, path := range paths {
		t.Run(path.name, func(t *testing.T) { testUDPEcho(t, newEnvPath(t, 1500, Config{}, path.generic)) })
	}
}

func testUDPEcho(t *testing.T, e *env) {
	for _, fam := range families() {
		t.Run(fam.name, func(t *testing.T) {
			c := e.mustDial(t, "udp", netip.AddrPortFrom(fam.dst, portUDPEcho))
			// 8000 bytes arrive as IP fragments and are reassembled.
			for i, size := range []int{1, 100, 1200, 1400, 8000} {
				msg := patternBytes(uint64(i), size)
				if _, err := c.Write(msg); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 65535)
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				n, err := c.Read(buf)
				if err != nil {
					t.Fatalf("datagram of %d bytes: %v", size, err)
				}
				if !bytes.Equal(buf[:n], msg) {
					t.Fatalf("datagram of %d bytes: echo of %d bytes differs", size, n)
				}
			}
		})
	}
	st := e.s.Stats()
	if st.UDPTotal != 2 || st.UDPActive != 2 {
		t.Errorf("UDPTotal %d, UDPActive %d; want 2, 2", st.UDPTotal, st.UDPActive)
	}
}

func TestUDPIdleExpiry(t *testing.T) {
	e := newEnv(t, 1500, Config{UDPIdleTimeout: 300 * time.Millisecond})
	c := e.mustDial(t, "udp", netip.AddrPortFrom(dst4, portUDPEcho))
	buf := make([]byte, 100)
	// Traffic keeps the flow alive past the timeout.
	start := time.Now()
	for time.Since(start) < 600*time.Millisecond {
		c.Write([]byte("keep"))
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(buf); err != nil {
			t.Fatalf("echo while active: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := e.s.Stats().UDPTotal; got != 1 {
		t.Fatalf("UDPTotal = %d during steady traffic, want 1", got)
	}
	testutil.WaitFor(t, "idle flow to expire", 3*time.Second, func() bool { return e.s.Stats().UDPActive == 0 })
	e.h.mu.Lock()
	up := e.h.udpUp[0]
	e.h.mu.Unlock()
	if !up.closed.Load() {
		t.Error("upstream conn of the expired flow is still open")
	}
	// The next datagram opens a new flow.
	c.Write([]byte("again"))
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(buf); err != nil {
		t.Fatalf("echo after expiry: %v", err)
	}
	if got := e.s.Stats().UDPTotal; got != 2 {
		t.Errorf("UDPTotal = %d, want 2", got)
	}
}

func TestCloseFlows(t *testing.T) {
	e := newEnv(t, 1500, Config{})
	var conns []net.Conn
	for _, fam := range families() {
		c := e.mustDial(t, "tcp", netip.AddrPortFrom(fam.dst, portHold))
		c.Write([]byte("x"))
		conns = append(conns, c)
	}
	u := e.mustDial(t, "udp", netip.AddrPortFrom(dst4, portUDPEcho))
	u.Write([]byte("u"))
	buf := make([]byte, 10)
	u.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := u.Read(buf); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "flows up", 5*time.Second, func() bool {
		st := e.s.Stats()
		return st.TCPActive == 2 && st.UDPActive == 1 && st.BytesUp >= 3
	})

	if n := e.s.CloseFlows(); n != 3 {
		t.Errorf("CloseFlows reset %d flows, want 3", n)
	}
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(buf); !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("conn %d: read after CloseFlows: %v, want ECONNRESET", i, err)
		}
		select {
		case <-e.srv.held:
		case <-time.After(5 * time.Second):
			t.Errorf("upstream %d not closed", i)
		}
	}
	testutil.WaitFor(t, "flows gone", 5*time.Second, func() bool {
		st := e.s.Stats()
		return st.TCPActive == 0 && st.UDPActive == 0
	})
	// New flows work at once.
	download(t, e, dst6, 1<<20, 9)
	u.Write([]byte("again"))
	u.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := u.Read(buf); err != nil {
		t.Fatalf("udp after CloseFlows: %v", err)
	}
}

func TestCloseWithActiveFlows(t *testing.T) {
	e := newEnv(t, 1500, Config{})
	c := e.mustDial(t, "tcp", netip.AddrPortFrom(dst4, portHold))
	c.Write([]byte("x"))
	e.mustDial(t, "udp", netip.AddrPortFrom(dst6, portUDPEcho)).Write([]byte("u"))
	testutil.WaitFor(t, "flows up", 5*time.Second, func() bool {
		st := e.s.Stats()
		return st.TCPActive == 1 && st.UDPActive == 1
	})
	start := time.Now()
	if err := e.s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("app read after Close: %v, want ECONNRESET", err)
	}
	if err := e.s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// Everything the Stack, gVisor and the TUN started has ended.
	var leaked []string
	if err := testutil.Until("the stack's goroutines to end", 5*time.Second, func() bool {
		leaked = stackGoroutines()
		return len(leaked) == 0
	}); err != nil {
		t.Fatalf("%v; left after Close:\n%s", err, strings.Join(leaked, "\n\n"))
	}
}

// stackGoroutines returns the stacks of goroutines running code of this
// package (tests aside), gVisor or the wireguard TUN.
func stackGoroutines() []string {
	var out []string
	for _, g := range testutil.Stacks() {
		if strings.Contains(g, "_test.go") {
			continue
		}
		if strings.Contains(g, "gvisor.dev/") || strings.Contains(g, "wireguard/tun") || strings.Contains(g, "pexia/netstack.") {
			out = append(out, g)
		}
	}
	return out
}

func TestICMPEchoNotAnswered(t *testing.T) {
	e := newEnv(t, 1500, Config{})
	var pc net.PacketConn
	if err := e.inNS(func() (err error) {
		pc, err = net.ListenPacket("ip4:icmp", "0.0.0.0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	echo := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: 7, Seq: 1, Data: []byte("ping")}}
	b, err := echo.Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.WriteTo(b, &net.IPAddr{IP: dst4.AsSlice()}); err != nil {
		t.Fatal(err)
	}
	pc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 1500)
	if n, from, err := pc.ReadFrom(buf); err == nil {
		t.Fatalf("got %d bytes of ICMP from %v; echo requests should go unanswered", n, from)
	}
	// The stack is unharmed.
	download(t, e, dst4, 1<<16, 3)
}

// A flow that pauses after bulk data gives its large buffers back (the
// upstream read times out internally) and must carry on unharmed.
func TestTCPPauseAfterBulk(t *testing.T) {
	e := newEnv(t, 1500, Config{})
	c := e.mustDial(t, "tcp", netip.AddrPortFrom(dst6, portEcho))
	for round := range 2 {
		data := patternBytes(uint64(round), 512<<10)
		go c.Write(data)
		got := make([]byte, len(data))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("round %d: echo differs", round)
		}
		time.Sleep(largeBufIdle + 200*time.Millisecond)
	}
	if st := e.s.Stats(); st.TCPActive != 1 {
		t.Errorf("TCPActive = %d after pauses, want 1", st.TCPActive)
	}
}
