//go:build e2e && soak

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/netlab"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/internal/world"
)

// The soak's knobs: make soak passes SOAK_DURATION as -soak.duration.
var (
	soakDuration     = flag.Duration("soak.duration", 20*time.Minute, "how long traffic runs")
	soakOut          = flag.String("soak.out", "soak-results.json", "where the samples and findings are written (JSON)")
	soakRestartEvery = flag.Int("soak.restart-every", 3, "a relay of the circuit is killed and started again every this many minutes, from minute 1")
	soakCycleEvery   = flag.Int("soak.cycle-every", 3, "pexiad is disconnected and connected again every this many minutes, from minute 2")
	soakWorkers      = flag.Int("soak.workers", 3, "flows open at once")
)

const (
	// soakHops is the circuit length under test.
	soakHops = 3
	// flowDeadline bounds one flow, from its dial to its last byte. A flow
	// still running then is stuck: the tunnel neither carried it nor ended
	// it, though a dead circuit is noticed within seconds (2 s link
	// timeout, 4 s stall timeout) and rebuilt within a build's 30 s.
	flowDeadline = 60 * time.Second
	// excuseMargin extends each disruption (relay restart, disconnect)
	// on both sides: a flow that fails within it is counted, not failed.
	excuseMargin = 5 * time.Second
	// echoPort is the TCP echo port of the internet host (UDP echo is on
	// world.EchoPort, the same number).
	echoPort = 7
	// httpBytes is the size of each HTTP download.
	httpBytes = 256 << 10
	// echoBytes is what each TCP echo flow sends and reads back.
	echoBytes = 64 << 10
)

// Flatness. Every process's RSS and goroutines are sampled each minute
// under traffic; a process's first min(2 min, duration/4) are its
// warm-up. Start is the first sample after it, end the last.
//
//   - Growth (pexiad): the median of the last third of the samples after
//     the warm-up exceeds 1.5 × the median of the first third + slack
//     (50 goroutines, 16 MiB). Medians, because a sample taken soon after
//     a restart or reconnect finds fewer flows open: UDP flows stay open
//     at the client for 60 s after their last datagram.
//   - Monotonic growth (every process): the samples after the warm-up
//     rose at each of at least 5 in a row, by more than half the slack
//     in all, to a new high above every sample before the run, and did
//     not fall back to within half that rise of where the run began (a
//     process that gives memory back after a busy stretch does not
//     leak it).
//   - At rest (every process): pexiad within 20 s of each disconnect, and
//     pexiad and every node within 2 min of the moment the final
//     disconnect left no link, circuit or stream at any node, is back
//     within 10 goroutines of its count before the first connect.
//
// A node's goroutines under traffic follow the circuits through it (about
// 24 per WebRTC link and 3 per exit stream here) and the exit a circuit
// takes changes at every rebuild, so its curve is judged by the monotonic
// and at-rest rules, not by start against end.
const (
	growthFactor     = 1.5
	goroutineSlack   = 50
	rssSlackKiB      = 16 << 10
	monotonicMin     = 5
	restGoroutineMax = 10
)

// TestSoak runs pexiad in TUN mode in the namespace world for
// -soak.duration with flows opening and closing all the time over a
// 3-hop circuit (TCP echo over IPv4 and IPv6, HTTP downloads, DNS over
// UDP and TCP, UDP echo), a relay of the circuit killed and restarted
// every -soak.restart-every, and a disconnect and connect every
// -soak.cycle-every. Each minute it samples the RSS and goroutines of
// pexiad and of every node. It fails on a stuck flow, on a flow that
// failed outside a disruption, on a series that grows (see the flatness
// rule above), on a client that does not recover, on streams or circuits
// left open at the nodes, and on any route, rule, link, firewall table or
// resolver change left in the client host after a disconnect and after
// pexiad stops. The samples and findings go to -soak.out.
//
//	make soak                      # 20 minutes
//	make soak SOAK_DURATION=4m     # while developing
func TestSoak(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces, a TUN device, routes and nftables (run make soak as root)")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (make deps installs it)", tool)
		}
	}
	dur := *soakDuration
	if dur <= 0 {
		t.Fatalf("-soak.duration %v: want a positive duration", dur)
	}
	warm := min(2*time.Minute, dur/4)
	t.Logf("soak: %v of traffic, warm-up %v, relay restart every %d min, reconnect every %d min, %d flows at once",
		dur, warm, *soakRestartEvery, *soakCycleEvery, *soakWorkers)

	dir := t.TempDir()
	bctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if err := world.Build(bctx, "..", dir); err != nil {
		t.Fatal(err)
	}
	wdir := filepath.Join(dir, "world")
	w, err := world.Start(bctx, world.Options{Bin: dir, Dir: wdir, Relays: 3, Exits: 2, Prefix: "pxsoak", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, name := range []string{"pexiad.log", "node0.log", "node1.log", "node2.log", "node3.log", "node4.log"} {
				b, _ := os.ReadFile(filepath.Join(wdir, name))
				t.Logf("---- %s\n%s", name, tail(string(b), 4000))
			}
		}
		w.Close()
	})
	if err := w.SetClientResolver(w.Internet.Addr4()); err != nil {
		t.Fatal(err)
	}
	serveTCPEcho(t, w.Internet, echoPort)

	s := &soak{t: t, w: w, dur: dur, warm: warm, res: &soakResults{Duration: dur.String(), Warmup: warm.String()}}
	s.res.Commit = gitCommit()
	defer s.write()
	ctx := context.Background()

	original := netState(t, w)
	d, err := w.StartDaemon(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	s.d = d
	s.cl = api.NewClient(d.Socket)
	set, err := s.cl.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The kill switch adds and removes a firewall table at every connect
	// and disconnect: more that could leak.
	set.KillSwitch, set.AllowLAN = true, false
	if _, err := s.cl.SetSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	if got := netState(t, w); got != original {
		t.Fatalf("settings changed the network while disconnected:\n%s", diff(original, got))
	}
	// The soak looks for leaks, not for the budget's throttle: at the
	// default budget (10 a month at 0.3 per GB for 3 hops) the throttle
	// slows its flows to a trickle after about ten minutes, and nodes
	// then drop circuits whose payments fall behind. A budget far above
	// what 20 minutes can spend keeps the traffic at full speed.
	if _, err := s.cl.SetBudget(ctx, api.NewAmount(new(big.Int).Mul(big.NewInt(1e6), big.NewInt(1e18)))); err != nil {
		t.Fatal(err)
	}
	// The nodes at rest, before any circuit: compared with the end.
	s.res.IdleBefore = s.sample(ctx, -1)

	if err := s.connect(ctx); err != nil {
		t.Fatal(err)
	}
	s.t0 = time.Now()
	s.fl = &flows{w: w, t0: s.t0, digest: netlab.BytesSHA256(httpBytes)}
	s.fl.start(*soakWorkers)
	stopped := false
	defer func() {
		// A run cut short still tells what its flows did.
		if !stopped {
			s.endFlows()
		}
	}()

	// The schedule: a sample on every minute, the last at the end; a
	// restart or reconnect right after a sample, so the next one finds
	// the flows back at their usual number.
	end := s.t0.Add(dur)
	restartEvery, cycleEvery := max(*soakRestartEvery, 1), max(*soakCycleEvery, 1)
	for m := 0; ; m++ {
		at := s.t0.Add(time.Duration(m) * time.Minute)
		last := !at.Before(end)
		if last {
			at = end
		}
		time.Sleep(time.Until(at))
		sm := s.sample(ctx, time.Since(s.t0))
		s.res.Samples = append(s.res.Samples, sm)
		s.logSample(sm)
		if last {
			break
		}
		if m >= 1 && (m-1)%restartEvery == 0 {
			if err := s.restartRelay(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if m >= 2 && (m-2)%cycleEvery == 0 {
			if err := s.cycle(ctx, original); err != nil {
				t.Fatal(err)
			}
		}
	}

	stopped = true
	s.endFlows()

	// Flows have ended: every exit stream closes (a UDP flow after the
	// client's 60 s idle timeout).
	if err := s.waitNodes(ctx, "no stream open at any exit", 3*time.Minute, func(m map[string]float64) bool {
		return metric(m, "pexia_node_streams_active") == 0
	}); err != nil {
		t.Error(err)
	}

	// The final disconnect: nothing left in the client host, and every
	// node back at rest (the links between nodes close a minute after
	// their last circuit).
	if _, err := s.cl.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.waitState(ctx, api.StateDisconnected, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := netState(t, w); got != original {
		t.Errorf("after the final disconnect the client host's network differs:\n%s", diff(original, got))
		s.res.Leaks = append(s.res.Leaks, "after the final disconnect:\n"+diff(original, got))
	}
	if err := s.waitNodes(ctx, "no circuit, stream or link left at any node", 3*time.Minute, func(m map[string]float64) bool {
		return metric(m, "pexia_node_circuits_active") == 0 && metric(m, "pexia_node_streams_active") == 0 && metric(m, "pexia_node_links_active") == 0
	}); err != nil {
		t.Error(err)
	}
	// Back at rest, every process returns to about its count before the
	// first connect (a closing link or an idle connection may take a
	// moment to go).
	deadline := time.Now().Add(2 * time.Minute)
	for {
		s.res.IdleAfter = s.sample(ctx, time.Since(s.t0))
		s.res.Rest = s.atRest()
		if len(s.res.Rest) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Second)
	}
	for _, f := range s.res.Rest {
		t.Error(f)
	}
	if err := d.Stop(30 * time.Second); err != nil {
		t.Errorf("pexiad on SIGTERM: %v", err)
	}
	if got := netState(t, w); got != original {
		t.Errorf("after pexiad stopped the client host's network differs:\n%s", diff(original, got))
		s.res.Leaks = append(s.res.Leaks, "after pexiad stopped:\n"+diff(original, got))
	}

	s.res.Series = s.series()
	s.logSeries()
	for _, sr := range s.res.Series {
		if sr.Failure != "" {
			t.Errorf("%s: %s", sr.Name, sr.Failure)
		}
	}
}

// endFlows stops the flows, waits for them, and reports stuck ones and
// those that failed outside a disruption.
func (s *soak) endFlows() {
	t := s.t
	stuck := s.fl.stop(flowDeadline + 30*time.Second)
	s.res.Flows = s.fl.summary(s.windows)
	s.logFlows()
	for _, f := range stuck {
		t.Errorf("stuck flow: %s started at +%v has not returned %v after its deadline", f.Kind, f.Start.Round(time.Millisecond), 30*time.Second)
	}
	for _, f := range s.res.Flows.Stuck {
		t.Errorf("stuck flow: %s at +%v ran into its %v deadline: %s", f.Kind, f.Start, flowDeadline, f.Err)
	}
	for i, f := range s.res.Flows.Unexcused {
		if i == 20 {
			t.Errorf("… and %d more", len(s.res.Flows.Unexcused)-20)
			break
		}
		t.Errorf("flow failed outside any disruption: %s at +%v after %v: %s", f.Kind, f.Start, f.Took, f.Err)
	}
	if s.res.Flows.OK == 0 {
		t.Errorf("no flow succeeded")
	}
}

// soak is one run's state; its methods run on the test goroutine, apart
// from the flows.
type soak struct {
	t         *testing.T
	w         *world.World
	d         *world.Daemon
	cl        *api.Client
	dur, warm time.Duration
	t0        time.Time
	fl        *flows
	res       *soakResults
	restarts  int
	windows   []window // disruptions, for excusing failed flows
}

type window struct{ from, to time.Time }

// soakResults is what -soak.out holds.
type soakResults struct {
	Commit     string        `json:"commit,omitempty"`
	Duration   string        `json:"duration"`
	Warmup     string        `json:"warmup"`
	IdleBefore soakSample    `json:"idle_before"`
	Samples    []soakSample  `json:"samples"`
	IdleAfter  soakSample    `json:"idle_after"`
	Rest       []string      `json:"at_rest_failures,omitempty"`
	Series     []soakSeries  `json:"series"`
	Restarts   []soakRestart `json:"restarts"`
	Cycles     []soakCycle   `json:"cycles"`
	Flows      flowSummary   `json:"flows"`
	Leaks      []string      `json:"leaks,omitempty"`
}

// soakSample is one minute's reading.
type soakSample struct {
	AtS    int                   `json:"at_s"` // since traffic started; -1 before
	Pexiad procSample            `json:"pexiad"`
	Nodes  map[string]procSample `json:"nodes"`
	Flows  map[string]int        `json:"flows,omitempty"` // done so far, by outcome
	Errors []string              `json:"errors,omitempty"`
}

type procSample struct {
	PID        int `json:"pid"`
	RSSKiB     int `json:"rss_kib"`
	Goroutines int `json:"goroutines"`
	// HeapKiB is pexiad's Go heap in use (runtime.MemStats.HeapInuse).
	HeapKiB int `json:"heap_kib,omitempty"`
	// A node's open circuits, exit streams and links.
	Circuits int `json:"circuits,omitempty"`
	Streams  int `json:"streams,omitempty"`
	Links    int `json:"links,omitempty"`
}

// soakSeries is one curve with its verdict.
type soakSeries struct {
	Name    string `json:"name"`
	PID     int    `json:"pid"`
	Unit    string `json:"unit"`
	Samples int    `json:"samples"`
	Start   int    `json:"start"` // first sample after the warm-up
	Peak    int    `json:"peak"`
	End     int    `json:"end"`
	Values  []int  `json:"values"`
	// StartMedian and EndMedian are the medians of the first and the last
	// third of the samples after the warm-up (the growth rule's inputs).
	StartMedian int    `json:"start_median"`
	EndMedian   int    `json:"end_median"`
	Failure     string `json:"failure,omitempty"`
}

type soakRestart struct {
	AtS        int     `json:"at_s"`
	Node       string  `json:"node"`
	Position   int     `json:"position"` // in the circuit, 0 = entry
	RecoveredS float64 `json:"recovered_s"`
}

type soakCycle struct {
	AtS        int     `json:"at_s"`
	ReconnectS float64 `json:"reconnect_s"`
	Goroutines int     `json:"pexiad_goroutines_disconnected"`
	RSSKiB     int     `json:"pexiad_rss_kib_disconnected"`
	Leak       string  `json:"leak,omitempty"`
}

func (s *soak) write() {
	b, err := json.MarshalIndent(s.res, "", "  ")
	if err == nil {
		err = os.WriteFile(*soakOut, append(b, '\n'), 0o644)
	}
	if err != nil {
		s.t.Errorf("write %s: %v", *soakOut, err)
		return
	}
	abs, _ := filepath.Abs(*soakOut)
	s.t.Logf("results in %s", abs)
}

func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// nodeHosts lists the node hosts, relays first.
func (s *soak) nodeHosts() []*netlab.Host {
	return append(append([]*netlab.Host{}, s.w.Relays...), s.w.Exits...)
}

// sample reads pexiad's and every node's RSS and goroutines.
func (s *soak) sample(ctx context.Context, at time.Duration) soakSample {
	sm := soakSample{AtS: -1, Nodes: map[string]procSample{}}
	if at >= 0 {
		sm.AtS = int(at.Round(time.Second) / time.Second)
	}
	fail := func(err error) { sm.Errors = append(sm.Errors, err.Error()) }
	pid := s.d.Cmd.Process.Pid
	sm.Pexiad.PID = pid
	if rss, err := vmRSS(pid); err != nil {
		fail(err)
	} else {
		sm.Pexiad.RSSKiB = rss
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	rt, err := s.cl.Runtime(rctx)
	cancel()
	if err != nil {
		fail(fmt.Errorf("pexiad runtime: %w", err))
	}
	sm.Pexiad.Goroutines, sm.Pexiad.HeapKiB = rt.Goroutines, int(rt.HeapInuse>>10)
	for _, h := range s.nodeHosts() {
		p := procSample{PID: s.w.Nodes[h].Cmd.Process.Pid}
		if rss, err := vmRSS(p.PID); err != nil {
			fail(fmt.Errorf("%s: %w", h.Name(), err))
		} else {
			p.RSSKiB = rss
		}
		mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		m, err := s.w.NodeMetrics(mctx, h)
		cancel()
		if err != nil {
			fail(err)
		} else {
			p.Goroutines = int(metric(m, "go_goroutines"))
			p.Circuits = int(metric(m, "pexia_node_circuits_active"))
			p.Streams = int(metric(m, "pexia_node_streams_active"))
			p.Links = int(metric(m, "pexia_node_links_active"))
		}
		sm.Nodes[h.Name()] = p
	}
	if s.fl != nil {
		sm.Flows = s.fl.counts()
	}
	for _, e := range sm.Errors {
		s.t.Errorf("sample at +%ds: %s", sm.AtS, e)
	}
	return sm
}

func (s *soak) logSample(sm soakSample) {
	var b strings.Builder
	fmt.Fprintf(&b, "+%4ds pexiad %6d KiB %4d gor |", sm.AtS, sm.Pexiad.RSSKiB, sm.Pexiad.Goroutines)
	for _, h := range s.nodeHosts() {
		p := sm.Nodes[h.Name()]
		fmt.Fprintf(&b, " %s %d KiB %d gor c%d s%d |", h.Name(), p.RSSKiB, p.Goroutines, p.Circuits, p.Streams)
	}
	fmt.Fprintf(&b, " flows %v", sm.Flows)
	s.t.Log(b.String())
}

// vmRSS reads a process's resident set size in KiB.
func vmRSS(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("pid %d: VmRSS %q", pid, v)
			}
			return strconv.Atoi(f[0])
		}
	}
	return 0, fmt.Errorf("pid %d: no VmRSS in /proc/%d/status", pid, pid)
}

// waitState waits until pexiad reports want.
func (s *soak) waitState(ctx context.Context, want api.State, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var st api.Status
	var err error
	for {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err = s.cl.Status(sctx)
		cancel()
		if err == nil && st.State == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pexiad is %q (%s), not %q, %v after asking (%v)", st.State, st.Error, want, limit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// connect asks for a 3-hop circuit and waits until traffic goes out
// through an exit.
func (s *soak) connect(ctx context.Context) error {
	if _, err := s.cl.Connect(ctx, api.ConnectRequest{Hops: soakHops}); err != nil {
		return err
	}
	if err := s.waitState(ctx, api.StateConnected, 2*time.Minute); err != nil {
		return err
	}
	return s.waitSeenAs(ctx, "an exit", 2*time.Minute, func(h *netlab.Host) bool { return slices.Contains(s.w.Exits, h) })
}

// waitSeenAs waits until the internet host sees the client's requests
// come from a host that ok accepts.
func (s *soak) waitSeenAs(ctx context.Context, what string, limit time.Duration, ok func(*netlab.Host) bool) error {
	deadline := time.Now().Add(limit)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: s.w.Client.Dialer().DialContext, DisableKeepAlives: true}}
	var last string
	for {
		resp, err := hc.Get("http://" + world.Web4.String() + "/ip")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = string(b)
			if h := hostOf(s.w, last); h != nil && ok(h) {
				return nil
			}
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the internet host did not see the client as %s within %v (last: %s)", what, limit, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// restartRelay kills a node of the live circuit (entry, middle and exit
// in turn, the middle first) and starts it again; the client must notice,
// build a new circuit and carry traffic again.
func (s *soak) restartRelay(ctx context.Context) error {
	if err := s.waitState(ctx, api.StateConnected, 2*time.Minute); err != nil {
		return fmt.Errorf("before a restart: %w", err)
	}
	c, err := s.cl.Circuit(ctx)
	if err != nil {
		return err
	}
	pos := []int{1, 0, 2}[s.restarts%3]
	s.restarts++
	h := hostOf(s.w, c.Hops[pos].Host)
	if h == nil {
		return fmt.Errorf("hop %d at %s is no host of the world", pos, c.Hops[pos].Host)
	}
	t0 := time.Now()
	s.windows = append(s.windows, window{from: t0})
	s.w.Nodes[h].Kill()
	if err := s.w.RestartNode(ctx, h); err != nil {
		return fmt.Errorf("restart %s: %w", h.Name(), err)
	}
	// A new circuit, connected, carrying traffic.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		n, err := s.cl.Circuit(ctx)
		if err == nil && n.BuiltAt.After(c.BuiltAt) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no new circuit 2 min after %s (hop %d) was killed: %v", h.Name(), pos, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := s.waitState(ctx, api.StateConnected, 2*time.Minute); err != nil {
		return fmt.Errorf("after killing %s: %w", h.Name(), err)
	}
	if err := s.waitSeenAs(ctx, "an exit", 2*time.Minute, func(h *netlab.Host) bool { return slices.Contains(s.w.Exits, h) }); err != nil {
		return fmt.Errorf("after killing %s: %w", h.Name(), err)
	}
	took := time.Since(t0)
	s.windows[len(s.windows)-1].to = time.Now()
	s.res.Restarts = append(s.res.Restarts, soakRestart{AtS: int(t0.Sub(s.t0) / time.Second), Node: h.Name(), Position: pos, RecoveredS: took.Seconds()})
	s.t.Logf("+%ds restarted %s (hop %d of the circuit): traffic through a new circuit %v later",
		int(t0.Sub(s.t0)/time.Second), h.Name(), pos, took.Round(time.Millisecond))
	return nil
}

// cycle disconnects, checks that the client host is as it was before the
// first connect and that traffic goes out directly, and connects again.
func (s *soak) cycle(ctx context.Context, original string) error {
	t0 := time.Now()
	s.windows = append(s.windows, window{from: t0})
	if _, err := s.cl.Disconnect(ctx); err != nil {
		return err
	}
	if err := s.waitState(ctx, api.StateDisconnected, 30*time.Second); err != nil {
		return err
	}
	c := soakCycle{AtS: int(t0.Sub(s.t0) / time.Second)}
	if got := netState(s.t, s.w); got != original {
		c.Leak = diff(original, got)
		s.t.Errorf("disconnect at +%ds left the client host's network changed:\n%s", c.AtS, c.Leak)
	}
	if err := s.waitSeenAs(ctx, "itself", time.Minute, func(h *netlab.Host) bool { return h == s.w.Client }); err != nil {
		return fmt.Errorf("disconnected: %w", err)
	}
	// Disconnected, pexiad is back to about its goroutines before the
	// first connect (the session's last ones end a moment after).
	rest := s.res.IdleBefore.Pexiad.Goroutines + restGoroutineMax
	deadline := time.Now().Add(20 * time.Second)
	for {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		rt, err := s.cl.Runtime(rctx)
		cancel()
		if err != nil {
			return err
		}
		c.Goroutines = rt.Goroutines
		if c.Goroutines <= rest || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if c.Goroutines > rest {
		s.t.Errorf("pexiad disconnected at +%ds: %d goroutines 20 s after the disconnect, %d before the first connect",
			c.AtS, c.Goroutines, s.res.IdleBefore.Pexiad.Goroutines)
	}
	c.RSSKiB, _ = vmRSS(s.d.Cmd.Process.Pid)
	t1 := time.Now()
	if err := s.connect(ctx); err != nil {
		return fmt.Errorf("reconnect: %w", err)
	}
	c.ReconnectS = time.Since(t1).Seconds()
	s.windows[len(s.windows)-1].to = time.Now()
	s.res.Cycles = append(s.res.Cycles, c)
	s.t.Logf("+%ds disconnected (pexiad %d goroutines, %d KiB) and connected again in %v", c.AtS, c.Goroutines, c.RSSKiB,
		time.Duration(c.ReconnectS*float64(time.Second)).Round(time.Millisecond))
	return nil
}

// metric sums the samples of one metric over its label sets.
func metric(m map[string]float64, name string) float64 {
	var sum float64
	for k, v := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			sum += v
		}
	}
	return sum
}

// waitNodes waits until every node's metrics satisfy ok.
func (s *soak) waitNodes(ctx context.Context, what string, limit time.Duration, ok func(map[string]float64) bool) error {
	deadline := time.Now().Add(limit)
	for {
		var bad []string
		for _, h := range s.nodeHosts() {
			mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			m, err := s.w.NodeMetrics(mctx, h)
			cancel()
			if err != nil {
				bad = append(bad, err.Error())
				continue
			}
			if !ok(m) {
				bad = append(bad, fmt.Sprintf("%s: %v circuits, %v streams, %v links", h.Name(),
					metric(m, "pexia_node_circuits_active"), metric(m, "pexia_node_streams_active"), metric(m, "pexia_node_links_active")))
			}
		}
		if len(bad) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %v: %s", what, limit, strings.Join(bad, "; "))
		}
		time.Sleep(time.Second)
	}
}

// series turns the samples into curves, one per process (a restarted node
// starts a new one), and judges each.
func (s *soak) series() []soakSeries {
	type key struct {
		name string
		pid  int
	}
	var order []key
	ats, vals := map[key][]int{}, map[key][]int{}
	add := func(name string, pid, at, val int) {
		k := key{name, pid}
		if _, ok := ats[k]; !ok {
			order = append(order, k)
		}
		ats[k], vals[k] = append(ats[k], at), append(vals[k], val)
	}
	for _, sm := range s.res.Samples {
		add("pexiad goroutines", sm.Pexiad.PID, sm.AtS, sm.Pexiad.Goroutines)
		add("pexiad rss", sm.Pexiad.PID, sm.AtS, sm.Pexiad.RSSKiB)
		add("pexiad heap", sm.Pexiad.PID, sm.AtS, sm.Pexiad.HeapKiB)
		for _, h := range s.nodeHosts() {
			p := sm.Nodes[h.Name()]
			add(h.Name()+" goroutines", p.PID, sm.AtS, p.Goroutines)
			add(h.Name()+" rss", p.PID, sm.AtS, p.RSSKiB)
		}
	}
	var out []soakSeries
	for _, k := range order {
		out = append(out, judgeSeries(k.name, k.pid, ats[k], vals[k], int(s.warm/time.Second)))
	}
	return out
}

// judgeSeries applies the flatness rules to one process's curve: values
// sampled at ats (seconds), the first warm seconds from its first sample
// being its warm-up (a node started again mid-run warms up again).
func judgeSeries(name string, pid int, ats, vals []int, warm int) soakSeries {
	sr := soakSeries{Name: name, PID: pid, Unit: "goroutines", Samples: len(vals), Values: vals}
	slack := goroutineSlack
	if !strings.HasSuffix(name, " goroutines") {
		sr.Unit, slack = "KiB", rssSlackKiB
	}
	var judged []int
	for i, v := range vals {
		sr.Peak = max(sr.Peak, v)
		if ats[i]-ats[0] >= warm {
			judged = append(judged, v)
		}
	}
	if len(judged) == 0 {
		sr.Start, sr.End = vals[0], vals[len(vals)-1]
		return sr
	}
	sr.Start, sr.End = judged[0], judged[len(judged)-1]
	third := (len(judged) + 2) / 3
	sr.StartMedian, sr.EndMedian = median(judged[:third]), median(judged[len(judged)-third:])
	var fails []string
	if strings.HasPrefix(name, "pexiad") && len(judged) >= 2 && float64(sr.EndMedian) > growthFactor*float64(sr.StartMedian)+float64(slack) {
		fails = append(fails, fmt.Sprintf("grew from a median of %d to %d %s after the warm-up (limit %.1f × start + %d)",
			sr.StartMedian, sr.EndMedian, sr.Unit, growthFactor, slack))
	}
	if n, rise := risingRun(judged, slack/2); n > 0 {
		fails = append(fails, fmt.Sprintf("rose at each of %d samples in a row, by %d %s (%v)", n, rise, sr.Unit, judged))
	}
	sr.Failure = strings.Join(fails, "; ")
	return sr
}

// median is the middle value of v (the lower of the two middle ones).
func median(v []int) int {
	c := slices.Clone(v)
	slices.Sort(c)
	return c[(len(c)-1)/2]
}

// atRest compares the goroutines of pexiad and every node at rest after
// the final disconnect with their counts before the first connect.
func (s *soak) atRest() []string {
	var out []string
	before, after := s.res.IdleBefore, s.res.IdleAfter
	check := func(what string, got, was int) {
		if got > was+restGoroutineMax {
			out = append(out, fmt.Sprintf("%s at rest after the soak: %d goroutines, %d before the first connect", what, got, was))
		}
	}
	check("pexiad", after.Pexiad.Goroutines, before.Pexiad.Goroutines)
	for _, h := range s.nodeHosts() {
		p := after.Nodes[h.Name()]
		check(fmt.Sprintf("%s (pid %d)", h.Name(), p.PID), p.Goroutines, before.Nodes[h.Name()].Goroutines)
	}
	return out
}

// risingRun finds a run of at least monotonicMin values, each above the
// one before, that rose by more than minRise in all to a new high (above
// every value before the run) and that no later value undoes (none falls
// below the run's start plus half its rise); it returns the longest such
// run's length and rise, or 0, 0.
func risingRun(v []int, minRise int) (n, rise int) {
	from := 0
	for i := 1; i <= len(v); i++ {
		if i < len(v) && v[i] > v[i-1] {
			continue
		}
		// v[from:i] rises at every step.
		l, r := i-from, v[i-1]-v[from]
		if l >= monotonicMin && r > minRise && l > n && (from == 0 || v[i-1] > slices.Max(v[:from])) &&
			(i == len(v) || slices.Min(v[i:]) >= v[from]+r/2) {
			n, rise = l, r
		}
		from = i
	}
	return n, rise
}

func (s *soak) logSeries() {
	var b strings.Builder
	fmt.Fprintf(&b, "%-18s %7s %8s %8s %8s %8s %8s %7s  %s\n", "series", "pid", "start", "peak", "end", "med1/3", "med3/3", "samples", "verdict")
	for _, sr := range s.res.Series {
		v := "flat"
		if sr.Failure != "" {
			v = "FAIL: " + sr.Failure
		}
		fmt.Fprintf(&b, "%-18s %7d %8d %8d %8d %8d %8d %7d  %s\n", sr.Name, sr.PID, sr.Start, sr.Peak, sr.End, sr.StartMedian, sr.EndMedian, sr.Samples, v)
	}
	fmt.Fprintf(&b, "at rest: pexiad %d goroutines before the first connect, %d after the last disconnect;", s.res.IdleBefore.Pexiad.Goroutines, s.res.IdleAfter.Pexiad.Goroutines)
	for _, h := range s.nodeHosts() {
		fmt.Fprintf(&b, " %s %d → %d", h.Name(), s.res.IdleBefore.Nodes[h.Name()].Goroutines, s.res.IdleAfter.Nodes[h.Name()].Goroutines)
	}
	b.WriteString("\n")
	for _, r := range s.res.Restarts {
		fmt.Fprintf(&b, "restart +%ds %s (hop %d): recovered in %.1f s\n", r.AtS, r.Node, r.Position, r.RecoveredS)
	}
	for _, c := range s.res.Cycles {
		fmt.Fprintf(&b, "reconnect +%ds: %d goroutines and %d KiB while disconnected, connected again in %.1f s\n", c.AtS, c.Goroutines, c.RSSKiB, c.ReconnectS)
	}
	s.t.Log("curves (start = first sample after the warm-up):\n" + b.String())
}

func (s *soak) logFlows() {
	f := s.res.Flows
	s.t.Logf("flows: %d ok, %d failed during a disruption, %d failed outside one, %d stuck; by kind %v", f.OK, f.Excused, len(f.Unexcused), len(f.Stuck), f.ByKind)
}

// serveTCPEcho echoes every TCP connection to port on host h (every
// address), each for at most two minutes, until the test ends.
func serveTCPEcho(t *testing.T, h *netlab.Host, port int) {
	ln, err := h.Listen("tcp", fmt.Sprintf(":%d", port))
	if err != nil {
		t.Fatal(err)
	}
	testutil.Serve(t, ln, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(2 * time.Minute))
		testutil.ServeEcho(c)
	})
}

// flows runs the traffic: workers each opening one flow after another.
type flows struct {
	w      *world.World
	t0     time.Time
	digest [32]byte

	stopc chan struct{}
	wg    sync.WaitGroup

	mu       sync.Mutex
	done     []flowResult
	inflight map[int]flowResult
	nextID   int
}

type flowResult struct {
	Kind  string        `json:"kind"`
	Start time.Duration `json:"-"` // since traffic started
	Took  time.Duration `json:"-"`
	Err   string        `json:"error,omitempty"`
	// StartS and TookS are Start and Took in seconds, for the file.
	StartS float64 `json:"start_s"`
	TookS  float64 `json:"took_s"`
	stuck  bool
	at     time.Time
}

type flowSummary struct {
	OK        int                       `json:"ok"`
	Excused   int                       `json:"failed_during_disruption"`
	Unexcused []flowResult              `json:"failed_outside_disruption"`
	Stuck     []flowResult              `json:"stuck"`
	ByKind    map[string]map[string]int `json:"by_kind"`
}

var flowKinds = []string{"tcp4", "http", "dns-udp", "tcp6", "udp4", "dns-tcp", "udp6"}

func (f *flows) start(workers int) {
	f.stopc = make(chan struct{})
	f.inflight = map[int]flowResult{}
	for i := 0; i < workers; i++ {
		f.wg.Add(1)
		go func(i int) {
			defer f.wg.Done()
			for n := i; ; n += workers {
				select {
				case <-f.stopc:
					return
				default:
				}
				f.one(flowKinds[n%len(flowKinds)])
				// Pacing, not synchronisation: flows keep coming
				// without taking both cores.
				select {
				case <-f.stopc:
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		}(i)
	}
}

// stop ends the workers and waits up to limit for the flows in flight;
// it returns those that did not return.
func (f *flows) stop(limit time.Duration) []flowResult {
	close(f.stopc)
	done := make(chan struct{})
	go func() {
		f.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-time.After(limit):
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []flowResult
	for _, r := range f.inflight {
		out = append(out, r)
	}
	return out
}

func (f *flows) one(kind string) {
	at := time.Now()
	r := flowResult{Kind: kind, Start: at.Sub(f.t0).Round(time.Millisecond), at: at}
	f.mu.Lock()
	id := f.nextID
	f.nextID++
	f.inflight[id] = r
	f.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), flowDeadline)
	err := f.run(ctx, kind)
	if err != nil {
		r.Err = err.Error()
		// Stuck: the flow's own deadline ended it (the TCP flows set it
		// on their connections; UDP tries have short deadlines of their
		// own, and running out of tries is a failure, not a hang).
		r.stuck = ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) && (kind == "tcp4" || kind == "tcp6" || kind == "dns-tcp")
	}
	cancel()
	r.Took = time.Since(at).Round(time.Millisecond)
	r.StartS, r.TookS = r.Start.Seconds(), r.Took.Seconds()
	f.mu.Lock()
	delete(f.inflight, id)
	f.done = append(f.done, r)
	f.mu.Unlock()
}

func (f *flows) run(ctx context.Context, kind string) error {
	switch kind {
	case "tcp4":
		return f.tcpEcho(ctx, fmt.Sprintf("%s:%d", world.Web4, echoPort))
	case "tcp6":
		return f.tcpEcho(ctx, fmt.Sprintf("[%s]:%d", world.Web6, echoPort))
	case "http":
		return f.http(ctx)
	case "dns-udp":
		return f.dns(ctx, "udp", net.JoinHostPort(world.Web4.String(), "53"))
	case "dns-tcp":
		return f.dns(ctx, "tcp", net.JoinHostPort(world.Web6.String(), "53"))
	case "udp4":
		return f.udpEcho(ctx, fmt.Sprintf("%s:%d", world.Web4, world.EchoPort))
	case "udp6":
		return f.udpEcho(ctx, fmt.Sprintf("[%s]:%d", world.Web6, world.EchoPort))
	}
	return fmt.Errorf("unknown flow kind %q", kind)
}

// tcpEcho sends echoBytes of random data and reads them back, both
// directions at once.
func (f *flows) tcpEcho(ctx context.Context, addr string) error {
	conn, err := f.w.Client.Dialer().DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	conn.SetDeadline(dl)
	msg := make([]byte, echoBytes)
	rand.Read(msg)
	werr := make(chan error, 1)
	go func() {
		_, err := conn.Write(msg)
		werr <- err
	}()
	got := make([]byte, len(msg))
	n, err := io.ReadFull(conn, got)
	if err != nil {
		conn.Close()
		<-werr
		return fmt.Errorf("read back %d of %d bytes: %w", n, len(msg), err)
	}
	if err := <-werr; err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if !bytes.Equal(got, msg) {
		return errors.New("the echo differs from what was sent")
	}
	return nil
}

// http downloads httpBytes and checks their digest.
func (f *flows) http(ctx context.Context) error {
	hc := &http.Client{Transport: &http.Transport{DialContext: f.w.Client.Dialer().DialContext, DisableKeepAlives: true}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/bytes/%d", world.Web4, httpBytes), nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil {
		return fmt.Errorf("body after %d bytes: %w", n, err)
	}
	if resp.StatusCode != http.StatusOK || n != httpBytes || [32]byte(h.Sum(nil)) != f.digest {
		return fmt.Errorf("%s, %d bytes, digest %x", resp.Status, n, h.Sum(nil))
	}
	return nil
}

// dns asks for world.WebName's A record (UDP: up to 3 tries).
func (f *flows) dns(ctx context.Context, network, server string) error {
	var last error
	for try := 0; try < 3; try++ {
		conn, err := f.w.Client.Dialer().DialContext(ctx, network, server)
		if err != nil {
			return fmt.Errorf("dial: %w", err)
		}
		dl, _ := ctx.Deadline()
		if network == "udp" {
			dl = time.Now().Add(3 * time.Second)
		}
		conn.SetDeadline(dl)
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(world.WebName), dns.TypeA)
		dc := &dns.Conn{Conn: conn}
		err = dc.WriteMsg(m)
		var r *dns.Msg
		if err == nil {
			r, err = dc.ReadMsg()
		}
		conn.Close()
		if err == nil {
			if len(r.Answer) != 1 {
				return fmt.Errorf("answer %v", r.Answer)
			}
			if a, ok := r.Answer[0].(*dns.A); !ok || a.A.String() != world.Web4.String() {
				return fmt.Errorf("answer %v, want %s", r.Answer, world.Web4)
			}
			return nil
		}
		last = err
		if network != "udp" {
			break
		}
	}
	return last
}

// udpEcho sends three datagrams, each retried up to three times, and
// wants each echoed.
func (f *flows) udpEcho(ctx context.Context, addr string) error {
	conn, err := f.w.Client.Dialer().DialContext(ctx, "udp", addr)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	got := make([]byte, 2048)
	for i := 0; i < 3; i++ {
		msg := make([]byte, 200+i*400)
		rand.Read(msg)
		ok := false
		for try := 0; try < 3 && !ok; try++ {
			if _, err := conn.Write(msg); err != nil {
				return fmt.Errorf("write: %w", err)
			}
			conn.SetReadDeadline(time.Now().Add(3 * time.Second))
			for {
				n, err := conn.Read(got)
				if err != nil {
					break
				}
				if bytes.Equal(got[:n], msg) {
					ok = true
					break
				}
				// An echo of an earlier try: read on.
			}
		}
		if !ok {
			return fmt.Errorf("datagram %d: no echo after 3 tries", i+1)
		}
	}
	return nil
}

// counts tallies the finished flows by outcome.
func (f *flows) counts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{"ok": 0, "failed": 0}
	for _, r := range f.done {
		if r.Err == "" {
			out["ok"]++
		} else {
			out["failed"]++
		}
	}
	return out
}

// summary sorts the finished flows: ok, failed during a disruption
// (windows, widened by excuseMargin), failed outside one, stuck.
func (f *flows) summary(windows []window) flowSummary {
	f.mu.Lock()
	defer f.mu.Unlock()
	sm := flowSummary{ByKind: map[string]map[string]int{}}
	for _, r := range f.done {
		k := sm.ByKind[r.Kind]
		if k == nil {
			k = map[string]int{}
			sm.ByKind[r.Kind] = k
		}
		switch {
		case r.Err == "":
			sm.OK++
			k["ok"]++
		case r.stuck:
			sm.Stuck = append(sm.Stuck, r)
			k["stuck"]++
		case overlaps(r, windows):
			sm.Excused++
			k["failed_during_disruption"]++
		default:
			sm.Unexcused = append(sm.Unexcused, r)
			k["failed"]++
		}
	}
	return sm
}

func overlaps(r flowResult, windows []window) bool {
	from, to := r.at, r.at.Add(r.Took)
	for _, w := range windows {
		wt := w.to
		if wt.IsZero() {
			wt = time.Now()
		}
		if from.Before(wt.Add(excuseMargin)) && to.After(w.from.Add(-excuseMargin)) {
			return true
		}
	}
	return false
}

// TestSoakRules checks the flatness rules on made-up curves, without a
// world: make soak's verdicts rest on them.
func TestSoakRules(t *testing.T) {
	minutes := func(n int) []int {
		ats := make([]int, n)
		for i := range ats {
			ats[i] = 60 * i
		}
		return ats
	}
	leak := make([]int, 20)
	for i := range leak {
		leak[i] = 600 + 40*i
		if i%3 == 2 {
			leak[i] -= 300 // a sample soon after a restart
		}
	}
	for _, tc := range []struct {
		name string
		vals []int
		fail string
	}{
		{"pexiad goroutines", []int{49, 680, 350, 700, 650, 720, 360, 690, 700, 710, 640, 380, 705}, ""},
		{"pexiad goroutines", leak, "grew from a median of"},
		{"pexiad rss", []int{34000, 87000, 85000, 94000, 100000, 98000, 99000, 101000, 97000}, ""},
		{"pexiad rss", []int{34000, 87000, 95000, 103000, 111000, 119000, 127000, 126000}, "rose at each of 6 samples in a row, by 40000 KiB"},
		{"exit0 goroutines", []int{18, 948, 16, 16, 1086, 996, 16, 70, 902}, ""},
		{"relay0 goroutines", []int{16, 16, 20, 25, 31, 38, 46, 45}, "rose at each of 6 samples in a row, by 30 goroutines"},
		{"relay0 goroutines", []int{16, 17, 18, 19, 20, 21, 22}, ""}, // rises, but by less than half the slack
		// From a 20-minute run: RSS rose after a quiet stretch, but not
		// above where it had been.
		{"pexiad rss", []int{34620, 85544, 80092, 88240, 97252, 89572, 92960, 98660, 88672, 90996, 89248, 77088, 70136, 53052, 53236, 52736, 52176, 55368, 57736, 58716, 60476}, ""},
		// From the same run: a busy stretch, then the memory came back.
		{"relay1 rss", []int{28160, 28996, 37980, 33452, 33876, 33240, 40052, 40744, 41048, 48208, 48332, 39256, 35620, 35744, 35360, 36868, 37580, 38156, 35740, 36612, 36376}, ""},
		// A rise to a new high that stays: a leak even though later samples dip a little.
		{"relay0 rss", []int{30000, 31000, 30000, 40000, 50000, 60000, 70000, 80000, 78000, 79000}, "rose at each of 6 samples in a row"},
		{"pexiad goroutines", []int{9, 600, 590, 610}, ""}, // the warm-up is not judged
	} {
		sr := judgeSeries(tc.name, 1, minutes(len(tc.vals)), tc.vals, 60)
		if tc.fail == "" && sr.Failure != "" || !strings.Contains(sr.Failure, tc.fail) {
			t.Errorf("%s %v: failure %q, want %q", tc.name, tc.vals, sr.Failure, tc.fail)
		}
	}
	if sr := judgeSeries("pexiad goroutines", 1, minutes(4), []int{9, 600, 590, 610}, 60); sr.Start != 600 || sr.Peak != 610 || sr.End != 610 {
		t.Errorf("start, peak, end %d, %d, %d; want 600, 610, 610", sr.Start, sr.Peak, sr.End)
	}
}
