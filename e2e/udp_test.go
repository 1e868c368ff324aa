//go:build e2e

package e2e

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/netlab"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/internal/world"
)

// udpFloodFor is how long TestUDPFlood floods the circuit.
var udpFloodFor = flag.Duration("udp.flood", 30*time.Second, "how long TestUDPFlood sends at twice the circuit's UDP capacity")

const (
	// udpStep is how long each rate of a capacity ramp is sent.
	udpStep = 2 * time.Second
	// udpStartMbps is a capacity ramp's first rate.
	udpStartMbps = 8
	// tcpFor is how long each TCP download of TestUDPFlood runs.
	tcpFor = 8 * time.Second
	// rttRecovery is how soon after a flood the round trip must be back
	// to its idle value.
	rttRecovery = 2 * time.Second
)

// TestUDPFlood floods a 3-hop circuit from the client host with UDP at
// twice the UDP rate it carries (measured first) for -udp.flood (30 s by
// default), and checks what a user would: the circuit stays (the same
// circuit, no circuit or state event meanwhile); a TCP download on it
// during the flood gets at least half of what it gets alone; the status
// reports the flood's loss, and its counters agree with what the receiver
// counted; once the flood stops, a UDP echo's round trip is back to its
// idle value within 2 s.
func TestUDPFlood(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	d, err := w.StartDaemon(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	cl := api.NewClient(d.Socket)
	defer cl.Close()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	connect(t, cl, 3)
	capacity := udpCapacity(t, rctx, w, netlab.UDPUp, 3)
	// The exits count what they drop when a flow ends: the flood gets a
	// fresh circuit, whose exit's counts are read before and after it.
	disconnect(t, cl)
	drops0 := exitDrops(t, w)
	before := connect(t, cl, 3)

	// What TCP and the round trip are without a flood.
	alone, err := netlab.Download(rctx, w.Client, w.Internet, world.Web4, tcpFor)
	if err != nil {
		t.Fatal(err)
	}
	pr := startProber(t, w)
	defer pr.stop()
	idleFrom := time.Now()
	testutil.WaitFor(t, "idle round trips", time.Minute, func() bool { return len(pr.since(idleFrom)) >= 100 })
	idle := pr.since(idleFrom)
	idleMed, idleLost := rttStats(idle)
	t.Logf("alone: TCP download %.1f Mbit/s; UDP echo round trip median %v over %d probes (%d lost)", alone, idleMed, len(idle), idleLost)

	// Watch for a rebuild: any circuit event, or a state other than
	// connected, from now on.
	ectx, ecancel := context.WithCancel(rctx)
	defer ecancel()
	events, err := cl.Events(ectx)
	if err != nil {
		t.Fatal(err)
	}
	var (
		evMu   sync.Mutex
		badEvs []string
	)
	evDone := make(chan struct{})
	go func() {
		defer close(evDone)
		for ev := range events {
			switch {
			case ev.Type == api.EventCircuit:
				b, _ := json.Marshal(ev.Circuit)
				evMu.Lock()
				badEvs = append(badEvs, fmt.Sprintf("%s circuit event %s", ev.Time.Format(time.StampMilli), b))
				evMu.Unlock()
			case ev.Type == api.EventState && ev.State.State != api.StateConnected:
				evMu.Lock()
				badEvs = append(badEvs, fmt.Sprintf("%s state %s (%s)", ev.Time.Format(time.StampMilli), ev.State.State, ev.State.Error))
				evMu.Unlock()
			}
		}
	}()
	tun0 := tunStats(t, w)
	hosts := []*netlab.Host{w.Client, hostOf(w, before.Hops[len(before.Hops)-1].Host), w.Internet}
	snmp0 := udpSNMPs(t, hosts)

	floodMbps := 2 * capacity
	flood, err := netlab.StartUDP(rctx, w.Client, w.Internet, world.Web4, netlab.UDPOptions{Dir: netlab.UDPUp, Mbps: floodMbps, Duration: *udpFloodFor})
	if err != nil {
		t.Fatal(err)
	}
	dst := flood.Server().String()
	// The flood is at full strength once its flow drops.
	var f api.UDPFlow
	testutil.WaitFor(t, "the flood's flow to drop datagrams", 30*time.Second, func() bool {
		f, _ = udpFlow(t, cl, dst)
		return f.DroppedUp > 0
	})
	floodStart := time.Now()
	during, err := netlab.Download(rctx, w.Client, w.Internet, world.Web4, tcpFor)
	if err != nil {
		t.Fatalf("TCP download during the flood: %v", err)
	}
	tcpEnd := time.Now()
	res, err := flood.Wait()
	if err != nil {
		t.Fatal(err)
	}
	// Round trips until well after the flood.
	testutil.WaitFor(t, "round trips after the flood", time.Minute, func() bool {
		return len(pr.since(res.SendEnd.Add(rttRecovery+2*time.Second))) > 0
	})
	probes := pr.stop()
	f = udpFlowTo(t, cl, dst)
	tun1 := tunStats(t, w)
	snmp1 := udpSNMPs(t, hosts)
	after, err := cl.Circuit(rctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := cl.Status(rctx)
	if err != nil {
		t.Fatal(err)
	}
	ecancel()
	<-evDone
	disconnect(t, cl)
	drops1 := exitDrops(t, w)
	exitFwd := drops1.forward - drops0.forward

	share := during / alone
	t.Logf("flood: %v", res)
	t.Logf("status: flood flow sent %d into the circuit, dropped %d (%.1f %% of what it got), received %d, dropped down %d",
		f.Sent, f.DroppedUp, 100*float64(f.DroppedUp)/float64(max(1, f.Sent+f.DroppedUp)), f.Received, f.DroppedDown)
	t.Logf("exits: %d datagrams from the client dropped on the way to their destination, %d on the way back (all flows of the circuit)", exitFwd, drops1.back-drops0.back)
	t.Logf("TUN %s: %d packets to pexiad dropped by the device and %d by its queueing discipline during the flood", pexiaTUN, tun1.TxDropped-tun0.TxDropped, tun1.QdiscDrops-tun0.QdiscDrops)
	for i, h := range hosts {
		t.Logf("%s's kernel: %d UDP datagrams dropped for a full receive buffer, %d for a full send buffer", h.Name(),
			snmp1[i].RcvbufErrors-snmp0[i].RcvbufErrors, snmp1[i].SndbufErrors-snmp0[i].SndbufErrors)
	}
	t.Logf("TCP download: %.1f Mbit/s alone, %.1f Mbit/s during the flood (%.0f Mbit/s offered, %.2f × capacity %.1f Mbit/s): share %.2f (from %v to %v after the flood's start)",
		alone, during, floodMbps, floodMbps/capacity, capacity, share, floodStart.Sub(res.SendStart).Round(time.Millisecond), tcpEnd.Sub(res.SendStart).Round(time.Millisecond))
	flooded := probesBetween(probes, floodStart, res.SendEnd)
	fMed, fLost := rttStats(flooded)
	t.Logf("UDP echo during the flood: median %v over %d probes, %d lost", fMed, len(flooded), fLost)
	rec, recErr := recovery(probes, res.SendEnd, idleMed)
	t.Logf("round trip back within %v of idle (%v) %v after the flood's last datagram", rttTolerance(idleMed), idleMed, rec.Round(time.Millisecond))
	logProbes(t, probes, res.SendEnd)

	// The circuit stayed: the same one, never replaced or disconnected.
	if !after.BuiltAt.Equal(before.BuiltAt) || !slices.EqualFunc(after.Hops, before.Hops, func(a, b api.Hop) bool { return a.Host == b.Host && a.Address == b.Address }) {
		t.Errorf("circuit rebuilt under the flood: built %v with %v, now built %v with %v", before.BuiltAt, before.Hops, after.BuiltAt, after.Hops)
	}
	if len(badEvs) > 0 {
		t.Errorf("events during the flood: %v", badEvs)
	}
	if st.State != api.StateConnected {
		t.Errorf("state %s after the flood (%s)", st.State, st.Error)
	}
	// The flood's loss is in the status and matches the receiver. Every
	// datagram the flow sent into the circuit is carried reliably to the
	// exit, which drops it only when the flow's queue there is full (a
	// burst the exit cannot write out at once, counted by the exit) and
	// otherwise writes it to a socket on an idle veth, where the kernels'
	// counters show no loss. So what the receiver misses of what the
	// status says was sent is what the exit counted, to within 0.1 % (the
	// prober's flow and the TCP streams share the exit's counts but drop
	// nothing at their rates). What the app wrote and neither reached the flow nor was
	// dropped by it, nor by the client's kernel on the way to pexiad
	// (the TUN device, its queueing discipline, a full send buffer: all
	// counted by the kernel), is loss that no counter shows: at most 1 %
	// of the flood.
	if f.DroppedUp == 0 {
		t.Errorf("status shows no drop for the flood's flow %s: %+v", dst, f)
	}
	if got, want := res.Received+exitFwd, f.Sent; res.Received > f.Sent || math.Abs(float64(got)-float64(want)) > 0.001*float64(want) {
		t.Errorf("receiver counted %d datagrams and the exit dropped %d, status says %d entered the circuit: want the sum within 0.1 %% of that", res.Received, exitFwd, f.Sent)
	}
	// The device's counts are of every flow's packets (the prober's, the
	// download's acknowledgements), so they bound the flood's share of
	// them from above.
	kernelDrops := tun1.TxDropped - tun0.TxDropped + tun1.QdiscDrops - tun0.QdiscDrops + snmp1[0].SndbufErrors - snmp0[0].SndbufErrors
	if took := f.Sent + f.DroppedUp; took > res.Sent || float64(res.Sent)-float64(took+kernelDrops) > 0.01*float64(res.Sent) {
		t.Errorf("the app wrote %d datagrams; the flow took %d and dropped %d, the client's kernel dropped %d: %d unaccounted for (want at most 1 %%)",
			res.Sent, f.Sent, f.DroppedUp, kernelDrops, int64(res.Sent)-int64(took+kernelDrops))
	}
	if recErr != nil {
		t.Errorf("round trip after the flood: %v", recErr)
	} else if rec > rttRecovery {
		t.Errorf("round trip back to idle (%v) only %v after the flood, want within %v", idleMed, rec.Round(time.Millisecond), rttRecovery)
	}
	// The download keeps at least half of what it gets alone: the
	// datagram flows get a third of the cells while a tcp stream has data,
	// counting the DATA coming down (hop/stream's two classes), where
	// equal turns would give it half at best.
	if share < 0.5 {
		t.Errorf("TCP download during the flood got %.1f Mbit/s, %.2f of %.1f Mbit/s alone; want at least half", during, share, alone)
	}
}

// TestUDPHalfCapacity sends UDP at half the rate the circuit carries,
// each way, over 1 and 3 hops, for 10 s: at most 1 % is lost.
func TestUDPHalfCapacity(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	d, err := w.StartDaemon(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	cl := api.NewClient(d.Socket)
	defer cl.Close()
	for _, hops := range []int{1, 3} {
		t.Run(fmt.Sprintf("%dhop", hops), func(t *testing.T) {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
			defer cancel()
			dirs := []netlab.UDPDirection{netlab.UDPUp, netlab.UDPDown}
			ramp0 := exitDrops(t, w)
			connect(t, cl, hops)
			capacity := map[netlab.UDPDirection]float64{}
			for _, dir := range dirs {
				capacity[dir] = udpCapacity(t, rctx, w, dir, hops)
			}
			// A fresh circuit, so that what its exit counts is the
			// runs' own (an exit counts drops when a flow ends).
			disconnect(t, cl)
			drops0 := exitDrops(t, w)
			t.Logf("%d hops: during the capacity ramps the exit dropped %d datagrams on their way to the destination, %d on their way back",
				hops, drops0.forward-ramp0.forward, drops0.back-ramp0.back)
			c := connect(t, cl, hops)
			exit := hostOf(w, c.Hops[len(c.Hops)-1].Host)
			hosts := []*netlab.Host{w.Client, exit, w.Internet}
			results := map[netlab.UDPDirection]netlab.UDPResult{}
			for _, dir := range dirs {
				tun0 := tunStats(t, w)
				snmp0 := udpSNMPs(t, hosts)
				run, err := netlab.StartUDP(rctx, w.Client, w.Internet, world.Web4, netlab.UDPOptions{Dir: dir, Mbps: capacity[dir] / 2, Duration: 10 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				sm := startSampler(cl, run.Server().String())
				r, err := run.Wait()
				samples := sm.stop()
				if err != nil {
					t.Fatal(err)
				}
				results[dir] = r
				logDrops(t, samples, r.SendStart)
				tun1 := tunStats(t, w)
				snmp1 := udpSNMPs(t, hosts)
				f := udpFlowTo(t, cl, r.Server.String())
				t.Logf("%d hops %s at half of %.1f Mbit/s: %v", hops, dir, capacity[dir], r)
				t.Logf("%d hops %s: status flow sent %d, dropped up %d, received %d, dropped down %d; TUN drops to pexiad %d (+%d by the qdisc), from pexiad %d",
					hops, dir, f.Sent, f.DroppedUp, f.Received, f.DroppedDown, tun1.TxDropped-tun0.TxDropped, tun1.QdiscDrops-tun0.QdiscDrops, tun1.RxDropped-tun0.RxDropped)
				for i, h := range hosts {
					t.Logf("%d hops %s: %s's kernel: %d UDP datagrams dropped for a full receive buffer, %d for a full send buffer, %d in errors",
						hops, dir, h.Name(), snmp1[i].RcvbufErrors-snmp0[i].RcvbufErrors, snmp1[i].SndbufErrors-snmp0[i].SndbufErrors, snmp1[i].InErrors-snmp0[i].InErrors)
				}
			}
			disconnect(t, cl)
			drops1 := exitDrops(t, w)
			t.Logf("%d hops: the exit dropped %d datagrams on their way to the destination (the upload's), %d on their way back (the download's)",
				hops, drops1.forward-drops0.forward, drops1.back-drops0.back)
			for _, dir := range dirs {
				if r := results[dir]; r.LossPct() > 1 {
					t.Errorf("%d hops %s: UDP at half the capacity (%.1f of %.1f Mbit/s) lost %.2f %% (%d of %d), want at most 1 %%",
						hops, dir, capacity[dir]/2, capacity[dir], r.LossPct(), r.Lost(), r.Sent)
				}
			}
		})
	}
}

// sample is the status of a udp flow and the circuit's round trip to
// its exit at one moment.
type sample struct {
	at   time.Time
	flow api.UDPFlow
	rtt  float64 // ms, to the exit
}

// sampler polls the status every 100 ms while a stream runs, so that a
// loss can be placed in time next to the circuit's round trip.
type sampler struct {
	quit chan struct{}
	done chan []sample
}

func startSampler(cl *api.Client, dst string) *sampler {
	sm := &sampler{quit: make(chan struct{}), done: make(chan []sample, 1)}
	go func() {
		var out []sample
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-sm.quit:
				sm.done <- out
				return
			case <-tk.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := cl.Status(ctx)
			c, cerr := cl.Circuit(ctx)
			cancel()
			if err != nil || cerr != nil || len(c.Hops) == 0 {
				continue
			}
			s := sample{at: time.Now(), rtt: c.Hops[len(c.Hops)-1].LatencyMS}
			for _, f := range st.UDPFlows {
				if f.Destination == dst {
					s.flow = f
				}
			}
			out = append(out, s)
		}
	}()
	return sm
}

func (sm *sampler) stop() []sample {
	close(sm.quit)
	return <-sm.done
}

// logDrops logs the moments the flow dropped datagrams at the client,
// with the round trip to the exit then.
func logDrops(t *testing.T, ss []sample, start time.Time) {
	t.Helper()
	var rtts []float64
	for i, s := range ss {
		rtts = append(rtts, s.rtt)
		if i == 0 {
			continue
		}
		up, down := s.flow.DroppedUp-ss[i-1].flow.DroppedUp, s.flow.DroppedDown-ss[i-1].flow.DroppedDown
		if up > 0 || down > 0 {
			t.Logf("  at %v: %d dropped up, %d down at the client; round trip to the exit %.1f ms", s.at.Sub(start).Round(time.Millisecond), up, down, s.rtt)
		}
	}
	if len(rtts) > 0 {
		slices.Sort(rtts)
		t.Logf("  round trip to the exit during the run: median %.1f ms, max %.1f ms (%d samples)", rtts[len(rtts)/2], rtts[len(rtts)-1], len(rtts))
	}
}

// disconnect disconnects and waits until pexiad says so.
func disconnect(t *testing.T, cl *api.Client) {
	t.Helper()
	if _, err := cl.Disconnect(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitState(t, cl, api.StateDisconnected, 30*time.Second)
}

// udpCapacity measures the UDP rate the circuit carries in dir with a
// paced ramp (netlab.UDPCapacity).
func udpCapacity(t *testing.T, ctx context.Context, w *world.World, dir netlab.UDPDirection, hops int) float64 {
	t.Helper()
	capacity, steps, err := netlab.UDPCapacity(ctx, w.Client, w.Internet, world.Web4, netlab.UDPOptions{Dir: dir, Mbps: udpStartMbps, Duration: udpStep})
	for _, s := range steps {
		t.Logf("capacity ramp: %v", s)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d hops %s: UDP capacity %.1f Mbit/s", hops, dir, capacity)
	return capacity
}

// udpFlowTo returns the status's udp flow to dst ("ip:port").
func udpFlowTo(t *testing.T, cl *api.Client, dst string) api.UDPFlow {
	t.Helper()
	f, flows := udpFlow(t, cl, dst)
	if f == (api.UDPFlow{}) {
		t.Fatalf("no udp flow to %s in the status: %+v", dst, flows)
	}
	return f
}

// udpFlow returns the status's udp flow to dst, if any, and every flow.
func udpFlow(t *testing.T, cl *api.Client, dst string) (api.UDPFlow, []api.UDPFlow) {
	t.Helper()
	st, err := cl.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range st.UDPFlows {
		if f.Destination == dst {
			return f, st.UDPFlows
		}
	}
	return api.UDPFlow{}, st.UDPFlows
}

type drops struct{ forward, back uint64 }

// exitDrops waits until no stream is open at any exit (flows end when
// their circuit does) and sums the datagrams the exits dropped, by
// direction: forward (from the client, to the destination) and back.
func exitDrops(t *testing.T, w *world.World) drops {
	t.Helper()
	var d drops
	for _, h := range w.Exits {
		var m map[string]float64
		testutil.WaitFor(t, h.Name()+"'s streams to end", 30*time.Second, func() bool {
			var err error
			m, err = w.NodeMetrics(context.Background(), h)
			if err != nil {
				t.Fatal(err)
			}
			return m["pexia_node_streams_active"] == 0
		})
		d.forward += uint64(m[`pexia_node_datagrams_dropped_total{direction="forward"}`])
		d.back += uint64(m[`pexia_node_datagrams_dropped_total{direction="back"}`])
	}
	return d
}

// pexiaTUN is the TUN device pexiad makes (its -tun default).
const pexiaTUN = "pexia0"

type linkStats struct{ TxDropped, RxDropped, QdiscDrops uint64 }

// tunStats reads the kernel's counters of pexiad's TUN device: TX is
// towards pexiad (packets apps send), RX from it; QdiscDrops counts what
// its root queueing discipline dropped on the way to pexiad.
func tunStats(t *testing.T, w *world.World) linkStats {
	t.Helper()
	out, err := w.Client.Command(context.Background(), "ip", "-s", "-j", "link", "show", pexiaTUN).Output()
	if err != nil {
		t.Fatalf("ip -s link show %s: %v", pexiaTUN, err)
	}
	var links []struct {
		Stats64 struct {
			RX struct {
				Dropped uint64 `json:"dropped"`
			} `json:"rx"`
			TX struct {
				Dropped uint64 `json:"dropped"`
			} `json:"tx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		t.Fatalf("ip -s -j link show %s: %v: %s", pexiaTUN, err, out)
	}
	ls := linkStats{TxDropped: links[0].Stats64.TX.Dropped, RxDropped: links[0].Stats64.RX.Dropped}
	out, err = w.Client.Command(context.Background(), "tc", "-s", "-j", "qdisc", "show", "dev", pexiaTUN).Output()
	if err != nil {
		t.Fatalf("tc -s qdisc show dev %s: %v", pexiaTUN, err)
	}
	var qdiscs []struct {
		Kind  string `json:"kind"`
		Root  bool   `json:"root"`
		Drops uint64 `json:"drops"`
	}
	if err := json.Unmarshal(out, &qdiscs); err != nil {
		t.Fatalf("tc -s -j qdisc show dev %s: %v: %s", pexiaTUN, err, out)
	}
	for _, q := range qdiscs {
		if q.Root {
			ls.QdiscDrops += q.Drops
		}
	}
	return ls
}

// udpSNMP is a host's kernel UDP counters (/proc/net/snmp).
type udpSNMP struct{ InErrors, RcvbufErrors, SndbufErrors uint64 }

func udpSNMPs(t *testing.T, hosts []*netlab.Host) []udpSNMP {
	t.Helper()
	out := make([]udpSNMP, len(hosts))
	for i, h := range hosts {
		b, err := h.Command(context.Background(), "cat", "/proc/net/snmp").Output()
		if err != nil {
			t.Fatalf("%s: /proc/net/snmp: %v", h.Name(), err)
		}
		var names []string
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) == 0 || f[0] != "Udp:" {
				continue
			}
			if names == nil {
				names = f[1:]
				continue
			}
			for j, v := range f[1:] {
				n, _ := strconv.ParseUint(v, 10, 64)
				switch names[j] {
				case "InErrors":
					out[i].InErrors = n
				case "RcvbufErrors":
					out[i].RcvbufErrors = n
				case "SndbufErrors":
					out[i].SndbufErrors = n
				}
			}
		}
	}
	return out
}

// echoProbe is one UDP echo round trip: sent at Sent, its reply after RTT (0:
// no reply).
type echoProbe struct {
	Sent time.Time
	RTT  time.Duration
}

// prober sends a small datagram to the internet host's UDP echo every
// proberEvery through the tunnel and times each reply.
type prober struct {
	conn net.Conn
	mu   sync.Mutex
	sent []echoProbe
	quit chan struct{}
	done sync.WaitGroup
	once sync.Once
}

const proberEvery = 20 * time.Millisecond

func startProber(t *testing.T, w *world.World) *prober {
	t.Helper()
	c, err := w.Client.Dialer().Dial("udp", netip.AddrPortFrom(world.Web4, uint16(world.EchoPort)).String())
	if err != nil {
		t.Fatal(err)
	}
	p := &prober{conn: c, quit: make(chan struct{})}
	p.done.Add(2)
	go func() {
		defer p.done.Done()
		buf := make([]byte, 64)
		for {
			n, err := c.Read(buf)
			if err != nil {
				select {
				case <-p.quit:
					return
				default:
					continue // an ICMP error reported on the socket
				}
			}
			now := time.Now()
			if n < 8 {
				continue
			}
			i := binary.BigEndian.Uint64(buf)
			p.mu.Lock()
			if i < uint64(len(p.sent)) && p.sent[i].RTT == 0 {
				p.sent[i].RTT = max(now.Sub(p.sent[i].Sent), 1)
			}
			p.mu.Unlock()
		}
	}()
	go func() {
		defer p.done.Done()
		tk := time.NewTicker(proberEvery)
		defer tk.Stop()
		msg := make([]byte, 64)
		for {
			select {
			case <-p.quit:
				return
			case <-tk.C:
			}
			p.mu.Lock()
			binary.BigEndian.PutUint64(msg, uint64(len(p.sent)))
			p.sent = append(p.sent, echoProbe{Sent: time.Now()})
			p.mu.Unlock()
			c.Write(msg)
		}
	}()
	return p
}

// since returns the probes sent from t0 on whose reply came or which
// are older than a second (lost).
func (p *prober) since(t0 time.Time) []echoProbe {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []echoProbe
	for _, pr := range p.sent {
		if !pr.Sent.Before(t0) && (pr.RTT > 0 || time.Since(pr.Sent) > time.Second) {
			out = append(out, pr)
		}
	}
	return out
}

// stop ends the prober, waits a moment for replies still on the way, and
// returns every probe.
func (p *prober) stop() []echoProbe {
	p.once.Do(func() {
		p.mu.Lock()
		last := time.Now()
		if n := len(p.sent); n > 0 {
			last = p.sent[n-1].Sent
		}
		p.mu.Unlock()
		close(p.quit)
		p.conn.SetReadDeadline(last.Add(time.Second))
		p.done.Wait()
		p.conn.Close()
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.sent)
}

func probesBetween(ps []echoProbe, from, to time.Time) []echoProbe {
	var out []echoProbe
	for _, p := range ps {
		if !p.Sent.Before(from) && p.Sent.Before(to) {
			out = append(out, p)
		}
	}
	return out
}

// rttStats is the median round trip of the answered probes and the
// number lost.
func rttStats(ps []echoProbe) (time.Duration, int) {
	var rtts []time.Duration
	lost := 0
	for _, p := range ps {
		if p.RTT == 0 {
			lost++
			continue
		}
		rtts = append(rtts, p.RTT)
	}
	if len(rtts) == 0 {
		return 0, lost
	}
	slices.Sort(rtts)
	return rtts[len(rtts)/2], lost
}

// rttTolerance is how far above the idle median a round trip may be and
// still count as idle: the median again, and at least 2 ms, for the
// scheduling noise of a loaded machine (a queue that had not drained
// would add many idle round trips, not one).
func rttTolerance(idle time.Duration) time.Duration {
	return max(idle, 2*time.Millisecond)
}

// recoveryRun is how many probes in a row (proberEvery apart) make a
// window whose median round trip must be within tolerance for the round
// trip to count as back to idle.
const recoveryRun = 5

// recovery finds when, after end, the round trip came back to idle: the
// first window of recoveryRun probes in a row sent from end on, all
// answered, whose median is within rttTolerance of idle. Once the flood's
// queues have drained, a later spike is the machine's scheduling, not
// the flood's backlog, so the round trip need only reach idle, not stay
// there. It returns how long after end the window's first probe was
// sent.
func recovery(ps []echoProbe, end time.Time, idle time.Duration) (time.Duration, error) {
	limit := idle + rttTolerance(idle)
	var after []echoProbe
	for _, p := range ps {
		if !p.Sent.Before(end) {
			after = append(after, p)
		}
	}
	for i := 0; i+recoveryRun <= len(after); i++ {
		w := after[i : i+recoveryRun]
		med, lost := rttStats(w)
		if lost == 0 && med <= limit {
			return w[0].Sent.Sub(end), nil
		}
	}
	return 0, fmt.Errorf("no %d round trips in a row answered with a median within %v of the idle %v after the flood", recoveryRun, rttTolerance(idle), idle)
}

// logProbes logs the round trips from a second before end to three after,
// in 100 ms buckets, so a failure shows the queue draining.
func logProbes(t *testing.T, ps []echoProbe, end time.Time) {
	t.Helper()
	for from := end.Add(-time.Second); from.Before(end.Add(3 * time.Second)); from = from.Add(100 * time.Millisecond) {
		b := probesBetween(ps, from, from.Add(100*time.Millisecond))
		if len(b) == 0 {
			continue
		}
		med, lost := rttStats(b)
		t.Logf("  %+6dms: median round trip %v (%d probes, %d lost)", from.Sub(end).Milliseconds(), med, len(b), lost)
	}
}
