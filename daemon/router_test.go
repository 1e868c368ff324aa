package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/netstack"
	"github.com/pexia-network/pexia/relay"
	"github.com/pexia-network/pexia/rules"
	"github.com/pexia-network/pexia/rules/owner"
)

// dnsServer answers every A query with 192.0.2.1 over TCP.
func dnsServer(t *testing.T) string {
	t.Helper()
	return dnsServerAnswering(t, "192.0.2.1")
}

// dnsServerAnswering answers every A query with addr over TCP.
func dnsServerAnswering(t *testing.T, addr string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		rr, _ := dns.NewRR(r.Question[0].Name + " 60 IN A " + addr)
		m.Answer = append(m.Answer, rr)
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String()
}

// newTestRouter is a router over a pool of real one-hop circuits to an
// in-process exit that resolves names with server dnsAddr.
func newTestRouter(t *testing.T, dnsAddr string, exclude []netip.Prefix) *router {
	t.Helper()
	return newTestRouterExit(t, relay.NodeConfig{DNSServer: dnsAddr}, exclude)
}

// newTestRouterExit is newTestRouter with an exit configured by cfg.
func newTestRouterExit(t *testing.T, cfg relay.NodeConfig, exclude []netip.Prefix) *router {
	t.Helper()
	exit, err := hoptest.Start(true, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(exit.Close)
	pool := hop.NewPool(func(context.Context, hop.Profile) ([]hop.HopInfo, error) {
		return []hop.HopInfo{exit.Info}, nil
	}, hop.BuildConfig{}, t.Logf)
	t.Cleanup(pool.Close)
	mark := uint32(0)
	if os.Geteuid() == 0 {
		mark = 0x5078
	}
	return newRouter(pool, hop.Profile{Name: "test", Hops: 1}, mark, exclude)
}

func TestRouterFlows(t *testing.T) {
	tcpAddr, udpAddr := testutil.EchoTCP(t, "127.0.0.1:0").Addr, testutil.EchoUDP(t, "127.0.0.1:0").Addr
	r := newTestRouter(t, dnsServer(t), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// TCP and UDP flows as the netstack opens them, and the proxy's
	// DialContext: all through the circuit, counted.
	for _, f := range []netstack.Flow{
		{Network: "tcp", Dst: netip.MustParseAddrPort(tcpAddr)},
		{Network: "udp", Dst: netip.MustParseAddrPort(udpAddr)},
	} {
		var c net.Conn
		var err error
		if f.Network == "tcp" {
			c, err = r.DialTCP(ctx, f)
		} else {
			c, err = r.DialUDP(ctx, f)
		}
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		msg := []byte("through the circuit: " + f.String())
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != string(msg) {
			t.Fatalf("%v: echo %q, %v", f, got, err)
		}
		c.Close()
	}
	if c, err := r.DialContext(ctx, "tcp4", tcpAddr); err != nil {
		t.Fatal(err)
	} else {
		c.Close()
	}
	if _, err := r.DialContext(ctx, "unix", "/tmp/x"); err == nil {
		t.Fatal("a unix dial was accepted")
	}
	if r.flows.Load() != 3 || r.active.Load() != 0 {
		t.Fatalf("flows %d, active %d; want 3, 0", r.flows.Load(), r.active.Load())
	}
	if r.up.Load() == 0 || r.down.Load() == 0 {
		t.Fatal("bytes were not counted")
	}

	// DNS: the exit's resolver answers.
	q := new(dns.Msg)
	q.SetQuestion("example.test.", dns.TypeA)
	wire, _ := q.Pack()
	ans, err := r.ResolveDNS(ctx, netstack.Flow{Network: "udp"}, wire)
	if err != nil {
		t.Fatal(err)
	}
	var m dns.Msg
	if err := m.Unpack(ans); err != nil || len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "192.0.2.1" {
		t.Fatalf("answer %v, %v", m.Answer, err)
	}
	if _, err := r.ResolveDNS(ctx, netstack.Flow{}, []byte{1, 2, 3}); err == nil {
		t.Fatal("a malformed query was sent on")
	}
}

// TestRouterExclude: an excluded destination is dialled directly with the
// bypass mark, not through the circuit.
func TestRouterExclude(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the bypass mark (SO_MARK) needs root")
	}
	tcpAddr := testutil.EchoTCP(t, "127.0.0.1:0").Addr
	r := newTestRouter(t, "127.0.0.1:1", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := r.DialTCP(ctx, netstack.Flow{Network: "tcp", Dst: netip.MustParseAddrPort(tcpAddr)})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if r.directFlows.Load() != 1 || r.flows.Load() != 0 {
		t.Fatalf("direct %d, circuit %d; want 1, 0", r.directFlows.Load(), r.flows.Load())
	}
	r.setExclude(nil)
	if r.excluded(netip.MustParseAddr("127.0.0.1")) {
		t.Fatal("exclusions not replaced")
	}
}

func TestPaddingRate(t *testing.T) {
	for _, c := range []struct{ kbps, want int }{{0, 0}, {1, 1}, {256, 8}, {65536, 2000}, {1 << 30, hop.MaxPaddingRate}} {
		if got := paddingRate(c.kbps); got != c.want {
			t.Errorf("paddingRate(%d) = %d, want %d", c.kbps, got, c.want)
		}
	}
}

func TestRateMeter(t *testing.T) {
	var m rateMeter
	r := &router{}
	m.attach(r)
	r.up.Add(1000)
	m.sample()
	time.Sleep(100 * time.Millisecond)
	r.up.Add(1000)
	r.down.Add(500)
	up, down, ru, _, changed := m.sample()
	if up != 2000 || down != 500 || !changed || ru < 5000 || ru > 20000 {
		t.Fatalf("up %d down %d rate %d changed %v", up, down, ru, changed)
	}
	m.detach(r)
	r2 := &router{}
	m.attach(r2)
	r2.up.Add(10)
	if up, _, _, _ := m.read(); up != 2010 {
		t.Fatalf("totals across sessions: %d, want 2010", up)
	}
}

// TestRouterDatagramTooBig: a UDP datagram or echo request too large for
// one cell of the circuit is answered with the netstack's too-big error
// carrying the largest IP packet the circuit takes (so the app gets ICMP
// fragmentation needed rather than a silent loss or an ended flow), and
// the flow goes on; one that fits exactly passes.
func TestRouterDatagramTooBig(t *testing.T) {
	udpAddr := netip.MustParseAddrPort(testutil.EchoUDP(t, "127.0.0.1:0").Addr)
	r := newTestRouter(t, dnsServer(t), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := r.DialUDP(ctx, netstack.Flow{Network: "udp", Dst: udpAddr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Write(make([]byte, 65000))
	m := regexp.MustCompile(`mtu (\d+)`).FindStringSubmatch(fmt.Sprint(err))
	if !errors.Is(err, syscall.EMSGSIZE) || m == nil {
		t.Fatalf("a 65000-byte datagram: %v, want too big with the circuit's mtu", err)
	}
	mtu, _ := strconv.Atoi(m[1])
	max := mtu - 28 // IPv4 and UDP headers
	if s, ok := c.(udpConn).Conn.(*countedConn).Conn.(interface{ MaxDatagram() int }); !ok || s.MaxDatagram() != max {
		t.Fatalf("too big says mtu %d, the stream takes %v", mtu, s)
	}
	if _, err := c.Write(make([]byte, max+1)); !errors.Is(err, syscall.EMSGSIZE) {
		t.Fatalf("a %d-byte datagram, one more than mtu %d allows: %v, want too big", max+1, mtu, err)
	}
	t.Logf("%v", err)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	msg := bytes.Repeat([]byte{'x'}, max)
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, max+1)
	if n, err := c.Read(got); err != nil || !bytes.Equal(got[:n], msg) {
		t.Fatalf("the largest datagram: %d bytes back, %v", n, err)
	}
}

// TestDNSFollowsTheAppsProfile: two exits, each resolving with its own
// resolver (one answers 192.0.2.1, the other 192.0.2.2). A rule sends this
// test binary's flows through the profile "far", whose circuit ends at the
// second exit. A DNS query from a socket of this binary, as the TUN
// delivers it, is answered by far's exit; a query whose owner is unknown
// goes through the connection's circuit and the first exit.
func TestDNSFollowsTheAppsProfile(t *testing.T) {
	near, err := hoptest.Start(true, relay.NodeConfig{DNSServer: dnsServerAnswering(t, "192.0.2.1")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(near.Close)
	far, err := hoptest.Start(true, relay.NodeConfig{DNSServer: dnsServerAnswering(t, "192.0.2.2")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(far.Close)
	pool := hop.NewPool(func(_ context.Context, p hop.Profile) ([]hop.HopInfo, error) {
		if p.Name == "far" {
			return []hop.HopInfo{far.Info}, nil
		}
		return []hop.HopInfo{near.Info}, nil
	}, hop.BuildConfig{}, t.Logf)
	t.Cleanup(pool.Close)
	r := newRouter(pool, hop.Profile{Name: "test", Hops: 1}, 0, nil)
	r.profiles = func(name string) (hop.Profile, error) { return hop.Profile{Name: name, Hops: 1}, nil }

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	self, _ = filepath.EvalSymlinks(self)
	st, err := rules.Open(filepath.Join(t.TempDir(), "rules.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Update(func(s *rules.Set) error {
		s.Profiles = []rules.Profile{{Name: "far", Hops: 1}}
		s.Rules = []rules.Rule{{Name: "me", Match: rules.Match{Exe: []string{self}}, Target: rules.Target{Action: rules.Tunnel, Profile: "far"}}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r.rules = st.Engine()
	tab, err := owner.New()
	if err != nil {
		t.Skipf("no owner lookup: %v", err)
	}
	defer tab.Close()
	r.owners = tab

	// The application's own socket, as the TUN would deliver its query.
	app, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	answer := func(f netstack.Flow) string {
		t.Helper()
		q := new(dns.Msg)
		q.SetQuestion("example.test.", dns.TypeA)
		wire, _ := q.Pack()
		raw, err := r.ResolveDNS(ctx, f, wire)
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		var m dns.Msg
		if err := m.Unpack(raw); err != nil || len(m.Answer) != 1 {
			t.Fatalf("%v: answer %v, %v", f, m.Answer, err)
		}
		return m.Answer[0].(*dns.A).A.String()
	}
	resolver := netip.AddrPortFrom(netip.MustParseAddr("100.80.120.53"), 53)
	mine := netstack.Flow{Network: "udp", Src: netip.MustParseAddrPort(app.LocalAddr().String()), Dst: resolver}
	if got := answer(mine); got != "192.0.2.2" {
		t.Fatalf("this binary's query (rule: tunnel(far)) was answered with %s by the connection's exit; want 192.0.2.2 from far's exit", got)
	}
	if got := answer(netstack.Flow{Network: "udp", Dst: resolver}); got != "192.0.2.1" {
		t.Fatalf("a query of no known application was answered with %s; want 192.0.2.1 from the connection's exit", got)
	}
}
