package netlab

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/pexia-network/pexia/internal/testutil"
)

func TestNewRejectsBadPrefix(t *testing.T) {
	for _, p := range []string{"", "-x", "a-b", "UPPER", "has/slash", "x y", strings.Repeat("a", 25)} {
		if _, err := New(p); err == nil {
			t.Errorf("New(%q): got no error, want one", p)
		}
		if err := Cleanup(p); err == nil {
			t.Errorf("Cleanup(%q): got no error, want one", p)
		}
	}
}

func TestHostRejectsBadNames(t *testing.T) {
	l, _ := newTestLab(t, "a")
	for _, n := range []string{"", "hub", "a", "a-b", "Caps", strings.Repeat("x", 25)} {
		if _, err := l.Host(n); err == nil {
			t.Errorf("Host(%q): got no error, want one", n)
		}
	}
	if got := len(l.Hosts()); got != 1 {
		t.Errorf("got %d hosts after bad names, want 1", got)
	}
}

func TestHostAddressing(t *testing.T) {
	l, hs := newTestLab(t, "a", "b")
	for i, h := range hs {
		want4 := netip.AddrFrom4([4]byte{10, 77, 0, byte(2 + i)})
		want6 := netip.MustParseAddr(fmt.Sprintf("fd77::%d", 2+i))
		if h.Addr4() != want4 || h.Addr6() != want6 {
			t.Errorf("%s: got %s %s, want %s %s", h.Name(), h.Addr4(), h.Addr6(), want4, want6)
		}
		if want := l.Name() + "-" + h.Name(); h.Namespace() != want {
			t.Errorf("namespace %q, want %q", h.Namespace(), want)
		}
		// The addresses are usable at once: not tentative, default routes
		// for both families via the hub.
		err := h.Do(func() error {
			link, err := netlink.LinkByName(HostInterface)
			if err != nil {
				return err
			}
			addrs, err := netlink.AddrList(link, netlink.FAMILY_V6)
			if err != nil {
				return err
			}
			found := false
			for _, a := range addrs {
				if ip, _ := netip.AddrFromSlice(a.IP); ip != want6 {
					continue // the kernel's own link-local address
				}
				found = true
				if a.Flags&0x40 != 0 { // IFA_F_TENTATIVE
					return fmt.Errorf("address %s is tentative", a.IP)
				}
			}
			if !found {
				return fmt.Errorf("%s not on %s", want6, HostInterface)
			}
			for _, dst := range []string{"203.0.113.7", "2001:db8::7"} {
				rs, err := netlink.RouteGet(net.ParseIP(dst))
				if err != nil {
					return fmt.Errorf("route to %s: %w", dst, err)
				}
				if gw, _ := netip.AddrFromSlice(rs[0].Gw); gw.Unmap() != l.Router4() && gw != l.Router6() {
					return fmt.Errorf("route to %s via %s, want the hub", dst, gw)
				}
			}
			return nil
		})
		if err != nil {
			t.Errorf("%s: %v", h.Name(), err)
		}
	}
}

func TestHostsReachEachOther(t *testing.T) {
	_, hs := newTestLab(t, "a", "b")
	a, b := hs[0], hs[1]
	echo, err := ServeUDPEcho(b, 7)
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	ln, err := b.Listen("tcp", ":9000")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	testutil.Serve(t, ln, testutil.ServeEcho)
	for _, dst := range []netip.Addr{b.Addr4(), b.Addr6()} {
		t.Run(dst.String(), func(t *testing.T) {
			if err := ping(a, dst); err != nil {
				t.Errorf("ping: %v", err)
			}
			d := a.Dialer()
			d.Timeout = 2 * time.Second
			c, err := d.Dial("tcp", netip.AddrPortFrom(dst, 9000).String())
			if err != nil {
				t.Fatalf("tcp: %v", err)
			}
			exchange(t, c, "tcp hello")
			c.Close()
			u, err := d.Dial("udp", netip.AddrPortFrom(dst, 7).String())
			if err != nil {
				t.Fatalf("udp: %v", err)
			}
			exchange(t, u, "udp hello")
			if got := addrOf(u.LocalAddr()); got != a.Addr4() && got != a.Addr6() {
				t.Errorf("udp from %s, want one of a's addresses", got)
			}
			u.Close()
		})
	}
}

// exchange writes msg to c and expects it back.
func exchange(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if string(buf) != msg {
		t.Fatalf("got %q back, want %q", buf, msg)
	}
}

func addrOf(a net.Addr) netip.Addr {
	if ip, ok := a.(*net.IPAddr); ok {
		addr, _ := netip.AddrFromSlice(ip.IP)
		return addr.Unmap()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap.Addr().Unmap()
}

// ping sends one ICMP echo request from h to dst and waits for the reply.
func ping(h *Host, dst netip.Addr) error {
	network, laddr, typ := "ip4:icmp", "0.0.0.0", icmp.Type(ipv4.ICMPTypeEcho)
	proto := 1
	if dst.Is6() {
		network, laddr, typ, proto = "ip6:ipv6-icmp", "::", ipv6.ICMPTypeEchoRequest, 58
	}
	var pc *icmp.PacketConn
	if err := h.Do(func() (err error) { pc, err = icmp.ListenPacket(network, laddr); return err }); err != nil {
		return err
	}
	defer pc.Close()
	id := os.Getpid() & 0xffff
	req := icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: 1, Data: []byte("netlab")}}
	wire, err := req.Marshal(nil)
	if err != nil {
		return err
	}
	if _, err := pc.WriteTo(wire, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
		return err
	}
	_ = pc.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return err
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil {
			continue
		}
		if e, ok := m.Body.(*icmp.Echo); ok && m.Type != typ && e.ID == id && addrOf(from) == dst {
			return nil
		}
	}
}

func TestAnnouncedPrefixesReachTheInternetHost(t *testing.T) {
	_, hs := newTestLab(t, "client", "internet")
	client, inet := hs[0], hs[1]
	for _, p := range []string{"203.0.113.0/24", "2001:db8::/64"} {
		if err := inet.Announce(netip.MustParsePrefix(p)); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := ServeHTTP(inet, Handler())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hc := client.HTTPClient(srv.Roots)
	hc.Timeout = 5 * time.Second
	for _, tc := range []struct {
		url  string
		want netip.Addr
	}{
		{"http://203.0.113.7/ip", client.Addr4()},
		{"https://203.0.113.200/ip", client.Addr4()},
		{"http://[2001:db8::7]/ip", client.Addr6()},
		{"https://[2001:db8::1234]/ip", client.Addr6()},
		{fmt.Sprintf("https://%s/ip", inet.Addr4()), client.Addr4()},
	} {
		resp, err := hc.Get(tc.url)
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got, err := netip.ParseAddr(string(body)); err != nil || got != tc.want {
			t.Errorf("%s: server saw %q, want %s", tc.url, body, tc.want)
		}
	}

	// TLS by name: the certificate follows the SNI, and verifies only
	// against the server's own roots.
	for _, roots := range []*x509.CertPool{srv.Roots, x509.NewCertPool()} {
		raw, err := client.Dialer().Dial("tcp", "203.0.113.7:443")
		if err != nil {
			t.Fatal(err)
		}
		tc := tls.Client(raw, &tls.Config{ServerName: "www.example.test", RootCAs: roots})
		_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
		err = tc.Handshake()
		tc.Close()
		if trusted := roots == srv.Roots; (err == nil) != trusted {
			t.Errorf("TLS by name, server roots %v: handshake error %v", trusted, err)
		}
	}

	// Addresses nobody announced are unreachable: the hub answers with
	// ICMP "no route" (Linux TCP retries a SYN once on IPv6 before giving up).
	for _, dst := range []string{"198.51.100.1:80", "[3fff::1]:80"} {
		d := client.Dialer()
		d.Timeout = 5 * time.Second
		c, err := d.Dial("tcp", dst)
		if err == nil {
			c.Close()
			t.Errorf("%s: connected, want unreachable", dst)
			continue
		}
		if !errors.Is(err, syscall.ENETUNREACH) {
			t.Errorf("%s: %v, want network unreachable", dst, err)
		}
	}

	// Bad announcements are refused.
	for _, p := range []netip.Prefix{{}, netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("10.77.0.128/25"), netip.MustParsePrefix("fd77::/48")} {
		if err := inet.Announce(p); err == nil {
			t.Errorf("Announce(%s): got no error, want one", p)
		}
	}
}

func TestRouteAndSysctl(t *testing.T) {
	l, hs := newTestLab(t, "a", "b", "c")
	a, b, c := hs[0], hs[1], hs[2]
	p := netip.MustParsePrefix("198.18.0.0/24")
	if err := a.Route(p, b); err != nil {
		t.Fatal(err)
	}
	if err := l.Route(netip.MustParsePrefix("2001:db8:1::/64"), c); err != nil {
		t.Fatal(err)
	}
	err := a.Do(func() error {
		rs, err := netlink.RouteGet(net.ParseIP("198.18.0.9"))
		if err != nil {
			return err
		}
		if gw, _ := netip.AddrFromSlice(rs[0].Gw); gw.Unmap() != b.Addr4() {
			return fmt.Errorf("route via %s, want b (%s)", gw, b.Addr4())
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	other, err := New(testPrefix)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	stranger, err := other.Host("x")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Route(p, stranger); err == nil {
		t.Error("route via another lab's host: got no error, want one")
	}

	if err := b.Sysctl("net.ipv4.ip_forward", "1"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		h    *Host
		want string
	}{{a, "0"}, {b, "1"}} {
		var got []byte
		if err := tc.h.Do(func() (err error) { got, err = os.ReadFile("/proc/sys/net/ipv4/ip_forward"); return err }); err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(string(got)) != tc.want {
			t.Errorf("%s: ip_forward %q, want %s", tc.h.Name(), got, tc.want)
		}
	}
	for _, k := range []string{"", "net/ipv4/ip_forward", "net..ipv4", "net.ipv4.no_such_key"} {
		if err := a.Sysctl(k, "1"); err == nil {
			t.Errorf("Sysctl(%q): got no error, want one", k)
		}
	}
}

func TestDoPropagatesErrorsAndRestoresNamespace(t *testing.T) {
	_, hs := newTestLab(t, "a")
	a := hs[0]
	want := errors.New("from inside")
	if err := a.Do(func() error { return want }); err != want {
		t.Errorf("Do returned %v, want %v", err, want)
	}
	rootLinks := linkNames(t)
	for range 50 {
		var inside []string
		if err := a.Do(func() error { inside = linkNamesErr(); return nil }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(inside, []string{"eth0", "lo"}) {
			t.Fatalf("links inside a: %v, want [eth0 lo]", inside)
		}
	}
	if got := linkNames(t); !slices.Equal(got, rootLinks) {
		t.Errorf("links outside after Do: %v, want %v", got, rootLinks)
	}
}

func linkNames(t *testing.T) []string {
	t.Helper()
	n := linkNamesErr()
	if n == nil {
		t.Fatal("no interfaces")
	}
	return n
}

func linkNamesErr() []string {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var names []string
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	slices.Sort(names)
	return names
}

func TestCloseRemovesEverything(t *testing.T) {
	requireRoot(t)
	rootLinks := linkNames(t)
	l, err := New(testPrefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"client", "relay", "exit", "internet"} {
		if _, err := l.Host(n); err != nil {
			t.Fatal(err)
		}
	}
	if got := labNamespaces(t, l.Name()); len(got) != 5 {
		t.Fatalf("namespaces %v, want hub and 4 hosts", got)
	}
	// Per-namespace /etc files go with the namespace.
	etc := filepath.Join(etcNetnsDir, l.Hosts()[0].Namespace())
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(etc, "resolv.conf"), []byte("nameserver 10.77.0.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A process still running in a host is killed by Close.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := l.Hosts()[0].Command(ctx, "sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	waitInNamespace(t, cmd.Process.Pid, l.Hosts()[0].Namespace())
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waited:
		if err == nil {
			t.Error("process in the lab exited cleanly, want killed")
		}
	case <-time.After(5 * time.Second):
		t.Error("process in the lab still runs after Close")
	}
	if got := labNamespaces(t, l.Name()); len(got) != 0 {
		t.Errorf("namespaces left after Close: %v", got)
	}
	if got := linkNames(t); !slices.Equal(got, rootLinks) {
		t.Errorf("machine's links changed: %v, want %v", got, rootLinks)
	}
	if _, err := os.Stat(etc); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s survives Close: %v", etc, err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	h := l.Hosts()[0]
	p := netip.MustParsePrefix("203.0.113.0/24")
	for name, err := range map[string]error{
		"Host":      func() error { _, err := l.Host("late"); return err }(),
		"Do":        h.Do(func() error { return nil }),
		"Route":     h.Route(p, l.Hosts()[1]),
		"Announce":  h.Announce(p),
		"Lab.Route": l.Route(p, h),
		"Capture":   func() error { _, err := h.Capture(HostInterface); return err }(),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

func TestCleanupRemovesOnlyAbandonedLabs(t *testing.T) {
	requireRoot(t)
	const prefix = "netlabclean"
	// A finished process's pid stands for a run that crashed.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	dead, err := newLab(prefix, gone.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	if _, err := dead.Host("client"); err != nil {
		t.Fatal(err)
	}
	live, err := New(prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if _, err := live.Host("client"); err != nil {
		t.Fatal(err)
	}
	if err := Cleanup(prefix); err != nil {
		t.Fatal(err)
	}
	if got := labNamespaces(t, dead.Name()); len(got) != 0 {
		t.Errorf("abandoned lab's namespaces survive Cleanup: %v", got)
	}
	if got := labNamespaces(t, live.Name()); len(got) != 2 {
		t.Errorf("running lab's namespaces after Cleanup: %v, want hub and client", got)
	}
	if err := Cleanup("netlabnone"); err != nil {
		t.Errorf("Cleanup with nothing to do: %v", err)
	}
}

// waitInNamespace waits until "ip netns exec" has moved pid into the
// named namespace.
func waitInNamespace(t *testing.T, pid int, name string) {
	t.Helper()
	var want syscall.Stat_t
	if err := syscall.Stat(filepath.Join(nsDir, name), &want); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var st syscall.Stat_t
		if syscall.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &st) == nil && st.Dev == want.Dev && st.Ino == want.Ino {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d never entered %s", pid, name)
		}
		time.Sleep(time.Millisecond)
	}
}

// labNamespaces lists the named namespaces of the lab.
func labNamespaces(t *testing.T, lab string) []string {
	t.Helper()
	entries, err := os.ReadDir(nsDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), lab+"-") {
			out = append(out, e.Name())
		}
	}
	// ip-netns(8) sees the same.
	if list, err := exec.Command("ip", "netns", "list").Output(); err == nil {
		for _, n := range out {
			if !bytes.Contains(list, []byte(n)) {
				t.Errorf("ip netns list misses %s", n)
			}
		}
	}
	return out
}
