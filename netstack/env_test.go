package netstack

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"testing"
	"time"

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
	portUnreach = 3  // the handler fails with ErrHostUnreachable
	portTooBig  = 4  // UDP echo through a "tunnel" that carries at most a 1280-byte packet
	portUDPEcho = 7
	portHeld    = 21 // UDP through the upstream testHandler.dialUDP makes
)

var (
	dst4 = netip.MustParseAddr("198.51.100.7")
	dst6 = netip.MustParseAddr("2001:db8:7::7")
	app4 = netip.MustParseAddr("10.99.0.2")
	app6 = netip.MustParseAddr("fd99::2")
)

type env struct {
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

// unwrappableDevice is a wrapper that declares its Read and Write to be
// the wrapped device's, like the daemon's TUN.
type unwrappableDevice struct{ tun.Device }

func (d unwrappableDevice) Unwrap() tun.Device { return d.Device }

func newEnvPath(t testing.TB, mtu int, cfg Config, generic bool) *env {
	t.Helper()
	wrap := func(d tun.Device) tun.Device { return d }
	if generic {
		wrap = func(d tun.Device) tun.Device { return genericDevice{d} }
	}
	return newEnvWrapped(t, mtu, cfg, wrap)
}

func newEnvWrapped(t testing.TB, mtu int, cfg Config, wrap func(tun.Device) tun.Device) *env {
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
	dev := wrap(e.makeNamespace(t))
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
