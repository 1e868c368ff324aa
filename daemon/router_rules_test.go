package daemon

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/netstack"
	"github.com/pexia-network/pexia/rules"
	"github.com/pexia-network/pexia/rules/owner"
)

// TestRouterRules: the split-tunnel rules decide each new flow of the
// router (a real one-hop circuit): direct, block and tunnel, on the owner
// of a real socket of this process, and a change applies to the very
// next flow without reconnecting.
func TestRouterRules(t *testing.T) {
	echo := testutil.EchoTCP(t, "127.0.0.1:0")
	r := newTestRouter(t, dnsServer(t), nil)
	st, err := rules.Open(filepath.Join(t.TempDir(), "rules.json"))
	if err != nil {
		t.Fatal(err)
	}
	r.rules = st.Engine()
	tab, err := owner.New()
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	r.owners = tab
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe, _ = filepath.EvalSymlinks(exe)

	// The app's own socket, as the TUN would deliver its SYN: here a
	// connection of this process, so its owner is this test binary.
	appFlow := func() netstack.Flow {
		c, err := net.Dial("tcp", echo.Addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return netstack.Flow{Network: "tcp", Src: netip.MustParseAddrPort(c.LocalAddr().String()), Dst: echo.AddrPort()}
	}
	roundTrip := func(f netstack.Flow) error {
		c, err := r.DialTCP(ctx, f)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return testutil.RoundTrip(c, "split tunnel")
	}
	set := func(rs ...rules.Rule) {
		if _, err := st.Update(func(s *rules.Set) error { s.Rules = rs; return nil }); err != nil {
			t.Fatal(err)
		}
	}

	// Default: through the circuit.
	if err := roundTrip(appFlow()); err != nil {
		t.Fatal(err)
	}
	if r.flows.Load() != 1 || r.directFlows.Load() != 0 {
		t.Fatalf("circuit %d direct %d; want 1, 0", r.flows.Load(), r.directFlows.Load())
	}

	// This executable goes direct: the rule matches the owner found for
	// the socket.
	set(rules.Rule{Name: "me", Match: rules.Match{Exe: []string{exe}}, Target: rules.Target{Action: rules.Direct}})
	if err := roundTrip(appFlow()); err != nil {
		t.Fatal(err)
	}
	if r.flows.Load() != 1 || r.directFlows.Load() != 1 {
		t.Fatalf("exe rule: circuit %d direct %d; want 1, 1", r.flows.Load(), r.directFlows.Load())
	}

	// Another executable's rule does not catch this one's flows.
	set(rules.Rule{Match: rules.Match{Exe: []string{"/usr/bin/not-this-one"}}, Target: rules.Target{Action: rules.Direct}})
	if err := roundTrip(appFlow()); err != nil {
		t.Fatal(err)
	}
	if r.flows.Load() != 2 || r.directFlows.Load() != 1 {
		t.Fatalf("other exe: circuit %d direct %d; want 2, 1", r.flows.Load(), r.directFlows.Load())
	}

	// Block refuses at once, for TCP and UDP.
	set(rules.Rule{Match: rules.Match{UID: []uint32{uint32(os.Getuid())}, Port: []string{strconv.Itoa(int(echo.Port()))}},
		Target: rules.Target{Action: rules.Block}},
		rules.Rule{Match: rules.Match{Proto: []string{"udp"}}, Target: rules.Target{Action: rules.Block}})
	t0 := time.Now()
	if err := roundTrip(appFlow()); !errors.Is(err, ErrBlocked) {
		t.Fatalf("blocked flow: %v", err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Fatalf("a blocked flow took %v to fail", d)
	}
	u, err := r.DialUDP(ctx, netstack.Flow{Network: "udp", Dst: netip.MustParseAddrPort("127.0.0.1:9")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Read(make([]byte, 10)); !errors.Is(err, netstack.ErrPortUnreachable) {
		t.Fatalf("blocked udp flow reads %v, want port unreachable", err)
	}
	if r.blocked.Load() != 2 || r.flows.Load() != 2 {
		t.Fatalf("blocked %d circuit %d; want 2, 2", r.blocked.Load(), r.flows.Load())
	}

	// A flow whose socket is gone (no owner) falls through the app rule.
	set(rules.Rule{Match: rules.Match{Exe: []string{exe}}, Target: rules.Target{Action: rules.Block}})
	gone := netstack.Flow{Network: "tcp", Src: netip.MustParseAddrPort("127.0.0.1:1"), Dst: echo.AddrPort()}
	if err := roundTrip(gone); err != nil {
		t.Fatalf("ownerless flow: %v", err)
	}
	if r.flows.Load() != 3 || r.ownerMisses.Load() == 0 {
		t.Fatalf("ownerless flow: circuit %d, owner misses %d", r.flows.Load(), r.ownerMisses.Load())
	}
}

// TestProxyRulesByName: in proxy mode a flow opened by name is matched by
// that name: a domain rule sends it direct or blocks it.
func TestProxyRulesByName(t *testing.T) {
	echo := testutil.EchoTCP(t, "127.0.0.1:0")
	r := newTestRouter(t, dnsServer(t), nil)
	s := rules.DefaultSet()
	s.Rules = []rules.Rule{
		{Match: rules.Match{Domain: []string{".blocked.test"}}, Target: rules.Target{Action: rules.Block}},
		{Match: rules.Match{Domain: []string{"localhost"}}, Target: rules.Target{Action: rules.Direct}},
	}
	e, err := rules.NewEngine(s)
	if err != nil {
		t.Fatal(err)
	}
	r.rules = e
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := r.DialContext(ctx, "tcp", "www.blocked.test:80"); !errors.Is(err, ErrBlocked) {
		t.Fatalf("blocked name: %v", err)
	}
	c, err := r.DialContext(ctx, "tcp", "localhost:"+strconv.Itoa(int(echo.Port())))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := testutil.RoundTrip(c, "direct by name"); err != nil {
		t.Fatal(err)
	}
	if r.directFlows.Load() != 1 || r.flows.Load() != 0 || r.blocked.Load() != 1 {
		t.Fatalf("direct %d circuit %d blocked %d", r.directFlows.Load(), r.flows.Load(), r.blocked.Load())
	}
}
