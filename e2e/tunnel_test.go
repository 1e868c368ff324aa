//go:build e2e

package e2e

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/netlab"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/internal/world"
)

// newWorld builds the binaries and starts a world: chain, 2 relays, 2
// exits, the internet host, and a client host with the original resolver
// pointing at the internet host's DNS server (so a leaked query would be
// seen there, from the client).
func newWorld(t *testing.T) *world.World {
	t.Helper()
	return newWorldWith(t, world.Options{})
}

// newWorldWith is newWorld with the world's options o (its binaries,
// directory and log are the test's).
func newWorldWith(t *testing.T, o world.Options) *world.World {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces, a TUN device, routes and nftables")
	}
	for _, tool := range []string{"curl", "dig", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (make deps installs it)", tool)
		}
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := world.Build(ctx, "..", dir); err != nil {
		t.Fatal(err)
	}
	o.Bin, o.Dir, o.Logf = dir, filepath.Join(dir, "world"), t.Logf
	w, err := world.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, name := range []string{"pexiad.log", "node0.log", "node1.log", "node2.log", "node3.log"} {
				b, _ := os.ReadFile(filepath.Join(dir, "world", name))
				t.Logf("---- %s\n%s", name, tail(string(b), 4000))
			}
		}
		w.Close()
		if err := w.CheckMachine(); err != nil {
			t.Error(err)
		}
	})
	if err := w.SetClientResolver(w.Internet.Addr4()); err != nil {
		t.Fatal(err)
	}
	return w
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// netState is what pexiad may change in the client host: policy rules,
// routes of every table, the firewall and the resolver file.
func netState(t *testing.T, w *world.World) string {
	t.Helper()
	var b strings.Builder
	for _, args := range [][]string{
		{"ip", "-4", "rule"}, {"ip", "-6", "rule"},
		{"ip", "-4", "route", "show", "table", "all"}, {"ip", "-6", "route", "show", "table", "all"},
		{"ip", "link"}, {"nft", "list", "ruleset"}, {"cat", "/etc/resolv.conf"},
	} {
		out, err := w.Client.Command(context.Background(), args[0], args[1:]...).CombinedOutput()
		if err != nil && args[0] != "nft" {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		// Interface statistics and neighbour state change by themselves.
		fmt.Fprintf(&b, "$ %s\n%s", strings.Join(args, " "), out)
	}
	return b.String()
}

func connect(t *testing.T, cl *api.Client, hops int) api.Circuit {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, err := cl.Connect(ctx, api.ConnectRequest{Hops: hops}); err != nil {
		t.Fatal(err)
	}
	waitState(t, cl, api.StateConnected, 90*time.Second)
	c, err := cl.Circuit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Hops) != hops {
		t.Fatalf("circuit has %d hops, want %d", len(c.Hops), hops)
	}
	return c
}

// startConnected starts pexiad in stateDir ("" for the world's) with
// pexiad's extra args, turns the kill switch on with the LAN off if
// killSwitch, and connects through 1 hop. It returns the daemon, a client
// closed with the test, and the exit's host.
func startConnected(t *testing.T, w *world.World, killSwitch bool, stateDir string, extra ...string) (*world.Daemon, *api.Client, *netlab.Host) {
	t.Helper()
	ctx := context.Background()
	d, err := w.StartDaemon(ctx, stateDir, extra...)
	if err != nil {
		t.Fatal(err)
	}
	cl := api.NewClient(d.Socket)
	t.Cleanup(func() { cl.Close() })
	if killSwitch {
		set, err := cl.Settings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		set.KillSwitch, set.AllowLAN = true, false
		if _, err := cl.SetSettings(ctx, set); err != nil {
			t.Fatal(err)
		}
	}
	c := connect(t, cl, 1)
	return d, cl, hostOf(w, c.Hops[0].Host)
}

func waitState(t *testing.T, cl *api.Client, want api.State, limit time.Duration) api.Status {
	t.Helper()
	var st api.Status
	var err error
	if testutil.Until("state "+string(want), limit, func() bool {
		st, err = cl.Status(context.Background())
		return err == nil && (st.State == want || st.State == api.StateError)
	}) != nil {
		t.Fatalf("state %q (%s), want %q after %v (%v)", st.State, st.Error, want, limit, err)
	}
	if st.State != want {
		t.Fatalf("state error: %s", st.Error)
	}
	return st
}

// curl runs curl in the client host.
func curl(ctx context.Context, w *world.World, args ...string) (string, error) {
	args = append([]string{"-sS", "--fail", "--max-time", "60"}, args...)
	out, err := w.Client.Command(ctx, "curl", args...).CombinedOutput()
	return string(out), err
}

// hostOf returns the host whose address is addr (ip or ip:port).
func hostOf(w *world.World, addr string) *netlab.Host {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		addr = h
	}
	for _, h := range w.Lab.Hosts() {
		if h.Addr4().String() == addr || h.Addr6().String() == addr {
			return h
		}
	}
	return nil
}

// exercise runs ordinary programs in the client host over the tunnel and
// checks what the internet host saw.
func exercise(t *testing.T, w *world.World, c api.Circuit) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	exit := hostOf(w, c.Hops[len(c.Hops)-1].Host)
	if exit == nil {
		t.Fatalf("exit %s is no host of the lab", c.Hops[len(c.Hops)-1].Host)
	}
	// curl over IPv4 and IPv6, by address: the server sees the exit.
	for _, u := range []string{"http://203.0.113.10/ip", "http://[2001:db8::10]/ip"} {
		out, err := curl(ctx, w, u)
		if err != nil {
			t.Fatalf("curl %s: %v: %s", u, err, out)
		}
		if out != exit.Addr4().String() && out != exit.Addr6().String() {
			t.Fatalf("curl %s: server saw %q, not the exit %s", u, out, exit.Addr4())
		}
	}
	// By name: the client's resolver is pointed into the tunnel and the
	// exit asks the internet host's DNS server.
	before := len(w.DNS.Queries())
	out, err := curl(ctx, w, "-4", "http://"+world.WebName+"/ip")
	if err != nil || out != exit.Addr4().String() {
		t.Fatalf("curl by name over IPv4: %v: %q", err, out)
	}
	out, err = curl(ctx, w, "-6", "http://"+world.WebName+"/ip")
	if err != nil || out != exit.Addr6().String() {
		t.Fatalf("curl by name over IPv6: %v: %q", err, out)
	}
	qs := w.DNS.Queries()[before:]
	if len(qs) == 0 {
		t.Fatal("the DNS server got no query for the name")
	}
	for _, q := range qs {
		if a := q.From.Addr().Unmap(); a != exit.Addr4() && a != exit.Addr6() {
			t.Fatalf("DNS query %s came from %v, not the exit", q.Name, a)
		}
	}
	// A Go HTTPS client, by name, verifying the server's certificate.
	hc := w.Client.HTTPClient(w.HTTP.Roots)
	resp, err := hc.Get("https://" + world.WebName + "/bytes/1000")
	if err != nil {
		t.Fatalf("Go HTTPS client: %v", err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || n != 1000 {
		t.Fatalf("Go HTTPS client: %s, %d bytes", resp.Status, n)
	}
	// A DNS query to an arbitrary server is intercepted and answered at
	// the exit (what dig @8.8.8.8 would do).
	for _, server := range []string{"192.0.2.53:53", "[2001:db8:53::53]:53"} {
		for _, network := range []string{"udp", "tcp"} {
			conn, err := w.Client.Dialer().DialContext(ctx, network, server)
			if err != nil {
				t.Fatalf("dns %s %s: %v", network, server, err)
			}
			m := new(dns.Msg)
			m.SetQuestion(dns.Fqdn(world.WebName), dns.TypeA)
			dc := &dns.Conn{Conn: conn}
			conn.SetDeadline(time.Now().Add(20 * time.Second))
			if err := dc.WriteMsg(m); err != nil {
				t.Fatal(err)
			}
			r, err := dc.ReadMsg()
			conn.Close()
			if err != nil {
				t.Fatalf("dns %s %s: %v", network, server, err)
			}
			if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != world.Web4.String() {
				t.Fatalf("dns %s %s: answer %v", network, server, r.Answer)
			}
		}
	}
	// dig, at a server of its own choosing, over UDP and TCP.
	for _, args := range [][]string{{"@192.0.2.53", world.WebName, "A"}, {"+tcp", "@2001:db8:53::53", world.WebName, "AAAA"}} {
		out, err := w.Client.Command(ctx, "dig", append([]string{"+short", "+time=10", "+tries=1"}, args...)...).CombinedOutput()
		want := world.Web4.String()
		if args[len(args)-1] == "AAAA" {
			want = world.Web6.String()
		}
		if err != nil || strings.TrimSpace(string(out)) != want {
			t.Fatalf("dig %v: %v: %q, want %s", args, err, out, want)
		}
	}
	// UDP echo over both families.
	for _, dst := range []string{"203.0.113.10:7", "[2001:db8::10]:7"} {
		conn, err := w.Client.Dialer().DialContext(ctx, "udp", dst)
		if err != nil {
			t.Fatal(err)
		}
		msg := []byte("pexia udp " + dst)
		got := make([]byte, 1500)
		ok := false
		for try := 0; try < 5 && !ok; try++ {
			conn.Write(msg)
			conn.SetReadDeadline(time.Now().Add(3 * time.Second))
			if n, err := conn.Read(got); err == nil && string(got[:n]) == string(msg) {
				ok = true
			}
		}
		conn.Close()
		if !ok {
			t.Fatalf("no UDP echo from %s", dst)
		}
	}
}

// download fetches n bytes with curl in the client host and checks their
// SHA-256.
func download(t *testing.T, w *world.World, n int64) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t0 := time.Now()
	out, err := w.Client.Command(ctx, "sh", "-c", fmt.Sprintf("curl -sS --fail --max-time 280 http://203.0.113.10/bytes/%d | sha256sum", n)).CombinedOutput()
	el := time.Since(t0)
	if err != nil {
		t.Fatalf("download: %v: %s", err, out)
	}
	want := netlab.BytesSHA256(n)
	if got := strings.Fields(string(out)); len(got) == 0 || got[0] != hex.EncodeToString(want[:]) {
		t.Fatalf("download of %d bytes: sha256 %q, want %x", n, out, want)
	}
	t.Logf("%d MiB in %v (%.0f Mbit/s)", n>>20, el.Round(time.Millisecond), float64(n)*8/el.Seconds()/1e6)
	return el
}

// onlyTo checks that every packet of the capture went to or came from one
// of allowed.
func onlyTo(t *testing.T, what string, pkts netlab.Packets, allowed ...netip.Addr) {
	t.Helper()
	bad := pkts.Traffic().Without(allowed...)
	if len(bad) > 0 {
		for i, p := range bad {
			if i == 10 {
				break
			}
			t.Logf("unexpected: %v", p)
		}
		t.Fatalf("%s: %d packets to or from other addresses than %v", what, len(bad), allowed)
	}
}

// hopAccounts checks that the wallet pays the hops from accounts of their
// own: at least hops current accounts, each with its own funder (never the
// wallet's) that deposited on chain.
func hopAccounts(t *testing.T, cl *api.Client, hops int) {
	t.Helper()
	wl, err := cl.Wallet(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	funders, signers := map[string]bool{}, map[string]bool{}
	for _, s := range wl.Signers {
		if s.State != api.AccountCurrent {
			continue
		}
		if s.Funder == "" || s.Funder == wl.Funder || funders[s.Funder] || signers[s.Address] || s.Balance.IsZero() {
			t.Fatalf("hop account %+v (wallet funder %s, funders so far %v)", s, wl.Funder, funders)
		}
		funders[s.Funder], signers[s.Address] = true, true
	}
	if len(funders) < hops || wl.NextRotation.IsZero() {
		t.Fatalf("%d current hop accounts for %d hops (next rotation %v): %+v", len(funders), hops, wl.NextRotation, wl.Signers)
	}
	t.Logf("%d hop accounts of epoch %d, each with its own funder; next rotation %v", len(funders), wl.Epoch, wl.NextRotation)
}

// TestTunnel runs the whole machine of the client host through pexiad:
// ordinary programs over 1 and 3 hops, IPv4 and IPv6, TCP, UDP and DNS; a
// capture on the client's outer interface shows only the first hop and the
// chain; after disconnect, and after a SIGKILL and restart, the host's
// routes, rules, firewall and resolver are as they were.
func TestTunnel(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	original := netState(t, w)
	d, err := w.StartDaemon(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	cl := api.NewClient(d.Socket)
	set, err := cl.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	set.AllowLAN = false
	if _, err := cl.SetSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	if got := netState(t, w); got != original {
		t.Fatalf("settings changed the network while disconnected:\n%s", diff(original, got))
	}

	for _, hops := range []int{1, 3} {
		t.Run(fmt.Sprintf("%dhop", hops), func(t *testing.T) {
			t0 := time.Now()
			c := connect(t, cl, hops)
			t.Logf("connected through %d hops in %v (built in %d ms)", hops, time.Since(t0).Round(time.Millisecond), c.BuildMS)
			entry := hostOf(w, c.Hops[0].Host)
			// Links of an earlier circuit say goodbye for a moment.
			time.Sleep(time.Second)
			cap, err := w.Client.Capture("eth0")
			if err != nil {
				t.Fatal(err)
			}
			exercise(t, w, c)
			hopAccounts(t, cl, hops)
			if hops == 1 {
				download(t, w, 100<<20)
			}
			pkts := cap.Stop()
			onlyTo(t, "client's outer interface", pkts, entry.Addr4(), entry.Addr6(), w.Chain.Addr4(), w.Chain.Addr6())
			t.Logf("capture: %d packets, all to the first hop %s or the chain", len(pkts.Traffic()), entry.Name())
			if out, err := d.CLI(ctx, "status"); err != nil || !strings.Contains(out, "connected") {
				t.Fatalf("pexia status: %v\n%s", err, out)
			}
		})
	}

	if _, err := cl.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	if got := netState(t, w); got != original {
		t.Fatalf("after disconnect the network differs:\n%s", diff(original, got))
	}

	// The nodes claim their winners; the daemon sees the Lottery pay them
	// and records that as the budget's actual spend, per hop.
	deadline := time.Now().Add(90 * time.Second)
	for {
		b, err := cl.Budget(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if b.Wins > 0 {
			sum := new(big.Int)
			for _, h := range b.PerHop {
				sum.Add(sum, h.Spent.Big())
			}
			if sum.Cmp(b.Spent.Big()) != 0 || b.Spent.IsZero() {
				t.Fatalf("spent %v, per hop %v", b.Spent, b.PerHop)
			}
			t.Logf("budget: %d tickets issued worth %v, %d won, spent %v", b.Tickets, b.Issued, b.Wins, b.Spent)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no win recorded within 90 s: %+v", b)
		}
		time.Sleep(2 * time.Second)
	}

	// A crash while connected, with the kill switch on: the restarted
	// daemon undoes what the dead one left, keeps blocking and reconnects,
	// and after the user's disconnect the network is as it was.
	set.KillSwitch = true
	if _, err := cl.SetSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	connect(t, cl, 1)
	d.Kill()
	if got := netState(t, w); got == original {
		t.Fatal("a SIGKILLed daemon left nothing behind: the test proves nothing")
	}
	d, err = w.StartDaemon(ctx, d.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	cl = api.NewClient(d.Socket)
	waitState(t, cl, api.StateConnected, 90*time.Second)
	if _, err := cl.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	if got := netState(t, w); got != original {
		t.Fatalf("after SIGKILL, restart and disconnect the network differs:\n%s", diff(original, got))
	}
	if err := d.Stop(20 * time.Second); err != nil {
		t.Fatalf("pexiad on SIGTERM: %v", err)
	}
}

// TestKillSwitch kills the exit under a running circuit. With the kill
// switch on, nothing but the daemon's own traffic leaves until the new
// circuit is up, and traffic then resumes through it; with it off,
// traffic also resumes on a new circuit.
func TestKillSwitch(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	d, err := w.StartDaemon(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	cl := api.NewClient(d.Socket)
	for _, ks := range []bool{true, false} {
		t.Run(fmt.Sprintf("killswitch=%v", ks), func(t *testing.T) {
			set, _ := cl.Settings(ctx)
			set.KillSwitch, set.AllowLAN = ks, false
			if _, err := cl.SetSettings(ctx, set); err != nil {
				t.Fatal(err)
			}
			c := connect(t, cl, 1)
			exitHost := hostOf(w, c.Hops[0].Host)
			if out, err := curl(ctx, w, "http://203.0.113.10/ip"); err != nil {
				t.Fatalf("before the kill: %v %s", err, out)
			}
			cap, err := w.Client.Capture("eth0")
			if err != nil {
				t.Fatal(err)
			}
			// Apps keep trying during the outage.
			stop := make(chan struct{})
			tries := make(chan int, 1)
			go func() {
				n := 0
				for {
					select {
					case <-stop:
						tries <- n
						return
					default:
					}
					cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
					w.Client.Command(cctx, "curl", "-s", "--max-time", "2", "http://203.0.113.10/ip").Run()
					if conn, err := w.Client.Dialer().DialContext(cctx, "udp", "203.0.113.10:7"); err == nil {
						conn.Write([]byte("leak?"))
						conn.Close()
					}
					cancel()
					n++
				}
			}()
			w.Nodes[exitHost].Kill()
			t0 := time.Now()
			deadline := time.Now().Add(60 * time.Second)
			var out string
			for {
				out, err = curl(ctx, w, "--max-time", "5", "http://203.0.113.10/ip")
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("traffic did not resume within 60 s: %v", err)
				}
			}
			close(stop)
			n := <-tries
			pkts := cap.Stop()
			t.Logf("traffic resumed %v after the kill through %s (%d attempts meanwhile)", time.Since(t0).Round(time.Millisecond), out, n)
			if hostOf(w, out) == exitHost {
				t.Fatal("traffic resumed through the killed exit")
			}
			if ks {
				// Only the daemon's own traffic: nodes and the chain.
				var allowed []netip.Addr
				for _, h := range append(append([]*netlab.Host{w.Chain}, w.Relays...), w.Exits...) {
					allowed = append(allowed, h.Addr4(), h.Addr6())
				}
				onlyTo(t, "kill switch on", pkts, allowed...)
			}
			if err := w.RestartNode(ctx, exitHost); err != nil {
				t.Fatal(err)
			}
			if _, err := cl.Disconnect(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
	if err := d.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Run("crash", func(t *testing.T) { crashUnderSupervision(t, w, false, "boot") })
}

// TestLockdown: with lockdown the kill switch stays while disconnected
// (nothing but the daemon's own traffic leaves), across a daemon restart,
// and goes when lockdown is turned off.
func TestLockdown(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	original := netState(t, w)
	d, err := w.StartDaemon(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	cl := api.NewClient(d.Socket)
	set, _ := cl.Settings(ctx)
	set.KillSwitch, set.Lockdown, set.AllowLAN = true, true, false
	if _, err := cl.SetSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	blocked := func(when string) {
		t.Helper()
		if out, err := curl(ctx, w, "--max-time", "3", "http://203.0.113.10/ip"); err == nil {
			t.Fatalf("%s: traffic got out in lockdown: %s", when, out)
		}
		if out, err := w.Client.Command(ctx, "nft", "list", "table", "inet", "pexia").CombinedOutput(); err != nil {
			t.Fatalf("%s: no kill-switch table: %v %s", when, err, out)
		}
	}
	blocked("lockdown, disconnected")
	connect(t, cl, 1)
	if out, err := curl(ctx, w, "http://203.0.113.10/ip"); err != nil {
		t.Fatalf("connected in lockdown: %v %s", err, out)
	}
	if _, err := cl.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	blocked("lockdown, after disconnect")
	if err := d.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	blocked("lockdown, daemon stopped")
	if d, err = w.StartDaemon(ctx, d.StateDir); err != nil {
		t.Fatal(err)
	}
	blocked("lockdown, daemon restarted")
	cl = api.NewClient(d.Socket)
	set.Lockdown = false
	if _, err := cl.SetSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	if got := netState(t, w); got != original {
		t.Fatalf("after lockdown was turned off the network differs:\n%s", diff(original, got))
	}
	if out, err := curl(ctx, w, "--max-time", "10", "http://203.0.113.10/ip"); err != nil || out != w.Client.Addr4().String() {
		t.Fatalf("disconnected without lockdown, traffic should go direct: %v %q", err, out)
	}
	if err := d.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Run("crash", func(t *testing.T) { crashUnderSupervision(t, w, true, "boot") })
}

func diff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out strings.Builder
	in := map[string]int{}
	for _, l := range bl {
		in[l]++
	}
	for _, l := range al {
		if in[l] > 0 {
			in[l]--
			continue
		}
		fmt.Fprintf(&out, "- %s\n", l)
	}
	seen := map[string]int{}
	for _, l := range al {
		seen[l]++
	}
	for _, l := range bl {
		if seen[l] > 0 {
			seen[l]--
			continue
		}
		fmt.Fprintf(&out, "+ %s\n", l)
	}
	return out.String()
}
