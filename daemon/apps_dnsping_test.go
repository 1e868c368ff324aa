package daemon

import (
	"context"
	"encoding/binary"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/icmp"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/internal/netlab"
	"github.com/pexia-network/pexia/netstack"
	"github.com/pexia-network/pexia/relay"
	"github.com/pexia-network/pexia/rules"
	"github.com/pexia-network/pexia/rules/owner"
	"github.com/pexia-network/pexia/wallet/budget"
)

// TestRouterCountsDNSPerApp: the DNS queries the netstack hands the
// router count for the application that owns the querying socket (found
// by the real owner lookup), under the profile whose circuit answered
// them, in the payer's window and in the budget ledger: this binary's
// queries (rule: tunnel(far)) under far, a query with no known source
// under the connection's profile.
func TestRouterCountsDNSPerApp(t *testing.T) {
	r := newTestRouter(t, dnsServer(t), nil)
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
	r.apps = newAppMeter()
	far, conn := r.apps.window("far"), r.apps.window(r.profile.Name)
	me := appLabel(rules.Owner{UID: uint32(os.Getuid()), HasUID: true, Exe: self})
	unknown := appLabel(rules.Owner{})

	// The application's own socket, as the TUN would deliver its queries.
	app, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resolver := netip.AddrPortFrom(netip.MustParseAddr("100.80.120.53"), 53)
	// resolve returns the bytes the query and its answer took on the
	// circuit: each with its two-byte length.
	resolve := func(f netstack.Flow, name string) uint64 {
		t.Helper()
		q := new(dns.Msg)
		q.SetQuestion(name, dns.TypeA)
		wire, _ := q.Pack()
		a, err := r.ResolveDNS(ctx, f, wire)
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		return uint64(len(wire) + 2 + len(a) + 2)
	}
	mine := netstack.Flow{Network: "udp", Src: netip.MustParseAddrPort(app.LocalAddr().String()), Dst: resolver}
	want := resolve(mine, "one.example.test.") + resolve(mine, "two.example.test.") + resolve(mine, "three.example.test.")
	wantUnknown := resolve(netstack.Flow{Network: "udp", Dst: resolver}, "nobody.example.test.")

	if s := far(); len(s) != 1 || s[0].App != me || s[0].Bytes != want {
		t.Fatalf("far's window %+v, want only %s with the %d bytes of its queries", s, me, want)
	}
	if s := conn(); len(s) != 1 || s[0].App != unknown || s[0].Bytes != wantUnknown {
		t.Fatalf("the connection's window %+v, want only %s with %d bytes", s, unknown, wantUnknown)
	}
	apps, profiles := drainedTraffic(t, r.apps)
	if g := apps[me]; g.Up+g.Down != want || g.Up == 0 || g.Down == 0 || g.Flows != 0 || g.Action != "tunnel(far)" {
		t.Errorf("%s: %+v; want %d bytes both ways together, no flow", me, g, want)
	}
	if g := profiles["far"]; g.Up+g.Down != want {
		t.Errorf("profile far: %+v; want %d bytes both ways together", g, want)
	}
	if g := profiles[r.profile.Name]; g.Up+g.Down != wantUnknown {
		t.Errorf("profile %s: %+v; want %d bytes both ways together", r.profile.Name, g, wantUnknown)
	}
}

// TestRouterCountsPingsPerApp: an echo flow counts as a flow of the
// application that owns the ping socket (this binary, found by the real
// owner lookup), under the profile whose circuit carries it, with its
// bytes each way in the payer's window and the ledger; a ping a block
// rule refuses counts as blocked. The application's ping socket and the
// exit's live in a network namespace that permits them; the exit pings
// its own loopback. Needs root.
func TestRouterCountsPingsPerApp(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the exit's ping sockets live in a network namespace")
	}
	lab, err := netlab.New("dping")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lab.Close() })
	host, err := lab.Host("exit")
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Sysctl("net.ipv4.ping_group_range", "0 2147483647"); err != nil {
		t.Fatal(err)
	}
	listen := func(network string) (net.PacketConn, error) {
		var pc net.PacketConn
		err := host.Do(func() (err error) {
			pc, err = relay.ListenPing(network)
			return err
		})
		return pc, err
	}
	r := newTestRouterExit(t, relay.NodeConfig{DNSServer: dnsServer(t), ListenICMP: listen}, nil)
	st, err := rules.Open(filepath.Join(t.TempDir(), "rules.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Update(func(s *rules.Set) error {
		s.Rules = []rules.Rule{{Name: "no pings to .2", Match: rules.Match{Dst: []string{"127.0.0.2"}}, Target: rules.Target{Action: rules.Block}}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r.rules = st.Engine()
	// The application's ping socket, and the owner lookup, in the same
	// namespace.
	var tab *owner.Table
	var app *icmp.PacketConn
	if err := host.Do(func() (err error) {
		if tab, err = owner.New(); err != nil {
			return err
		}
		app, err = icmp.ListenPacket("udp4", "0.0.0.0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	defer app.Close()
	r.owners = tab
	r.apps = newAppMeter()
	window := r.apps.window(r.profile.Name)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	self, _ = filepath.EvalSymlinks(self)
	label := appLabel(rules.Owner{UID: uint32(os.Getuid()), HasUID: true, Exe: self})

	// The flow as the netstack opens it: the socket's identifier from
	// the host's address.
	id := uint16(app.LocalAddr().(*net.UDPAddr).Port)
	f := netstack.Flow{Network: "icmp", Src: netip.AddrPortFrom(host.Addr4(), id), Dst: netip.MustParseAddrPort("127.0.0.1:0")}
	c, err := r.DialEcho(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var want uint64
	for seq := 1; seq <= 3; seq++ {
		req := binary.BigEndian.AppendUint16(nil, uint16(seq))
		req = append(req, make([]byte, 100*seq)...)
		if _, err := c.Write(req); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 1500)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("echo reply %d: %v", seq, err)
		}
		if n != len(req) || binary.BigEndian.Uint16(buf) != uint16(seq) {
			t.Fatalf("echo reply %d: %d bytes, sequence %d; want %d bytes", seq, n, binary.BigEndian.Uint16(buf), len(req))
		}
		want += uint64(2 * len(req))
	}
	blocked := netstack.Flow{Network: "icmp", Src: netip.AddrPortFrom(host.Addr4(), id), Dst: netip.MustParseAddrPort("127.0.0.2:0")}
	if _, err := r.DialEcho(ctx, blocked); err == nil {
		t.Fatal("ping to 127.0.0.2 was not blocked")
	}

	if s := window(); len(s) != 1 || s[0].App != label || s[0].Bytes != want {
		t.Fatalf("circuit window %+v, want only %s with the %d bytes of its pings", s, label, want)
	}
	apps, profiles := drainedTraffic(t, r.apps)
	if g := apps[label]; g.Up != want/2 || g.Down != want/2 || g.Flows != 1 || g.Blocked != 1 {
		t.Errorf("%s: %+v; want %d bytes each way in 1 flow, 1 blocked", label, g, want/2)
	}
	if g := profiles[r.profile.Name]; g.Up != want/2 || g.Down != want/2 || g.Flows != 1 {
		t.Errorf("profile %s: %+v; want %d bytes each way in 1 flow", r.profile.Name, g, want/2)
	}
}

// drainedTraffic drains m into a budget ledger and returns what it holds
// per application and per profile.
func drainedTraffic(t *testing.T, m *appMeter) (apps, profiles map[string]budget.Traffic) {
	t.Helper()
	l, err := budget.OpenLedger(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	e, err := budget.New(budget.Config{Budget: big.NewInt(1e18), ClaimCost: big.NewInt(1e14), Ledger: l})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.drain(e); err != nil {
		t.Fatal(err)
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	totals := func(by string) map[string]budget.Traffic {
		rows, err := l.Totals(by)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]budget.Traffic{}
		for _, row := range rows {
			t.Logf("by %s: %s: %+v", by, row.Key, row.Traffic)
			out[row.Key] = row.Traffic
		}
		return out
	}
	return totals(budget.ByApp), totals(budget.ByProfile)
}
