package netlab

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	nlconst "github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The lab's address plan: one /24 and one /64 on the bridge, the router
// (the hub) at .1 / ::1 and hosts from .2 / ::2 up.
var (
	subnet4 = netip.MustParsePrefix("10.77.0.0/24")
	subnet6 = netip.MustParsePrefix("fd77::/64")
)

const (
	routerIndex = 1
	firstHost   = 2
	lastHost    = 254
	bridgeName  = "br0"
	// HostInterface is the name of every host's link to the bridge.
	HostInterface = "eth0"
	// nsDir is where named namespaces are bind-mounted, as by ip-netns(8).
	nsDir = "/run/netns"
	// etcNetnsDir holds per-namespace files that "ip netns exec" binds
	// over /etc (resolv.conf, say); Close removes a lab's.
	etcNetnsDir = "/etc/netns"
)

// ErrClosed is returned by methods of a Lab, or of its hosts, after Close.
var ErrClosed = errors.New("netlab: lab closed")

var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9_]{0,23}$`)

// Lab is a set of network namespaces joined by a bridge in a hub namespace.
// Its methods are safe for concurrent use.
type Lab struct {
	name   string
	hubNS  string
	hub    netns.NsHandle
	hubNL  *netlink.Handle
	bridge int // ifindex of br0 in the hub

	mu     sync.RWMutex // guards hosts, order, next, closed; held for reading while entering a namespace
	hosts  map[string]*Host
	order  []*Host
	next   int
	closed bool
}

// New creates a lab whose namespaces are named "<prefix>-<pid>-<random>-…":
// the hub namespace with the bridge and router addresses, ready for Host.
// prefix is 1 to 24 characters of [a-z0-9_], starting with a letter or
// digit. New needs root.
func New(prefix string) (*Lab, error) {
	if !validName.MatchString(prefix) {
		return nil, fmt.Errorf("netlab: invalid lab prefix %q: want 1-24 characters of [a-z0-9_]", prefix)
	}
	return newLab(prefix, os.Getpid())
}

// newLab is New with the owner's pid given, so that a test can make a lab
// that looks abandoned.
func newLab(prefix string, pid int) (*Lab, error) {
	if err := prepareNSDir(); err != nil {
		return nil, err
	}
	l := &Lab{hosts: map[string]*Host{}, next: firstHost}
	for try := 0; ; try++ {
		var b [2]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("netlab: lab name: %w", err)
		}
		l.name = fmt.Sprintf("%s-%d-%s", prefix, pid, hex.EncodeToString(b[:]))
		l.hubNS = l.name + "-hub"
		hub, err := createNS(l.hubNS, func() error {
			return writeSysctls(map[string]string{
				"net.ipv4.ip_forward":                        "1",
				"net.ipv6.conf.all.forwarding":               "1",
				"net.ipv4.conf.all.send_redirects":           "0",
				"net.ipv4.conf.default.send_redirects":       "0",
				"net.ipv6.conf.all.accept_dad":               "0",
				"net.ipv6.conf.default.accept_dad":           "0",
				"net.ipv6.conf.default.router_solicitations": "0",
			})
		})
		if errors.Is(err, fs.ErrExist) && try < 8 {
			continue // another lab of this process drew the same name
		}
		if err != nil {
			return nil, fmt.Errorf("netlab: hub namespace: %w", err)
		}
		l.hub = hub
		break
	}
	if err := l.setupHub(); err != nil {
		return nil, errors.Join(fmt.Errorf("netlab: hub: %w", err), l.Close())
	}
	return l, nil
}

func (l *Lab) setupHub() error {
	nl, err := netlink.NewHandleAt(l.hub)
	if err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	l.hubNL = nl
	if err := linkUp(nl, "lo"); err != nil {
		return err
	}
	snoop := false
	// A fixed address: a bridge otherwise takes its lowest port's, which
	// changes as hosts join.
	br := &netlink.Bridge{
		LinkAttrs:         netlink.LinkAttrs{Name: bridgeName, HardwareAddr: labMAC(routerIndex)},
		MulticastSnooping: &snoop,
	}
	if err := nl.LinkAdd(br); err != nil {
		return fmt.Errorf("add bridge: %w", err)
	}
	link, err := nl.LinkByName(bridgeName)
	if err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	l.bridge = link.Attrs().Index
	for _, p := range []netip.Prefix{hostPrefix(subnet4, routerIndex), hostPrefix(subnet6, routerIndex)} {
		if err := nl.AddrAdd(link, &netlink.Addr{IPNet: ipNet(p), Flags: unix.IFA_F_NODAD}); err != nil {
			return fmt.Errorf("address %s on %s: %w", p, bridgeName, err)
		}
	}
	if err := nl.LinkSetUp(link); err != nil {
		return fmt.Errorf("bridge up: %w", err)
	}
	return nil
}

// Name is the lab's unique name, the prefix of all its namespace names.
func (l *Lab) Name() string { return l.name }

// Router4 is the hub's address on the bridge, every host's IPv4 gateway.
func (l *Lab) Router4() netip.Addr { return hostPrefix(subnet4, routerIndex).Addr() }

// Router6 is the hub's IPv6 address on the bridge, every host's IPv6 gateway.
func (l *Lab) Router6() netip.Addr { return hostPrefix(subnet6, routerIndex).Addr() }

// Hosts returns the lab's hosts in creation order.
func (l *Lab) Hosts() []*Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*Host(nil), l.order...)
}

// Host creates a host: namespace "<lab>-<name>" with loopback up, eth0 on
// the bridge with the next free addresses, and default routes via the hub.
// name is 1 to 24 characters of [a-z0-9_] and unique within the lab.
func (l *Lab) Host(name string) (*Host, error) {
	if !validName.MatchString(name) || name == "hub" {
		return nil, fmt.Errorf("netlab: invalid host name %q: want 1-24 characters of [a-z0-9_], not \"hub\"", name)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	if _, ok := l.hosts[name]; ok {
		return nil, fmt.Errorf("netlab: host %q already exists", name)
	}
	if l.next > lastHost {
		return nil, fmt.Errorf("netlab: host %q: lab is full (%d hosts)", name, lastHost-firstHost+1)
	}
	idx := l.next
	h := &Host{
		lab:    l,
		name:   name,
		nsName: l.name + "-" + name,
		index:  idx,
		addr4:  hostPrefix(subnet4, idx).Addr(),
		addr6:  hostPrefix(subnet6, idx).Addr(),
	}
	ns, err := createNS(h.nsName, func() error {
		return writeSysctls(map[string]string{
			"net.ipv4.ip_forward":                        "0",
			"net.ipv6.conf.all.accept_dad":               "0",
			"net.ipv6.conf.default.accept_dad":           "0",
			"net.ipv6.conf.default.router_solicitations": "0",
			"net.ipv4.conf.all.accept_redirects":         "0",
			"net.ipv4.conf.default.accept_redirects":     "0",
			"net.ipv6.conf.all.accept_redirects":         "0",
			"net.ipv6.conf.default.accept_redirects":     "0",
		})
	})
	if err != nil {
		return nil, fmt.Errorf("netlab: host %s: %w", name, err)
	}
	h.ns = ns
	if err := l.attach(h); err != nil {
		return nil, errors.Join(fmt.Errorf("netlab: host %s: %w", name, err), h.destroy())
	}
	l.next++
	l.hosts[name] = h
	l.order = append(l.order, h)
	return h, nil
}

// attach joins h to the bridge and configures its addresses and routes.
func (l *Lab) attach(h *Host) error {
	nl, err := netlink.NewHandleAt(h.ns)
	if err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	h.nl = nl
	port := fmt.Sprintf("p%d", h.index)
	veth := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: port, MasterIndex: l.bridge},
		PeerName:         HostInterface,
		PeerHardwareAddr: labMAC(h.index),
		PeerNamespace:    netlink.NsFd(int(h.ns)),
	}
	if err := l.hubNL.LinkAdd(veth); err != nil {
		return fmt.Errorf("add veth: %w", err)
	}
	// The bridge port needs no IPv6 address of its own; without one it
	// sends no neighbour discovery or MLD into the host.
	if link, err := l.hubNL.LinkByName(port); err != nil {
		return fmt.Errorf("link %s: %w", port, err)
	} else if err := l.hubNL.LinkSetIP6AddrGenMode(link, nlconst.IN6_ADDR_GEN_MODE_NONE); err != nil {
		return fmt.Errorf("link %s: addrgenmode: %w", port, err)
	}
	if err := linkUp(l.hubNL, port); err != nil {
		return err
	}
	if err := linkUp(nl, "lo"); err != nil {
		return err
	}
	if err := linkUp(nl, HostInterface); err != nil {
		return err
	}
	eth, err := nl.LinkByName(HostInterface)
	if err != nil {
		return fmt.Errorf("%s: %w", HostInterface, err)
	}
	for _, p := range []netip.Prefix{hostPrefix(subnet4, h.index), hostPrefix(subnet6, h.index)} {
		if err := nl.AddrAdd(eth, &netlink.Addr{IPNet: ipNet(p), Flags: unix.IFA_F_NODAD}); err != nil {
			return fmt.Errorf("address %s: %w", p, err)
		}
	}
	for _, gw := range []netip.Addr{l.Router4(), l.Router6()} {
		dst := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		if gw.Is6() {
			dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
		r := &netlink.Route{LinkIndex: eth.Attrs().Index, Dst: ipNet(dst), Gw: gw.AsSlice()}
		if err := nl.RouteAdd(r); err != nil {
			return fmt.Errorf("default route via %s: %w", gw, err)
		}
	}
	return nil
}

// Route makes the hub send traffic for p to via, for address ranges that
// live behind a host (a tunnel's inner addresses, say).
func (l *Lab) Route(p netip.Prefix, via *Host) error {
	return l.guard(func() error {
		if err := routeVia(l.hubNL, p, via); err != nil {
			return fmt.Errorf("netlab: hub route %s via %s: %w", p, via.name, err)
		}
		return nil
	}, via)
}

// LimitMTU has the hub forward packets for p (a prefix a host announced
// or Route added) only up to mtu bytes, as a router in front of a smaller
// link does: it answers a larger packet that may not be fragmented with
// ICMP fragmentation needed (ICMPv6 packet too big) carrying mtu. The
// limit is the route's locked MTU, so the hosts' own links stay as they
// are.
func (l *Lab) LimitMTU(p netip.Prefix, mtu int) error {
	return l.guard(func() error {
		if !p.IsValid() {
			return fmt.Errorf("netlab: limit mtu: invalid prefix %s", p)
		}
		p = p.Masked()
		family := netlink.FAMILY_V4
		if p.Addr().Is6() {
			family = netlink.FAMILY_V6
		}
		rs, err := l.hubNL.RouteListFiltered(family, &netlink.Route{Dst: ipNet(p)}, netlink.RT_FILTER_DST)
		if err != nil || len(rs) == 0 {
			return fmt.Errorf("netlab: limit mtu: no hub route for %s (%v)", p, err)
		}
		r := rs[0]
		r.MTU, r.MTULock = mtu, true
		if err := l.hubNL.RouteReplace(&r); err != nil {
			return fmt.Errorf("netlab: limit mtu of %s to %d: %w", p, mtu, err)
		}
		return nil
	})
}

// guard runs fn while the lab can't be closed, after checking that it is
// open and that hosts belong to it. Every use of a netlink handle goes
// through it: a closed handle would act on the caller's own namespace.
func (l *Lab) guard(fn func() error, hosts ...*Host) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	for _, h := range hosts {
		if h == nil || h.lab != l {
			return errors.New("netlab: host is not part of this lab")
		}
	}
	return fn()
}

// Close kills every process still running in the lab's namespaces and
// deletes the namespaces, which deletes every link and route in them.
// Sockets created in a host with Do stay usable but unreachable until
// closed. Close is idempotent.
func (l *Lab) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	var errs []error
	for _, h := range l.order {
		errs = append(errs, h.destroy())
	}
	if l.hubNL != nil {
		l.hubNL.Close()
	}
	errs = append(errs, destroyNS(l.hubNS, l.hub))
	return errors.Join(errs...)
}

// Cleanup deletes the namespaces left behind by labs made with New(prefix)
// in processes that no longer run, after killing any process still inside
// them. Labs of running processes are left alone.
func Cleanup(prefix string) error {
	if !validName.MatchString(prefix) {
		return fmt.Errorf("netlab: invalid lab prefix %q", prefix)
	}
	entries, err := os.ReadDir(nsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("netlab: cleanup: %w", err)
	}
	var errs []error
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix+"-")
		if !ok {
			continue
		}
		parts := strings.SplitN(rest, "-", 3)
		if len(parts) != 3 || len(parts[1]) != 4 {
			continue
		}
		pid, err := strconv.Atoi(parts[0])
		if err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		if _, err := hex.DecodeString(parts[1]); err != nil {
			continue
		}
		if err := destroyNS(e.Name(), netns.None()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func processAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

func linkUp(nl *netlink.Handle, name string) error {
	link, err := nl.LinkByName(name)
	if err != nil {
		return fmt.Errorf("link %s: %w", name, err)
	}
	if err := nl.LinkSetUp(link); err != nil {
		return fmt.Errorf("link %s up: %w", name, err)
	}
	return nil
}

// routeVia adds a route for p via h's address of p's family on the bridge.
func routeVia(nl *netlink.Handle, p netip.Prefix, h *Host) error {
	if !p.IsValid() {
		return errors.New("invalid prefix")
	}
	p = p.Masked()
	gw := h.addr4
	if p.Addr().Is6() {
		gw = h.addr6
	}
	return nl.RouteAdd(&netlink.Route{Dst: ipNet(p), Gw: gw.AsSlice()})
}

// hostPrefix is address number i of subnet, with the subnet's length.
func hostPrefix(subnet netip.Prefix, i int) netip.Prefix {
	b := subnet.Addr().AsSlice()
	b[len(b)-1] = byte(i)
	a, _ := netip.AddrFromSlice(b)
	return netip.PrefixFrom(a, subnet.Bits())
}

// labMAC is the locally administered MAC address of lab address i.
func labMAC(i int) net.HardwareAddr {
	return net.HardwareAddr{0x02, 0x77, 0, 0, 0, byte(i)}
}

func ipNet(p netip.Prefix) *net.IPNet {
	bits := 128
	if p.Addr().Is4() {
		bits = 32
	}
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), bits)}
}
