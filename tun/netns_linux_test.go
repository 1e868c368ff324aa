package tun

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/testutil"
)

// The root tests build a small world of two network namespaces joined by a
// veth pair, so every change happens away from the host's own network:
//
//	client (C)                        peer (P)
//	  vc 192.168.77.2/24, fd00:77::2    vp 192.168.77.1/24, fd00:77::1
//	  default via 192.168.77.1          lo 203.0.113.1, 2001:db8::1 ("internet")
//	  default via fd00:77::1
//
// 192.168.77.0/24 plays the LAN; 203.0.113.1 and 2001:db8::1 play hosts on the
// internet, reached through the LAN gateway.

var (
	lanPeer4  = netip.MustParseAddr("192.168.77.1")
	lanPeer6  = netip.MustParseAddr("fd00:77::1")
	lanSelf4  = netip.MustParseAddr("192.168.77.2")
	internet4 = netip.MustParseAddr("203.0.113.1")
	internet6 = netip.MustParseAddr("2001:db8::1")
)

const testPort = 9999

type testNet struct {
	C, P   string // namespace names
	CPath  string // /run/netns/C
	PPath  string
	Uplink string // client's veth
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces, TUN devices, rules and nftables tables")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip to build test namespaces")
	}
}

func newTestNet(t *testing.T) *testNet {
	t.Helper()
	requireRoot(t)
	b := make([]byte, 4)
	rand.Read(b)
	id := hex.EncodeToString(b)
	n := &testNet{C: "pexiatest-" + id + "c", P: "pexiatest-" + id + "p", Uplink: "vc"}
	n.CPath, n.PPath = "/run/netns/"+n.C, "/run/netns/"+n.P
	ip(t, "netns", "add", n.C)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", n.C).Run() })
	ip(t, "netns", "add", n.P)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", n.P).Run() })
	// No duplicate address detection: addresses, and the routes the kernel
	// derives from them, appear at once and the "before" state is stable.
	for _, path := range []string{n.CPath, n.PPath} {
		err := inNetNS(path, func() error {
			return os.WriteFile("/proc/sys/net/ipv6/conf/default/accept_dad", []byte("0"), 0)
		})
		if err != nil {
			t.Fatalf("disable DAD: %v", err)
		}
	}
	for _, cmd := range [][]string{
		{"link", "add", "vc", "netns", n.C, "type", "veth", "peer", "name", "vp", "netns", n.P},
		{"-n", n.C, "link", "set", "lo", "up"},
		{"-n", n.P, "link", "set", "lo", "up"},
		{"-n", n.C, "addr", "add", "192.168.77.2/24", "dev", "vc"},
		{"-n", n.C, "addr", "add", "fd00:77::2/64", "dev", "vc", "nodad"},
		{"-n", n.P, "addr", "add", "192.168.77.1/24", "dev", "vp"},
		{"-n", n.P, "addr", "add", "fd00:77::1/64", "dev", "vp", "nodad"},
		{"-n", n.P, "addr", "add", "203.0.113.1/32", "dev", "lo"},
		{"-n", n.P, "addr", "add", "2001:db8::1/128", "dev", "lo", "nodad"},
		{"-n", n.C, "link", "set", "vc", "up"},
		{"-n", n.P, "link", "set", "vp", "up"},
		{"-n", n.C, "route", "add", "default", "via", "192.168.77.1"},
		{"-n", n.C, "-6", "route", "add", "default", "via", "fd00:77::1"},
	} {
		ip(t, cmd...)
	}
	testutil.WaitFor(t, "the uplink's link-local address", 5*time.Second, func() bool {
		return strings.Contains(ip(t, "-n", n.C, "-6", "route", "show", "table", "local", "dev", "vc"), "local fe80::")
	})
	return n
}

func ip(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// snapshot is the namespace's complete rule and route state as iproute2
// prints it.
func (n *testNet) snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, args := range [][]string{
		{"-4", "rule", "show"},
		{"-6", "rule", "show"},
		{"-4", "route", "show", "table", "all"},
		{"-6", "route", "show", "table", "all"},
	} {
		b.WriteString("## ip " + strings.Join(args, " ") + "\n")
		b.WriteString(ip(t, append([]string{"-n", n.C}, args...)...))
	}
	return b.String()
}

// newTUN creates and configures the TUN in the client namespace.
func (n *testNet) newTUN(t *testing.T, opts ...Option) *device {
	t.Helper()
	dev, err := Create(DefaultName, DefaultMTU, append([]Option{InNetNS(n.CPath)}, opts...)...)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() { dev.Close() })
	if err := Configure(DefaultName, []netip.Prefix{DefaultAddr4, DefaultAddr6}, InNetNS(n.CPath)); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	testutil.WaitFor(t, "the TUN's link-local address", 5*time.Second, func() bool {
		return strings.Contains(ip(t, "-n", n.C, "-6", "route", "show", "table", "local", "dev", DefaultName), "local fe80::")
	})
	return dev.(*device)
}

// sendUDP sends one datagram from a fresh socket in the namespace at nsPath,
// with the firewall mark if mark is non-zero, and returns the send error.
func sendUDP(t *testing.T, nsPath string, mark uint32, dst netip.AddrPort, payload string) error {
	t.Helper()
	conn := udpSocket(t, nsPath, mark, dst.Addr().Is6())
	defer conn.Close()
	_, err := conn.WriteToUDPAddrPort([]byte(payload), dst)
	return err
}

// udpSocket opens an unbound UDP socket in the namespace at nsPath.
func udpSocket(t *testing.T, nsPath string, mark uint32, v6 bool) *net.UDPConn {
	t.Helper()
	var conn *net.UDPConn
	err := inNetNS(nsPath, func() error {
		lc := net.ListenConfig{}
		if mark != 0 {
			lc = *MarkListenConfig(mark)
		}
		network := "udp4"
		if v6 {
			network = "udp6"
		}
		pc, err := lc.ListenPacket(t.Context(), network, "")
		if err != nil {
			return err
		}
		conn = pc.(*net.UDPConn)
		return nil
	})
	if err != nil {
		t.Fatalf("socket in %s: %v", nsPath, err)
	}
	return conn
}

// connect sets the client up as the daemon does when connected: the TUN,
// routes into it (IPv6 too) and the kill switch with policy p, each undone
// when the test ends.
func (n *testNet) connect(t *testing.T, p Policy) (*device, KillSwitch) {
	t.Helper()
	dev := n.newTUN(t)
	var r Routes
	if err := r.Up(RouteConfig{Iface: DefaultName, IPv6: true, NetNS: n.CPath}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Down() })
	ks := KillSwitch{NetNS: n.CPath}
	if err := ks.Install(p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ks.Remove() })
	return dev, ks
}

// listener counts datagrams arriving at a UDP socket in a namespace.
type listener struct {
	conn *net.UDPConn
	n    atomic.Int64
	got  chan string
}

func listenUDP(t *testing.T, nsPath string, addr netip.AddrPort) *listener {
	t.Helper()
	l := &listener{got: make(chan string, 1024)}
	err := inNetNS(nsPath, func() error {
		var err error
		l.conn, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
		return err
	})
	if err != nil {
		t.Fatalf("listen %v in %s: %v", addr, nsPath, err)
	}
	t.Cleanup(func() { l.conn.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, _, err := l.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			l.n.Add(1)
			select {
			case l.got <- string(buf[:n]):
			default:
			}
		}
	}()
	return l
}

// expect waits for the payload to arrive.
func (l *listener) expect(t *testing.T, payload string) {
	t.Helper()
	deadline := time.After(3 * time.Second)
	for {
		select {
		case p := <-l.got:
			if p == payload {
				return
			}
		case <-deadline:
			t.Fatalf("datagram %q never arrived at %v", payload, l.conn.LocalAddr())
		}
	}
}

// expectNone checks that nothing arrives within a short grace period. A
// datagram on a veth is delivered in microseconds, so 200 ms is generous.
func (l *listener) expectNone(t *testing.T) {
	t.Helper()
	select {
	case p := <-l.got:
		t.Fatalf("datagram %q arrived at %v; want none", p, l.conn.LocalAddr())
	case <-time.After(200 * time.Millisecond):
	}
}

// readUDPFromTUN waits for a UDP datagram to dst on the TUN and returns its
// payload.
func readUDPFromTUN(t *testing.T, dev *device, dst netip.AddrPort) string {
	t.Helper()
	type result struct {
		payload string
		err     error
	}
	res := make(chan result, 1)
	go func() {
		const off = 16
		bufs := make([][]byte, dev.BatchSize())
		for i := range bufs {
			bufs[i] = make([]byte, off+DefaultMTU)
		}
		sizes := make([]int, len(bufs))
		for {
			n, err := dev.Read(bufs, sizes, off)
			if err != nil {
				res <- result{err: err}
				return
			}
			for i := range n {
				if p, ok := udpTo(bufs[i][off:off+sizes[i]], dst); ok {
					res <- result{payload: p}
					return
				}
			}
		}
	}()
	select {
	case r := <-res:
		if r.err != nil {
			t.Fatalf("read tun: %v", r.err)
		}
		return r.payload
	case <-time.After(3 * time.Second):
		t.Fatalf("no datagram to %v appeared on the TUN", dst)
		return ""
	}
}

// udpTo parses an IPv4 or IPv6 packet and returns its UDP payload if it is a
// datagram to dst.
func udpTo(pkt []byte, dst netip.AddrPort) (string, bool) {
	if len(pkt) < 1 {
		return "", false
	}
	var l4 []byte
	var to netip.Addr
	switch pkt[0] >> 4 {
	case 4:
		if len(pkt) < 20 || pkt[9] != 17 {
			return "", false
		}
		ihl := int(pkt[0]&0x0f) * 4
		to = netip.AddrFrom4([4]byte(pkt[16:20]))
		l4 = pkt[ihl:]
	case 6:
		if len(pkt) < 40 || pkt[6] != 17 {
			return "", false
		}
		to = netip.AddrFrom16([16]byte(pkt[24:40]))
		l4 = pkt[40:]
	default:
		return "", false
	}
	if len(l4) < 8 || to != dst.Addr() || uint16(l4[2])<<8|uint16(l4[3]) != dst.Port() {
		return "", false
	}
	return string(l4[8:]), true
}

func isEPERM(err error) bool { return errors.Is(err, syscall.EPERM) }
