//go:build e2e

package e2e

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/netlab"
	"github.com/pexia-network/pexia/internal/world"
)

// Unit files, relative to this package.
const (
	daemonUnit    = "../packaging/systemd/pexiad.service"
	earlyBootUnit = "../packaging/systemd/pexiad-early-boot.service"
)

// supervisor runs pexiad the way systemd runs packaging/systemd/pexiad.service:
// ExecStartPre, then ExecStart; after the process dies, ExecStopPost. Every
// command is the unit's own, with only the install paths pointed into the
// world.
type supervisor struct {
	t     *testing.T
	w     *world.World
	state string
	unit  *world.Unit
	boot  *world.Unit
}

func newSupervisor(t *testing.T, w *world.World) *supervisor {
	t.Helper()
	s := &supervisor{t: t, w: w, state: t.TempDir()}
	paths := map[string]string{"/var/lib/pexia": s.state}
	var err error
	if s.unit, err = w.LoadUnit(daemonUnit, paths); err != nil {
		t.Fatal(err)
	}
	if s.boot, err = w.LoadUnit(earlyBootUnit, paths); err != nil {
		t.Fatal(err)
	}
	if s.unit.Restart != "on-failure" && s.unit.Restart != "always" {
		t.Fatalf("%s: Restart=%q: systemd would not restart a killed daemon", daemonUnit, s.unit.Restart)
	}
	return s
}

func (s *supervisor) run(h *netlab.Host, what string, cmds [][]string) {
	s.t.Helper()
	for _, argv := range cmds {
		out, err := s.w.RunCommand(context.Background(), h, argv)
		if err != nil {
			s.t.Fatalf("%s %v: %v\n%s", what, argv, err, out)
		}
	}
}

// start runs ExecStartPre and ExecStart.
func (s *supervisor) start() (*world.Daemon, *api.Client) {
	s.t.Helper()
	s.run(s.w.Client, "ExecStartPre", s.unit.StartPre)
	d, err := s.w.StartUnitDaemon(context.Background(), s.state, s.unit.Start[0])
	if err != nil {
		s.t.Fatal(err)
	}
	return d, api.NewClient(d.Socket)
}

// crash SIGKILLs the daemon and runs ExecStopPost, as systemd does when
// the main process dies.
func (s *supervisor) crash(d *world.Daemon) {
	s.t.Helper()
	d.Kill()
	s.run(s.w.Client, "ExecStopPost", s.unit.StopPost)
}

// probe keeps trying to reach the internet host from the client, the way
// applications do, and records what answered.
type probe struct {
	stop    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	answers []string
	tries   int
}

func startProbe(w *world.World) *probe {
	p := &probe{stop: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			select {
			case <-p.stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			out, err := w.Client.Command(ctx, "curl", "-s", "--max-time", "1", "http://203.0.113.10/ip").Output()
			if conn, err := w.Client.Dialer().DialContext(ctx, "udp", "203.0.113.10:7"); err == nil {
				conn.Write([]byte("leak?"))
				conn.Close()
			}
			cancel()
			p.mu.Lock()
			p.tries++
			if err == nil && len(out) > 0 {
				p.answers = append(p.answers, string(out))
			}
			p.mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
	}()
	return p
}

func (p *probe) end() (answers []string, tries int) {
	close(p.stop)
	p.wg.Wait()
	return p.answers, p.tries
}

// blockedIn checks that h cannot reach the internet host and holds the
// kill-switch table.
func blockedIn(t *testing.T, h *netlab.Host, when string) {
	t.Helper()
	ctx := context.Background()
	if out, err := h.Command(ctx, "curl", "-sS", "--max-time", "3", "http://203.0.113.10/ip").CombinedOutput(); err == nil {
		t.Fatalf("%s: traffic got out: %s", when, out)
	}
	if out, err := h.Command(ctx, "nft", "list", "table", "inet", "pexia").CombinedOutput(); err != nil {
		t.Fatalf("%s: no kill-switch table: %v %s", when, err, out)
	}
}

// openIn checks that h reaches the internet host directly and holds no
// kill-switch table.
func openIn(t *testing.T, h *netlab.Host, when string) {
	t.Helper()
	ctx := context.Background()
	out, err := h.Command(ctx, "curl", "-sS", "--max-time", "10", "http://203.0.113.10/ip").CombinedOutput()
	if err != nil || string(out) != h.Addr4().String() {
		t.Fatalf("%s: want direct traffic from %s: %v %q", when, h.Addr4(), err, out)
	}
	if out, err := h.Command(ctx, "nft", "list", "table", "inet", "pexia").CombinedOutput(); err == nil {
		t.Fatalf("%s: kill-switch table present:\n%s", when, out)
	}
}

// crashUnderSupervision: the user connects with the kill switch on (and
// lockdown if asked); pexiad is SIGKILLed twice, each time followed by the
// unit's ExecStopPost. Traffic stays blocked while the daemon is dead and
// across ExecStopPost, the restarted daemon (ExecStartPre, ExecStart)
// reconnects by itself, the early-boot unit blocks a freshly booted
// machine from the saved state, and only 'pexia disconnect' lifts the
// block (with lockdown, only turning lockdown off). A capture on the
// client's outer interface shows that from the first kill to the
// disconnect nothing but the daemon's own traffic (nodes and chain) left.
func crashUnderSupervision(t *testing.T, w *world.World, lockdown bool, bootHost string) {
	ctx := context.Background()
	original := netState(t, w)
	s := newSupervisor(t, w)
	d, cl := s.start()
	set, err := cl.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if set.AllowLAN {
		t.Fatal("allow_lan is on by default")
	}
	set.KillSwitch, set.Lockdown = true, lockdown
	if _, err := cl.SetSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CLI(ctx, "connect", "-hops", "1"); err != nil {
		t.Fatal(err)
	}
	waitState(t, cl, api.StateConnected, 90*time.Second)

	var allowed []netip.Addr
	for _, h := range append(append([]*netlab.Host{w.Chain}, w.Relays...), w.Exits...) {
		allowed = append(allowed, h.Addr4(), h.Addr6())
	}
	cap, err := w.Client.Capture("eth0")
	if err != nil {
		t.Fatal(err)
	}
	pr := startProbe(w)
	t0 := time.Now()

	s.crash(d)
	blockedIn(t, w.Client, "after SIGKILL and ExecStopPost")
	time.Sleep(s.unit.RestartSec)
	d, cl = s.start()
	st := waitState(t, cl, api.StateConnected, 90*time.Second)
	t.Logf("restarted daemon reconnected by itself %v after the kill (exit %s)", time.Since(t0).Round(time.Millisecond), st.ExitHost)
	out, err := curl(ctx, w, "http://203.0.113.10/ip")
	if exit := hostOf(w, out); err != nil || exit == nil || exit == w.Client {
		t.Fatalf("after the restart: %v %q, want the exit's address", err, out)
	}

	// Killed again and not restarted: blocked while no daemon runs, and a
	// machine booting with this state is blocked before its network is up.
	s.crash(d)
	blockedIn(t, w.Client, "daemon dead")
	fresh, err := w.Lab.Host(bootHost)
	if err != nil {
		t.Fatal(err)
	}
	openIn(t, fresh, "fresh machine before early boot")
	s.run(fresh, "early-boot ExecStart", s.boot.Start)
	blockedIn(t, fresh, "fresh machine after early boot")
	blockedIn(t, w.Client, "daemon still dead")

	d, cl = s.start()
	waitState(t, cl, api.StateConnected, 90*time.Second)
	answers, tries := pr.end()
	pkts := cap.Stop()
	onlyTo(t, "from the first kill to the disconnect", pkts, allowed...)
	for _, a := range answers {
		if h := hostOf(w, a); h == nil || h == w.Client {
			t.Fatalf("an application reached the internet as %q outside the tunnel", a)
		}
	}
	t.Logf("%d application attempts over %v, %d answered, all through the tunnel; %d packets on eth0, all to nodes or the chain",
		tries, time.Since(t0).Round(time.Millisecond), len(answers), len(pkts.Traffic()))

	// The user disconnects: the only thing that lifts the block.
	if out, err := d.CLI(ctx, "disconnect"); err != nil || !strings.Contains(out, "disconnected") {
		t.Fatalf("pexia disconnect: %v %s", err, out)
	}
	if lockdown {
		blockedIn(t, w.Client, "lockdown, after disconnect")
		fresh, err := w.Lab.Host(bootHost + "l")
		if err != nil {
			t.Fatal(err)
		}
		s.run(fresh, "early-boot ExecStart", s.boot.Start)
		blockedIn(t, fresh, "lockdown, fresh machine after early boot")
		set.Lockdown = false
		if _, err := cl.SetSettings(ctx, set); err != nil {
			t.Fatal(err)
		}
	}
	openIn(t, w.Client, "after the user's disconnect")
	if got := netState(t, w); got != original {
		t.Fatalf("after the disconnect the network differs:\n%s", diff(original, got))
	}
	// A stop now leaves nothing, and a boot does not block.
	if err := d.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	s.run(w.Client, "ExecStopPost", s.unit.StopPost)
	if got := netState(t, w); got != original {
		t.Fatalf("after stop and ExecStopPost the network differs:\n%s", diff(original, got))
	}
	fresh2, err := w.Lab.Host(bootHost + "2")
	if err != nil {
		t.Fatal(err)
	}
	s.run(fresh2, "early-boot ExecStart", s.boot.Start)
	openIn(t, fresh2, "fresh machine after early boot, user disconnected")
}
