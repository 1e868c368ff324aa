package tun

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/nftables"

	"github.com/pexia-network/pexia/internal/testutil"
)

func TestKillSwitch(t *testing.T) {
	n := newTestNet(t)
	t.Parallel()
	state := t.TempDir()
	ks := KillSwitch{NetNS: n.CPath, StateDir: state}

	inet := listenUDP(t, n.PPath, netip.AddrPortFrom(internet4, testPort))
	inet6 := listenUDP(t, n.PPath, netip.AddrPortFrom(internet6, testPort))
	lan := listenUDP(t, n.PPath, netip.AddrPortFrom(lanPeer4, testPort))
	lanDNS := listenUDP(t, n.PPath, netip.AddrPortFrom(lanPeer4, 53))
	local := listenUDP(t, n.CPath, netip.MustParseAddrPort("127.0.0.1:9999"))
	inbound := listenUDP(t, n.CPath, netip.AddrPortFrom(lanSelf4, testPort))

	if err := ks.Install(Policy{Iface: DefaultName, Mark: DefaultMark}); err != nil {
		t.Fatalf("Install: %v", err)
	}
	if ok, err := ks.Installed(); err != nil || !ok {
		t.Fatalf("Installed() = %v, %v; want true", ok, err)
	}
	if _, err := os.Stat(filepath.Join(state, journalKillSwitch)); err != nil {
		t.Errorf("kill-switch journal missing: %v", err)
	}
	// Force neighbour discovery through the firewall for the marked IPv6
	// send below.
	ip(t, "-n", n.C, "neigh", "flush", "all")

	// Unmarked traffic off the TUN is dropped, to the internet and the LAN.
	for _, dst := range []netip.AddrPort{
		netip.AddrPortFrom(internet4, testPort),
		netip.AddrPortFrom(internet6, testPort),
		netip.AddrPortFrom(lanPeer4, testPort),
	} {
		if err := sendUDP(t, n.CPath, 0, dst, "leak"); !isEPERM(err) {
			t.Errorf("unmarked send to %v: %v; want the firewall's EPERM", dst, err)
		}
	}
	// Loopback and the daemon's marked traffic pass, both families.
	if err := sendUDP(t, n.CPath, 0, netip.MustParseAddrPort("127.0.0.1:9999"), "lo"); err != nil {
		t.Fatalf("loopback send: %v", err)
	}
	local.expect(t, "lo")
	for _, dst := range []netip.AddrPort{netip.AddrPortFrom(internet4, testPort), netip.AddrPortFrom(internet6, testPort)} {
		if err := sendUDP(t, n.CPath, DefaultMark, dst, "marked"); err != nil {
			t.Fatalf("marked send to %v: %v", dst, err)
		}
	}
	inet.expect(t, "marked")
	inet6.expect(t, "marked")
	// New inbound connections from off the TUN are dropped.
	if err := sendUDP(t, n.PPath, 0, netip.AddrPortFrom(lanSelf4, testPort), "inbound"); err != nil {
		t.Fatalf("peer send: %v", err)
	}
	inbound.expectNone(t)
	lan.expectNone(t)
	if inet.n.Load() != 1 || inet6.n.Load() != 1 {
		t.Errorf("internet got %d/%d datagrams; want only the marked ones", inet.n.Load(), inet6.n.Load())
	}
	dropped, err := ks.Dropped()
	if err != nil || dropped < 4 {
		t.Errorf("Dropped() = %d, %v; want at least 4", dropped, err)
	}

	// Allowing the LAN replaces the table: LAN traffic passes both ways,
	// the internet and LAN DNS stay blocked.
	if err := ks.Install(Policy{Iface: DefaultName, Mark: DefaultMark, AllowLAN: true}); err != nil {
		t.Fatalf("Install with LAN: %v", err)
	}
	if err := sendUDP(t, n.CPath, 0, netip.AddrPortFrom(lanPeer4, testPort), "lan"); err != nil {
		t.Fatalf("LAN send: %v", err)
	}
	lan.expect(t, "lan")
	if err := sendUDP(t, n.PPath, 0, netip.AddrPortFrom(lanSelf4, testPort), "inbound-lan"); err != nil {
		t.Fatalf("peer send: %v", err)
	}
	inbound.expect(t, "inbound-lan")
	if err := sendUDP(t, n.CPath, 0, netip.AddrPortFrom(lanPeer4, 53), "dns"); !isEPERM(err) {
		t.Errorf("DNS to the LAN resolver: %v; want EPERM", err)
	}
	lanDNS.expectNone(t)
	if err := sendUDP(t, n.CPath, 0, netip.AddrPortFrom(internet4, testPort), "leak"); !isEPERM(err) {
		t.Errorf("internet send with LAN allowed: %v; want EPERM", err)
	}

	if err := ks.Remove(); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if ok, err := ks.Installed(); err != nil || ok {
		t.Fatalf("Installed() after Remove = %v, %v; want false", ok, err)
	}
	if tables := nftTables(t, n.CPath); len(tables) != 0 {
		t.Errorf("tables left after Remove: %v", tables)
	}
	if _, err := os.Stat(filepath.Join(state, journalKillSwitch)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("kill-switch journal left after Remove: %v", err)
	}
	if err := sendUDP(t, n.CPath, 0, netip.AddrPortFrom(internet4, testPort), "open"); err != nil {
		t.Fatalf("send after Remove: %v", err)
	}
	inet.expect(t, "open")
	if err := ks.Remove(); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}

// Replacing the policy must never leave a moment without one: a sender
// hammers the internet while the LAN setting flips back and forth, and not
// one datagram may get out.
func TestKillSwitchReplaceIsAtomic(t *testing.T) {
	n := newTestNet(t)
	t.Parallel()
	ks := KillSwitch{NetNS: n.CPath}
	t.Cleanup(func() { ks.Remove() })
	if err := ks.Install(Policy{Iface: DefaultName, Mark: DefaultMark}); err != nil {
		t.Fatal(err)
	}
	inet := listenUDP(t, n.PPath, netip.AddrPortFrom(internet4, testPort))

	conn := udpSocket(t, n.CPath, 0, false)
	defer conn.Close()
	var sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			conn.WriteToUDPAddrPort([]byte("leak"), netip.AddrPortFrom(internet4, testPort))
			sent.Add(1)
		}
	}()
	const flips = 100
	for i := range flips {
		if err := ks.Install(Policy{Iface: DefaultName, Mark: DefaultMark, AllowLAN: i%2 == 0}); err != nil {
			t.Fatalf("Install #%d: %v", i, err)
		}
	}
	close(stop)
	wg.Wait()
	inet.expectNone(t)
	t.Logf("%d sends during %d replacements, none got through", sent.Load(), flips)
	if sent.Load() < flips {
		t.Logf("only %d sends overlapped the replacements", sent.Load())
	}
}

// Lockdown: the kill switch works without any TUN, and a fresh KillSwitch
// value (a restarted daemon) sees and removes it.
func TestKillSwitchLockdown(t *testing.T) {
	n := newTestNet(t)
	t.Parallel()
	if err := (KillSwitch{NetNS: n.CPath}).Install(Policy{}); err != nil {
		t.Fatal(err)
	}
	if err := sendUDP(t, n.CPath, DefaultMark, netip.AddrPortFrom(internet4, testPort), "x"); !isEPERM(err) {
		t.Errorf("marked send with no mark exemption: %v; want EPERM", err)
	}
	later := KillSwitch{NetNS: n.CPath}
	if ok, _ := later.Installed(); !ok {
		t.Fatal("a new KillSwitch value does not see the installed table")
	}
	if err := later.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := (KillSwitch{NetNS: n.CPath}).Install(Policy{Iface: "bad/name"}); err == nil {
		t.Error("Install accepted an invalid interface name")
	}
}

func nftTables(t *testing.T, nsPath string) []string {
	t.Helper()
	c, done, err := nftConn(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tb := range tables {
		names = append(names, tb.Name)
	}
	return names
}

// addContainer puts a third namespace behind the client, the way a
// container or VM bridge does: 10.88.0.2/24 and fd00:88::2/64 on a veth
// whose other end sits in the client, which forwards its packets to the
// LAN. The peer routes the container's prefixes back via the client.
func (n *testNet) addContainer(t *testing.T) (path string) {
	t.Helper()
	name := n.C + "x"
	path = "/run/netns/" + name
	ip(t, "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	err := inNetNS(path, func() error {
		return os.WriteFile("/proc/sys/net/ipv6/conf/default/accept_dad", []byte("0"), 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = inNetNS(n.CPath, func() error {
		return errors.Join(
			os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0),
			os.WriteFile("/proc/sys/net/ipv6/conf/all/forwarding", []byte("1"), 0))
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{
		{"link", "add", "vx", "netns", n.C, "type", "veth", "peer", "name", "eth0", "netns", name},
		{"-n", name, "link", "set", "lo", "up"},
		{"-n", n.C, "addr", "add", "10.88.0.1/24", "dev", "vx"},
		{"-n", n.C, "addr", "add", "fd00:88::1/64", "dev", "vx", "nodad"},
		{"-n", name, "addr", "add", "10.88.0.2/24", "dev", "eth0"},
		{"-n", name, "addr", "add", "fd00:88::2/64", "dev", "eth0", "nodad"},
		{"-n", n.C, "link", "set", "vx", "up"},
		{"-n", name, "link", "set", "eth0", "up"},
		{"-n", name, "route", "add", "default", "via", "10.88.0.1"},
		{"-n", name, "-6", "route", "add", "default", "via", "fd00:88::1"},
		{"-n", n.P, "route", "add", "10.88.0.0/24", "via", "192.168.77.2"},
		{"-n", n.P, "-6", "route", "add", "fd00:88::/64", "via", "fd00:77::2"},
	} {
		ip(t, cmd...)
	}
	return path
}

// Forwarded traffic (containers, VMs) gets the same DNS treatment as the
// host's own: with the kill switch on, even with the LAN allowed, its
// queries to the LAN resolver are dropped, while other LAN traffic from it
// passes.
func TestKillSwitchForwardedDNS(t *testing.T) {
	n := newTestNet(t)
	t.Parallel()
	box := n.addContainer(t)
	lan := listenUDP(t, n.PPath, netip.AddrPortFrom(lanPeer4, testPort))
	lan6 := listenUDP(t, n.PPath, netip.AddrPortFrom(lanPeer6, testPort))
	dns4 := listenUDP(t, n.PPath, netip.AddrPortFrom(lanPeer4, 53))
	dns6 := listenUDP(t, n.PPath, netip.AddrPortFrom(lanPeer6, 53))

	// Without the kill switch the container reaches the LAN resolver: the
	// forwarding works and the test can see a leak.
	if err := sendUDP(t, box, 0, netip.AddrPortFrom(lanPeer4, 53), "open"); err != nil {
		t.Fatal(err)
	}
	dns4.expect(t, "open")

	ks := KillSwitch{NetNS: n.CPath}
	t.Cleanup(func() { ks.Remove() })
	if err := ks.Install(Policy{Iface: DefaultName, Mark: DefaultMark, AllowLAN: true}); err != nil {
		t.Fatal(err)
	}
	sendUDP(t, box, 0, netip.AddrPortFrom(lanPeer4, testPort), "lan")
	lan.expect(t, "lan")
	sendUDP(t, box, 0, netip.AddrPortFrom(lanPeer6, testPort), "lan6")
	lan6.expect(t, "lan6")
	sendUDP(t, box, 0, netip.AddrPortFrom(lanPeer4, 53), "leak")
	sendUDP(t, box, 0, netip.AddrPortFrom(lanPeer6, 53), "leak6")
	dns4.expectNone(t)
	dns6.expectNone(t)
	// DNS over QUIC too, from the container and from the host itself.
	doq := listenUDP(t, n.PPath, netip.AddrPortFrom(lanPeer4, 853))
	sendUDP(t, box, 0, netip.AddrPortFrom(lanPeer4, 853), "doq")
	if err := sendUDP(t, n.CPath, 0, netip.AddrPortFrom(lanPeer4, 853), "doq"); !isEPERM(err) {
		t.Errorf("host's DNS over QUIC to the LAN resolver: %v; want EPERM", err)
	}
	doq.expectNone(t)
	// DNS over TCP and DoT are refused too: no SYN reaches the resolver.
	for _, port := range []uint16{53, 853} {
		for _, dst := range []netip.Addr{lanPeer4, lanPeer6} {
			tcpListen(t, n.PPath, netip.AddrPortFrom(dst, port), nil)
			if err := tcpDial(box, netip.AddrPortFrom(dst, port)); err == nil {
				t.Errorf("container's TCP to %v:%d got through the kill switch", dst, port)
			}
		}
	}
	tcpListen(t, n.PPath, netip.AddrPortFrom(lanPeer4, testPort), nil)
	if err := tcpDial(box, netip.AddrPortFrom(lanPeer4, testPort)); err != nil {
		t.Errorf("container's TCP to a LAN service: %v", err)
	}
}

// tcpListen serves TCP at addr in the namespace at nsPath: each connection
// is answered with reply(the address it came from), when reply is not nil,
// and closed.
func tcpListen(t *testing.T, nsPath string, addr netip.AddrPort, reply func(from netip.Addr) string) net.Listener {
	t.Helper()
	var ln net.Listener
	err := inNetNS(nsPath, func() error {
		var err error
		ln, err = net.Listen("tcp", addr.String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if reply != nil {
				ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
				io.WriteString(c, reply(ap.Addr()))
			}
			c.Close()
		}
	}()
	return ln
}

// tcpDial connects to addr from the namespace, waiting at most a second.
func tcpDial(nsPath string, addr netip.AddrPort) error {
	var conn net.Conn
	err := inNetNS(nsPath, func() error {
		var err error
		conn, err = net.DialTimeout("tcp", addr.String(), time.Second)
		return err
	})
	if err == nil {
		conn.Close()
	}
	return err
}

// Allowing the LAN means the networks the client is on, not every private
// range: a private destination reached through the LAN gateway and
// site-wide multicast (SSDP) stay blocked; on-link neighbours, link-local
// multicast (mDNS) and prefixes the user lists pass; a network joined later
// passes once the watcher has re-installed the policy.
func TestKillSwitchAllowLANOnlyLocal(t *testing.T) {
	n := newTestNet(t)
	t.Parallel()
	// Private hosts beyond the LAN gateway.
	ip(t, "-n", n.P, "addr", "add", "10.200.0.1/32", "dev", "lo")
	ip(t, "-n", n.P, "addr", "add", "fd00:99::1/128", "dev", "lo", "nodad")
	routed4 := netip.MustParseAddrPort("10.200.0.1:9999")
	routed6 := netip.MustParseAddrPort("[fd00:99::1]:9999")
	far4 := listenUDP(t, n.PPath, routed4)
	far6 := listenUDP(t, n.PPath, routed6)
	lan := listenUDP(t, n.PPath, netip.AddrPortFrom(lanPeer4, testPort))
	lan6 := listenUDP(t, n.PPath, netip.AddrPortFrom(lanPeer6, testPort))
	// Without a kill switch the routed hosts are reachable.
	for _, dst := range []netip.AddrPort{routed4, routed6} {
		if err := sendUDP(t, n.CPath, 0, dst, "open"); err != nil {
			t.Fatalf("send to %v without kill switch: %v", dst, err)
		}
	}
	far4.expect(t, "open")
	far6.expect(t, "open")

	ks := KillSwitch{NetNS: n.CPath}
	t.Cleanup(func() { ks.Remove() })
	p := Policy{Iface: DefaultName, Mark: DefaultMark, AllowLAN: true}
	if err := ks.Install(p); err != nil {
		t.Fatal(err)
	}
	for _, dst := range []netip.AddrPort{routed4, routed6, netip.MustParseAddrPort("239.255.255.250:1900")} {
		if err := sendUDP(t, n.CPath, 0, dst, "leak"); !isEPERM(err) {
			t.Errorf("send to %v (not on a connected network) with the LAN allowed: %v; want EPERM", dst, err)
		}
	}
	far4.expectNone(t)
	far6.expectNone(t)
	for _, dst := range []netip.AddrPort{netip.AddrPortFrom(lanPeer4, testPort), netip.AddrPortFrom(lanPeer6, testPort)} {
		if err := sendUDP(t, n.CPath, 0, dst, "lan"); err != nil {
			t.Errorf("send to on-link neighbour %v: %v", dst, err)
		}
	}
	lan.expect(t, "lan")
	lan6.expect(t, "lan")
	if err := sendUDP(t, n.CPath, 0, netip.MustParseAddrPort("224.0.0.251:5353"), "mdns"); err != nil {
		t.Errorf("mDNS with the LAN allowed: %v", err)
	}

	// Prefixes the user lists pass too.
	if err := ks.Install(Policy{Iface: DefaultName, Mark: DefaultMark, AllowLAN: true,
		LAN: []netip.Prefix{netip.MustParsePrefix("10.200.0.0/16")}}); err != nil {
		t.Fatal(err)
	}
	if err := sendUDP(t, n.CPath, 0, routed4, "listed"); err != nil {
		t.Fatalf("send to a listed prefix: %v", err)
	}
	far4.expect(t, "listed")

	// A network the client joins later is followed.
	if err := ks.Install(p); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	changed := make(chan struct{}, 1)
	go WatchLocalNetworks(ctx, n.CPath, func() {
		if err := ks.Install(p); err != nil {
			t.Errorf("re-install: %v", err)
		}
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	time.Sleep(100 * time.Millisecond) // the subscription is up
	ip(t, "-n", n.P, "addr", "add", "10.66.0.1/24", "dev", "vp")
	newLAN := listenUDP(t, n.PPath, netip.MustParseAddrPort("10.66.0.1:9999"))
	if err := sendUDP(t, n.CPath, 0, netip.MustParseAddrPort("10.66.0.1:9999"), "early"); err == nil || !isEPERM(err) {
		// Before the client is on 10.66.0.0/24 the address is routed, not local.
		t.Errorf("send before joining 10.66.0.0/24: %v; want EPERM", err)
	}
	ip(t, "-n", n.C, "addr", "add", "10.66.0.2/24", "dev", "vc")
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("the watcher did not report the new address")
	}
	testutil.WaitFor(t, "the new network to pass", 5*time.Second, func() bool {
		return sendUDP(t, n.CPath, 0, netip.MustParseAddrPort("10.66.0.1:9999"), "joined") == nil
	})
	newLAN.expect(t, "joined")
}
