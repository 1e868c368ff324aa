package tun

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"
)

func TestCreateConfigure(t *testing.T) {
	n := newTestNet(t)
	t.Parallel()
	dev := n.newTUN(t)

	if name, err := dev.Name(); err != nil || name != DefaultName {
		t.Fatalf("Name() = %q, %v; want %q", name, err, DefaultName)
	}
	if mtu, err := dev.MTU(); err != nil || mtu != DefaultMTU {
		t.Fatalf("MTU() = %d, %v; want %d (asked inside the namespace)", mtu, err, DefaultMTU)
	}
	out := ip(t, "-n", n.C, "addr", "show", "dev", DefaultName)
	for _, want := range []string{"mtu 9000", "UP", "inet 100.80.120.1/24", "inet6 fd70:6578:6961::1/64"} {
		if !strings.Contains(out, want) {
			t.Errorf("ip addr show %s lacks %q:\n%s", DefaultName, want, out)
		}
	}
	// Configure again is harmless.
	if err := Configure(DefaultName, []netip.Prefix{DefaultAddr4, DefaultAddr6}, InNetNS(n.CPath)); err != nil {
		t.Fatalf("second Configure: %v", err)
	}
	// The in-tunnel resolver is routed into the TUN, not delivered locally.
	for _, dns := range []netip.Addr{DNS4, DNS6} {
		rt := routeGet(t, n, dns, 0)
		if rt.LinkIndex != linkIndex(t, n, DefaultName) || rt.Type == syscall.RTN_LOCAL {
			t.Errorf("route to %v = %+v; want unicast via %s", dns, rt, DefaultName)
		}
	}
	// The host namespace never saw the device.
	if _, err := net.InterfaceByName(DefaultName); err == nil {
		t.Errorf("%s appeared in the host namespace", DefaultName)
	}
}

func TestCreateRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		mtu  int
	}{
		{"", DefaultMTU},
		{"averyveryverylongname", DefaultMTU},
		{"bad/name", DefaultMTU},
		{"pexia%d", DefaultMTU},
		{DefaultName, 1000},
		{DefaultName, 70000},
	} {
		if _, err := Create(tc.name, tc.mtu); err == nil {
			t.Errorf("Create(%q, %d) succeeded; want error", tc.name, tc.mtu)
		}
	}
	if err := Configure("pexia-nonexist", []netip.Prefix{{}}); err == nil {
		t.Error("Configure with an invalid prefix succeeded")
	}
}

func TestRoutesUpDown(t *testing.T) {
	n := newTestNet(t)
	t.Parallel()
	dev := n.newTUN(t)
	before := n.snapshot(t)
	state := t.TempDir()

	var r Routes
	cfg := RouteConfig{
		Iface:    DefaultName,
		Exclude:  []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8:1::/48")},
		IPv6:     true,
		NetNS:    n.CPath,
		StateDir: state,
	}
	if err := r.Up(cfg); err != nil {
		t.Fatalf("Up: %v", err)
	}
	if err := r.Up(cfg); err == nil {
		t.Fatal("second Up succeeded; want error")
	}
	if _, err := os.Stat(filepath.Join(state, journalRoutes)); err != nil {
		t.Errorf("routes journal missing while up: %v", err)
	}

	rules4 := ip(t, "-n", n.C, "-4", "rule", "show")
	rules6 := ip(t, "-n", n.C, "-6", "rule", "show")
	for _, want := range []struct{ out, line string }{
		{rules4, "5070:\tfrom all to 198.51.100.0/24 lookup main proto 80"},
		{rules4, "5080:\tfrom all lookup main suppress_prefixlength 0 proto 80"},
		{rules4, "5090:\tnot from all fwmark 0x5078 lookup 5078 proto 80"},
		{rules6, "5070:\tfrom all to 2001:db8:1::/48 lookup main proto 80"},
		{rules6, "5080:\tfrom all lookup main suppress_prefixlength 0 proto 80"},
		{rules6, "5090:\tnot from all fwmark 0x5078 lookup 5078 proto 80"},
	} {
		if !strings.Contains(want.out, want.line) {
			t.Errorf("ip rule lacks %q:\n%s", want.line, want.out)
		}
	}
	if got := ip(t, "-n", n.C, "-4", "route", "show", "table", "5078"); !strings.Contains(got, "default dev pexia0 proto 80 scope link") {
		t.Errorf("table 5078 (v4):\n%s", got)
	}
	if got := ip(t, "-n", n.C, "-6", "route", "show", "table", "5078"); !strings.Contains(got, "default dev pexia0 proto 80") {
		t.Errorf("table 5078 (v6):\n%s", got)
	}

	tunIdx, upIdx := linkIndex(t, n, DefaultName), linkIndex(t, n, n.Uplink)
	for _, tc := range []struct {
		dst  string
		mark uint32
		want int
	}{
		{"203.0.113.1", 0, tunIdx},             // the internet goes into the tunnel
		{"203.0.113.1", DefaultMark, upIdx},    // the daemon's own traffic does not
		{"198.51.100.7", 0, upIdx},             // excluded prefix
		{"192.168.77.1", 0, upIdx},             // the LAN stays reachable
		{"2001:db8::1", 0, tunIdx},             // both families
		{"2001:db8::1", DefaultMark, upIdx},    //
		{"2001:db8:1::5", 0, upIdx},            // excluded v6 prefix
		{"fd00:77::1", 0, upIdx},               // v6 LAN
		{"100.80.120.53", DefaultMark, tunIdx}, // the resolver is in the tunnel for everyone
	} {
		rt := routeGet(t, n, netip.MustParseAddr(tc.dst), tc.mark)
		if rt.LinkIndex != tc.want {
			t.Errorf("route to %s mark %#x leaves via ifindex %d; want %d", tc.dst, tc.mark, rt.LinkIndex, tc.want)
		}
	}

	// Real packets: unmarked ones appear on the TUN, marked ones reach the
	// peer over the veth.
	peer4 := listenUDP(t, n.PPath, netip.AddrPortFrom(internet4, testPort))
	peer6 := listenUDP(t, n.PPath, netip.AddrPortFrom(internet6, testPort))
	for _, dst := range []netip.AddrPort{netip.AddrPortFrom(internet4, testPort), netip.AddrPortFrom(internet6, testPort)} {
		if err := sendUDP(t, n.CPath, 0, dst, "via-tun"); err != nil {
			t.Fatalf("unmarked send to %v: %v", dst, err)
		}
		if got := readUDPFromTUN(t, dev, dst); got != "via-tun" {
			t.Errorf("TUN got %q for %v", got, dst)
		}
		if err := sendUDP(t, n.CPath, DefaultMark, dst, "marked"); err != nil {
			t.Fatalf("marked send to %v: %v", dst, err)
		}
	}
	peer4.expect(t, "marked")
	peer6.expect(t, "marked")
	if peer4.n.Load() != 1 || peer6.n.Load() != 1 {
		t.Errorf("peer got %d/%d datagrams; want exactly the marked one each", peer4.n.Load(), peer6.n.Load())
	}

	if err := r.Down(); err != nil {
		t.Fatalf("Down: %v", err)
	}
	if after := n.snapshot(t); after != before {
		t.Errorf("Down did not restore the rules and routes.\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if _, err := os.Stat(filepath.Join(state, journalRoutes)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("routes journal left after Down: %v", err)
	}
	if err := r.Down(); err != nil {
		t.Errorf("second Down: %v", err)
	}
	// Up again after Down works.
	if err := r.Up(cfg); err != nil {
		t.Fatalf("Up after Down: %v", err)
	}
	if err := r.Down(); err != nil {
		t.Fatalf("Down: %v", err)
	}
}

// With IPv6 off, IPv6 to the internet must fail rather than bypass the
// tunnel, while the v6 LAN and the daemon's marked traffic still work.
func TestRoutesIPv6Off(t *testing.T) {
	n := newTestNet(t)
	t.Parallel()
	n.newTUN(t)
	before := n.snapshot(t)
	var r Routes
	if err := r.Up(RouteConfig{Iface: DefaultName, NetNS: n.CPath}); err != nil {
		t.Fatalf("Up: %v", err)
	}
	peer := listenUDP(t, n.PPath, netip.AddrPortFrom(internet6, testPort))
	lan := listenUDP(t, n.PPath, netip.AddrPortFrom(lanPeer6, testPort))
	err := sendUDP(t, n.CPath, 0, netip.AddrPortFrom(internet6, testPort), "leak")
	if !errors.Is(err, syscall.ENETUNREACH) && !errors.Is(err, syscall.EHOSTUNREACH) {
		t.Errorf("unmarked IPv6 send: %v; want unreachable", err)
	}
	if err := sendUDP(t, n.CPath, 0, netip.AddrPortFrom(lanPeer6, testPort), "lan"); err != nil {
		t.Fatalf("v6 LAN send: %v", err)
	}
	lan.expect(t, "lan")
	if err := sendUDP(t, n.CPath, DefaultMark, netip.AddrPortFrom(internet6, testPort), "marked"); err != nil {
		t.Fatalf("marked send: %v", err)
	}
	peer.expect(t, "marked")
	if peer.n.Load() != 1 {
		t.Errorf("peer got %d datagrams; want only the marked one", peer.n.Load())
	}
	if err := r.Down(); err != nil {
		t.Fatalf("Down: %v", err)
	}
	if after := n.snapshot(t); after != before {
		t.Errorf("Down did not restore.\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// A failing Up leaves nothing behind.
func TestRoutesUpRollsBack(t *testing.T) {
	n := newTestNet(t)
	t.Parallel()
	n.newTUN(t)
	// Occupy the slot of the last rule Up adds so that adding it fails.
	ip(t, "-n", n.C, "-6", "rule", "add", "not", "fwmark", "0x5078", "table", "5078", "priority", "5090", "proto", "80")
	before := n.snapshot(t)
	state := t.TempDir()
	var r Routes
	if err := r.Up(RouteConfig{Iface: DefaultName, IPv6: true, NetNS: n.CPath, StateDir: state}); err == nil {
		t.Fatal("Up succeeded despite the conflicting rule")
	}
	if after := n.snapshot(t); after != before {
		t.Errorf("failed Up left changes.\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if _, err := os.Stat(filepath.Join(state, journalRoutes)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal left after failed Up: %v", err)
	}
}

func TestRoutesRejectsBadConfig(t *testing.T) {
	var r Routes
	for _, cfg := range []RouteConfig{
		{},
		{Iface: "x", Table: 254},
		{Iface: "x", Table: -1},
		{Iface: "x", Priority: 32760},
		{Iface: "x", Exclude: []netip.Prefix{{}}},
	} {
		if err := r.Up(cfg); err == nil {
			t.Errorf("Up(%+v) succeeded; want error", cfg)
		}
	}
}

func routeGet(t *testing.T, n *testNet, dst netip.Addr, mark uint32) netlink.Route {
	t.Helper()
	h, err := netlinkHandle(n.CPath)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	rts, err := h.RouteGetWithOptions(net.IP(dst.AsSlice()), &netlink.RouteGetOptions{Mark: mark})
	if err != nil || len(rts) == 0 {
		t.Fatalf("route get %v mark %#x: %v", dst, mark, err)
	}
	return rts[0]
}

func linkIndex(t *testing.T, n *testNet, name string) int {
	t.Helper()
	h, err := netlinkHandle(n.CPath)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, err := h.LinkByName(name)
	if err != nil {
		t.Fatalf("link %s: %v", name, err)
	}
	return l.Attrs().Index
}
