package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/netstack"
	"github.com/pexia-network/pexia/rules"
	"github.com/pexia-network/pexia/rules/owner"
	"github.com/pexia-network/pexia/wallet/budget"
)

// TestRouterCountsApps: the router counts each application's flows and
// bytes, found by the owner of a real socket: this test binary's flow
// through a real circuit, a bash process's flow sent direct by a rule and
// a flow of an unknown owner a block rule refuses. The counts reach the budget ledger and
// survive closing it; the circuit's window gives the payer the bytes of
// the tunnelled application only.
func TestRouterCountsApps(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash to own a second application's socket")
	}
	bash, _ = filepath.EvalSymlinks(bash)
	echo := testutil.EchoTCP(t, "127.0.0.1:0")
	r := newTestRouter(t, dnsServer(t), nil)
	st, err := rules.Open(filepath.Join(t.TempDir(), "rules.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Update(func(s *rules.Set) error {
		s.Rules = []rules.Rule{
			{Name: "shell", Match: rules.Match{Exe: []string{bash}}, Target: rules.Target{Action: rules.Direct}},
			{Name: "discard", Match: rules.Match{Port: []string{"9"}}, Target: rules.Target{Action: rules.Block}},
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r.rules = st.Engine()
	tab, err := owner.New()
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
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
	me := appLabel(rules.Owner{UID: uint32(os.Getuid()), HasUID: true, Exe: self})
	shell := appLabel(rules.Owner{UID: uint32(os.Getuid()), HasUID: true, Exe: bash})

	// The applications' own sockets, as the TUN would deliver their SYNs.
	c, err := net.Dial("tcp", echo.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mine := netstack.Flow{Network: "tcp", Src: netip.MustParseAddrPort(c.LocalAddr().String()), Dst: echo.AddrPort()}
	<-echo.Remotes()
	p := testutil.StartProc(t, "bash", exec.Command(bash, "-c",
		fmt.Sprintf("exec 3<>/dev/tcp/127.0.0.1/%d && echo connected && read -r -u 3 _", echo.Port())))
	p.Await(t, "connected", 10*time.Second)
	var theirs netstack.Flow
	select {
	case src := <-echo.Remotes():
		theirs = netstack.Flow{Network: "tcp", Src: src, Dst: echo.AddrPort()}
	case <-ctx.Done():
		t.Fatal("bash's connection never arrived")
	}

	// Known amounts each way through the router's connections.
	send := func(f netstack.Flow, n int) {
		t.Helper()
		conn, err := r.DialTCP(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		errc := make(chan error, 1)
		go func() {
			_, err := conn.Write(make([]byte, n))
			errc <- err
		}()
		if _, err := io.ReadFull(conn, make([]byte, n)); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	send(mine, 300_000)
	send(mine, 100_000)
	send(theirs, 50_000)
	blocked := netstack.Flow{Network: "tcp", Src: netip.MustParseAddrPort("127.0.0.1:1"), Dst: netip.MustParseAddrPort("127.0.0.1:9")}
	if _, err := r.DialTCP(ctx, blocked); !errors.Is(err, ErrBlocked) {
		t.Fatalf("flow to port 9: %v, want blocked", err)
	}

	shares := window()
	if len(shares) != 1 || shares[0].App != me || shares[0].Bytes != 800_000 {
		t.Fatalf("circuit window %+v, want only %s with 800000 bytes", shares, me)
	}

	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := budget.OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := budget.New(budget.Config{Budget: big.NewInt(1e18), ClaimCost: big.NewInt(1e14), Ledger: l})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.apps.drain(e); err != nil {
		t.Fatal(err)
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if l, err = budget.OpenLedger(path); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rows, err := l.Totals(budget.ByApp)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]budget.Traffic{}
	for _, row := range rows {
		got[row.Key] = row.Traffic
		t.Logf("%s: %+v", row.Key, row.Traffic)
	}
	if g := got[me]; g.Up != 400_000 || g.Down != 400_000 || g.Flows != 2 || g.Blocked != 0 || g.Action != "tunnel" {
		t.Errorf("%s: %+v; want 400000 each way, 2 tunnelled flows", me, g)
	}
	// The refused flow's 4-tuple has no socket: its owner is unknown.
	if g := got[appLabel(rules.Owner{})]; g.Blocked != 1 || g.Flows != 0 || g.Action != "block" {
		t.Errorf("unknown owner: %+v; want 1 blocked flow", g)
	}
	if g := got[shell]; g.Up != 50_000 || g.Down != 50_000 || g.Flows != 1 || g.Action != "direct" || g.Rule != `direct (rule 1 "shell")` {
		t.Errorf("%s: %+v; want 50000 each way, 1 direct flow by rule 1", shell, g)
	}
	profiles, err := l.Totals(budget.ByProfile)
	if err != nil {
		t.Fatal(err)
	}
	if len(profiles) != 1 || profiles[0].Key != r.profile.Name || profiles[0].Up != 400_000 || profiles[0].Flows != 2 {
		t.Errorf("profiles %+v; want %q with the tunnelled 400000 up in 2 flows", profiles, r.profile.Name)
	}
	// Nothing new: a second drain writes nothing more.
	if err := r.apps.drain(e); err != nil {
		t.Fatal(err)
	}
}
