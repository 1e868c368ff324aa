package netlab

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Host is one network namespace of a lab, joined to its bridge by eth0.
type Host struct {
	lab    *Lab
	name   string
	nsName string
	index  int
	addr4  netip.Addr
	addr6  netip.Addr
	ns     netns.NsHandle  // guarded by lab.mu against Close
	nl     *netlink.Handle // netlink sockets inside ns
}

// Name is the host's name within its lab.
func (h *Host) Name() string { return h.name }

// Namespace is the name of the host's network namespace, as "ip netns"
// shows it.
func (h *Host) Namespace() string { return h.nsName }

// Addr4 is the host's IPv4 address on the bridge.
func (h *Host) Addr4() netip.Addr { return h.addr4 }

// Addr6 is the host's IPv6 address on the bridge.
func (h *Host) Addr6() netip.Addr { return h.addr6 }

// Do runs fn with the calling goroutine locked to an OS thread that is
// switched into the host's namespace, and switches back afterwards. Sockets
// fn creates stay in the host's namespace for good and can be used from any
// goroutine; goroutines fn starts do not run in the namespace. If the thread
// can't be switched back it is left locked, so the runtime discards it.
func (h *Host) Do(fn func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netlab: %s: current namespace: %w", h.name, err)
	}
	defer orig.Close()
	if err := h.enter(); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer func() {
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
	}()
	return fn()
}

// enter switches the locked calling thread into the host's namespace.
func (h *Host) enter() error {
	h.lab.mu.RLock()
	defer h.lab.mu.RUnlock()
	if h.lab.closed {
		return ErrClosed
	}
	if err := netns.Set(h.ns); err != nil {
		return fmt.Errorf("netlab: enter %s: %w", h.nsName, err)
	}
	return nil
}

// Command returns a command that runs name with args inside the host's
// namespace through "ip netns exec". Close kills it if it still runs then.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.nsName, name}, args...)...)
}

// Listen is net.Listen inside the host's namespace.
func (h *Host) Listen(network, address string) (net.Listener, error) {
	var ln net.Listener
	err := h.Do(func() (err error) {
		ln, err = net.Listen(network, address)
		return err
	})
	return ln, err
}

// ListenPacket is net.ListenPacket inside the host's namespace.
func (h *Host) ListenPacket(network, address string) (net.PacketConn, error) {
	var pc net.PacketConn
	err := h.Do(func() (err error) {
		pc, err = net.ListenPacket(network, address)
		return err
	})
	return pc, err
}

// Dialer returns a dialer whose connections are made from the host.
func (h *Host) Dialer() *Dialer { return &Dialer{host: h} }

// Dialer dials from inside a host's namespace. The embedded net.Dialer
// holds the usual settings (Timeout, LocalAddr, KeepAlive, Control); its
// FallbackDelay is ignored, since parallel "happy eyeballs" dials would run
// on goroutines outside the namespace: addresses are tried one by one.
// Names are resolved with the Go resolver, its queries sent from inside
// the namespace to the name server the host's processes see: that of
// /etc/netns/NS/resolv.conf (which "ip netns exec" shows them as
// /etc/resolv.conf) when the file exists, else the machine's; unless
// Resolver is set.
type Dialer struct {
	net.Dialer
	host *Host
}

// DialContext connects to address on the named network from the host.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	nd := d.Dialer
	nd.FallbackDelay = -1
	if nd.Resolver == nil {
		nd.Resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			if ns, ok, err := d.host.nameserver(); err != nil {
				return nil, err
			} else if ok {
				address = ns
			}
			var c net.Conn
			err := d.host.Do(func() (err error) {
				var plain net.Dialer
				c, err = plain.DialContext(ctx, network, address)
				return err
			})
			return c, err
		}}
	}
	var c net.Conn
	err := d.host.Do(func() (err error) {
		c, err = nd.DialContext(ctx, network, address)
		return err
	})
	return c, err
}

// nameserver returns the first name server of the host's own resolver
// file as host:53 (the loopback address if it names none, as the C
// library does), and false if the host has no such file.
func (h *Host) nameserver() (string, bool, error) {
	path := filepath.Join(etcNetnsDir, h.nsName, "resolv.conf")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	} else if err != nil {
		return "", false, fmt.Errorf("netlab: %s: %w", h.name, err)
	}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			a, err := netip.ParseAddr(f[1])
			if err != nil {
				continue // as the C library skips what it cannot parse
			}
			return netip.AddrPortFrom(a, 53).String(), true, nil
		}
	}
	return "127.0.0.1:53", true, nil // the C library's default
}

// Dial connects to address on the named network from the host.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// HTTPClient returns an HTTP client whose connections are made from the
// host and that trusts roots for HTTPS (ServeHTTP's HTTPServer.Roots).
func (h *Host) HTTPClient(roots *x509.CertPool) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:       h.Dialer().DialContext,
		TLSClientConfig:   &tls.Config{RootCAs: roots},
		ForceAttemptHTTP2: true,
	}}
}

// Sysctl sets a network sysctl of the host's namespace, named as sysctl(8)
// names it ("net.ipv4.ip_forward").
func (h *Host) Sysctl(key, value string) error {
	if err := h.Do(func() error { return writeSysctl(key, value) }); err != nil {
		return fmt.Errorf("netlab: %s: %w", h.name, err)
	}
	return nil
}

// Route makes the host send traffic for p to via over the bridge.
func (h *Host) Route(p netip.Prefix, via *Host) error {
	return h.lab.guard(func() error {
		if err := routeVia(h.nl, p, via); err != nil {
			return fmt.Errorf("netlab: %s: route %s via %s: %w", h.name, p, via.name, err)
		}
		return nil
	}, h, via)
}

// Announce makes every address of p local to the host and has the hub
// route p to it, so that traffic from any host to any address in p arrives
// here and a server listening on the wildcard address answers it. TCP
// replies from the address it was asked on by itself; a UDP server must
// choose its reply's source (IP_PKTINFO), as ServeUDPEcho and ServeDNS do,
// or routing picks the host's bridge address. p must not overlap the lab's
// own subnets and must not be a default route.
func (h *Host) Announce(p netip.Prefix) error {
	if !p.IsValid() || p.Bits() == 0 {
		return fmt.Errorf("netlab: announce %s: want a valid, non-default prefix", p)
	}
	p = p.Masked()
	if p.Overlaps(subnet4) || p.Overlaps(subnet6) {
		return fmt.Errorf("netlab: announce %s: overlaps the lab's subnets %s, %s", p, subnet4, subnet6)
	}
	if p.Addr().Is6() {
		// IPv6 refuses a reply source (IPV6_PKTINFO) that is only covered
		// by a local route, unless non-local binding is allowed.
		if err := h.Sysctl("net.ipv6.ip_nonlocal_bind", "1"); err != nil {
			return err
		}
	}
	return h.lab.guard(func() error {
		lo, err := h.nl.LinkByName("lo")
		if err != nil {
			return fmt.Errorf("netlab: %s: lo: %w", h.name, err)
		}
		local := &netlink.Route{
			LinkIndex: lo.Attrs().Index,
			Dst:       ipNet(p),
			Type:      unix.RTN_LOCAL,
			Table:     unix.RT_TABLE_LOCAL,
			Scope:     netlink.SCOPE_HOST,
		}
		if err := h.nl.RouteAdd(local); err != nil {
			return fmt.Errorf("netlab: %s: local route %s: %w", h.name, p, err)
		}
		if err := routeVia(h.lab.hubNL, p, h); err != nil {
			return fmt.Errorf("netlab: hub route %s via %s: %w", p, h.name, err)
		}
		return nil
	}, h)
}

// destroy deletes the host's namespace; the caller holds lab.mu.
func (h *Host) destroy() error {
	if h.nl != nil {
		h.nl.Close()
	}
	err := destroyNS(h.nsName, h.ns)
	h.ns = netns.None()
	if err != nil {
		return fmt.Errorf("netlab: host %s: %w", h.name, err)
	}
	return nil
}
