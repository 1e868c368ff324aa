package world

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/netlab"
)

// MonthNodeConfig is the node configuration a month's world runs with:
// winners are claimed within a second, so that under a compressed clock
// the spend the budget sees lags the tickets by little of the month.
const MonthNodeConfig = "[redeem]\ninterval = \"250ms\"\nmax_wait = \"1s\"\n"

// ClockSegment is one segment of pexiad's -test-clock: from At on, the
// budget's clock runs Speed simulated seconds per real second, or with
// Step stands at At until stepped (SIGUSR1) to the next segment's instant;
// a last segment of speed 0 stops it.
type ClockSegment struct {
	At    time.Time
	Speed float64
	Step  bool
}

// MonthClock is a stepped March 2026: a day at a step to March 31, then
// six hours, then shorter steps as the month's budget runs out, stopped a
// second before the month ends. Between steps RunMonth waits until every
// winner is claimed and followed, so the budget plans each step on the
// spend the chain shows.
var MonthClock = func() []ClockSegment {
	var c []ClockSegment
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for d := range 30 {
		c = append(c, ClockSegment{At: start.AddDate(0, 0, d), Step: true})
	}
	last := start.AddDate(0, 0, 30)
	for _, h := range []int{0, 6, 12, 18, 21, 23} {
		c = append(c, ClockSegment{At: last.Add(time.Duration(h) * time.Hour), Step: true})
	}
	return append(c, ClockSegment{At: start.AddDate(0, 1, 0).Add(-time.Second)})
}()

// MonthOptions configures RunMonth.
type MonthOptions struct {
	// Budget is the monthly budget, in the token's smallest unit.
	Budget *big.Int
	// Hops is the circuit length (default 1).
	Hops int
	// Clock is the budget clock's schedule; it must end with a stop.
	Clock []ClockSegment
	// Streams is the most downloads a burst runs at once (default 4).
	Streams int
	// Seed seeds the traffic generator.
	Seed uint64
	// Logf receives progress lines.
	Logf func(format string, args ...any)
}

// MonthResult is what a simulated month spent and what its nodes earned.
type MonthResult struct {
	// Budget and Spent are the month's budget and what its winning
	// tickets took (pexiad's budget, once every winner was claimed and
	// followed); Tickets and Wins their counts.
	Budget, Spent  *big.Int
	Tickets, Wins  uint64
	Period         [2]time.Time
	ErrorPct       float64 // (Spent − Budget) / Budget × 100
	Downloaded     int64   // bytes the traffic generator received
	Bursts, Failed int     // bursts run; downloads that failed
	Real           time.Duration
	Nodes          []NodeRevenue
}

// MaxFace is the largest mean face value of the winners at any node
// (every ticket of a hop has its plan's face).
func (r MonthResult) MaxFace() float64 {
	f := 0.0
	for _, n := range r.Nodes {
		if n.Winners > 0 {
			f = max(f, n.Won/float64(n.Winners))
		}
	}
	return f
}

// NodeRevenue is a node's revenue report (pexia-node's metrics), in whole
// tokens.
type NodeRevenue struct {
	Name      string
	PaidBytes float64
	// Due is PaidBytes at the node's price; Value the expected value of
	// the tickets it accepted and Credited that net of the claim cost;
	// Won the face value of its winners and ClaimCosts their claim cost;
	// WonSD the standard deviation of Won the tickets predict.
	Due, Value, Credited, Won, ClaimCosts, WonSD float64
	Winners, Claimed, ClaimRefused               float64
}

// Net is what the node keeps of its winners after claiming them.
func (n NodeRevenue) Net() float64 { return n.Won - n.ClaimCosts }

// clockFlag formats the schedule as pexiad's -test-clock.
func clockFlag(segs []ClockSegment) (string, time.Duration, error) {
	if len(segs) < 2 || segs[len(segs)-1].Speed != 0 {
		return "", 0, errors.New("month: the clock needs a running segment and a final stop")
	}
	var parts []string
	var real time.Duration
	for i, s := range segs {
		speed := strconv.FormatFloat(s.Speed, 'f', -1, 64)
		if s.Step {
			speed = "step"
		}
		parts = append(parts, s.At.UTC().Format(time.RFC3339)+"@"+speed)
		if i > 0 && !segs[i-1].Step {
			real += time.Duration(float64(s.At.Sub(segs[i-1].At)) / segs[i-1].Speed)
		}
	}
	return strings.Join(parts, ","), real, nil
}

// RunMonth starts pexiad in the world with a compressed budget clock and
// the budget o.Budget (no flat face: the budget plans every ticket),
// connects, and drives bursty downloads through the tunnel until the
// clock stops at the month's end. It then waits until every winner is
// claimed on chain and followed by pexiad, and reads the month's spend and
// each node's revenue report. The world's nodes should run with
// MonthNodeConfig.
func (w *World) RunMonth(ctx context.Context, o MonthOptions) (MonthResult, error) {
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if o.Hops == 0 {
		o.Hops = 1
	}
	if o.Streams == 0 {
		o.Streams = 4
	}
	spec, dur, err := clockFlag(o.Clock)
	if err != nil {
		return MonthResult{}, err
	}
	t0 := time.Now()
	d, err := w.startDaemonArgs(ctx, "", false, "-test-clock", spec)
	if err != nil {
		return MonthResult{}, err
	}
	// The clock started between t0 and now: it stops by end.
	end := time.Now().Add(dur)
	cl := api.NewClient(d.Socket)
	defer cl.Close()
	set, err := cl.Settings(ctx)
	if err != nil {
		return MonthResult{}, err
	}
	set.MonthlyBudget, set.TimeZone, set.Hops = api.NewAmount(o.Budget), "UTC", o.Hops
	set.KillSwitch, set.Lockdown = false, false
	if _, err := cl.SetSettings(ctx, set); err != nil {
		return MonthResult{}, err
	}
	if _, err := cl.Connect(ctx, api.ConnectRequest{Hops: o.Hops}); err != nil {
		return MonthResult{}, err
	}
	steps := 0
	for _, c := range o.Clock {
		if c.Step {
			steps++
		}
	}
	step := func() error { return d.Cmd.Process.Signal(syscall.SIGUSR1) }
	if steps > 0 {
		// The circuit's first payment needs the first step's budget.
		if err := step(); err != nil {
			return MonthResult{}, err
		}
		steps--
	}
	if err := waitStatus(ctx, cl, 2*time.Minute, func(st api.Status) bool { return st.State == api.StateConnected }); err != nil {
		return MonthResult{}, fmt.Errorf("month: connect: %w", err)
	}
	logf("month: connected %.1fs after start", time.Since(t0).Seconds())

	res := MonthResult{Budget: new(big.Int).Set(o.Budget)}
	gctx, stop := context.WithCancel(ctx)
	if steps == 0 {
		gctx, stop = context.WithDeadline(ctx, end.Add(2*time.Second))
	}
	var traffic sync.WaitGroup
	traffic.Add(1)
	go func() {
		defer traffic.Done()
		res.Downloaded, res.Bursts, res.Failed = burstyTraffic(gctx, w.Client, o.Streams, o.Seed, logf)
	}()
	for i := range steps {
		// Each step once the last one's tickets stopped and their winners
		// are claimed and followed.
		if _, err := w.settleMonth(ctx, cl, time.Second, 30*time.Second); err != nil {
			logf("month: step %d: %v", i+1, err)
		}
		if err := step(); err != nil {
			stop()
			traffic.Wait()
			return res, err
		}
	}
	if steps > 0 {
		// The last step's tickets.
		if _, err := w.settleMonth(ctx, cl, 2*time.Second, 30*time.Second); err != nil {
			logf("month: last step: %v", err)
		}
		stop()
	}
	traffic.Wait()
	stop()
	res.Real = time.Since(t0)
	if err := ctx.Err(); err != nil {
		return res, err
	}

	// Every winner claimed by its node and followed by pexiad.
	b, err := w.settleMonth(ctx, cl, 3*time.Second, 2*time.Minute)
	if err != nil {
		return res, err
	}
	if res.Nodes, err = w.nodeRevenues(ctx); err != nil {
		return res, err
	}
	res.Spent, res.Tickets, res.Wins = b.Spent.Big(), b.Tickets, b.Wins
	res.Period = [2]time.Time{b.PeriodStart, b.PeriodEnd}
	e := new(big.Rat).SetFrac(new(big.Int).Sub(res.Spent, res.Budget), res.Budget)
	res.ErrorPct, _ = e.Mul(e, big.NewRat(100, 1)).Float64()
	var used []NodeRevenue
	for _, n := range res.Nodes {
		if n.PaidBytes > 0 {
			used = append(used, n)
		}
	}
	res.Nodes = used
	if _, err := cl.Disconnect(ctx); err != nil {
		return res, err
	}
	return res, d.Stop(20 * time.Second)
}

// settleMonth waits until pexiad issued no ticket for quiet, and every
// winner is claimed by its node and counted by pexiad, and returns the
// budget then.
func (w *World) settleMonth(ctx context.Context, cl *api.Client, quiet, limit time.Duration) (api.Budget, error) {
	deadline := time.Now().Add(limit)
	var last api.Budget
	lastChange := time.Now()
	for first := true; ; first = false {
		b, err := cl.Budget(ctx)
		if err != nil {
			return b, err
		}
		if first || b.Tickets != last.Tickets {
			lastChange = time.Now()
		}
		last = b
		nodes, err := w.nodeRevenues(ctx)
		if err != nil {
			return b, err
		}
		var stored, claimed, refused float64
		for _, n := range nodes {
			stored, claimed, refused = stored+n.Winners, claimed+n.Claimed, refused+n.ClaimRefused
		}
		if time.Since(lastChange) >= quiet && stored == claimed+refused && float64(b.Wins) == claimed {
			return b, nil
		}
		if time.Now().After(deadline) {
			return b, fmt.Errorf("not settled after %v: %d tickets, nodes stored %v winners, claimed %v, refused %v; pexiad counted %d",
				limit, b.Tickets, stored, claimed, refused, b.Wins)
		}
		select {
		case <-ctx.Done():
			return b, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func waitStatus(ctx context.Context, cl *api.Client, limit time.Duration, done func(api.Status) bool) error {
	deadline := time.Now().Add(limit)
	for {
		st, err := cl.Status(ctx)
		if err != nil {
			return err
		}
		if done(st) {
			return nil
		}
		if st.State == api.StateError || time.Now().After(deadline) {
			return fmt.Errorf("%s (%s)", st.State, st.Error)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// burstyTraffic downloads from the web server through h's routes until
// ctx ends, in bursts: 1 to streams downloads at once of 256 KiB to 16
// MiB each, then a pause of up to half a second. It returns the bytes
// received, the bursts and the downloads that failed.
func burstyTraffic(ctx context.Context, h *netlab.Host, streams int, seed uint64, logf func(string, ...any)) (int64, int, int) {
	tr := &http.Transport{DialContext: h.Dialer().DialContext, MaxIdleConnsPerHost: streams}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var got atomic.Int64
	var failed atomic.Int64
	bursts := 0
	var firstErr sync.Once
	for ctx.Err() == nil {
		bursts++
		var wg sync.WaitGroup
		for range 1 + rng.IntN(streams) {
			n := int64(256<<10) << rng.IntN(7) // 256 KiB to 16 MiB
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/bytes/%d", Web4, n), nil)
				if err != nil {
					return
				}
				resp, err := hc.Do(req)
				if err == nil {
					var k int64
					k, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					got.Add(k)
				}
				if err != nil && ctx.Err() == nil {
					failed.Add(1)
					firstErr.Do(func() { logf("month: a download failed: %v", err) })
				}
			}()
		}
		wg.Wait()
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(rng.IntN(500)) * time.Millisecond):
		}
	}
	return got.Load(), bursts, int(failed.Load())
}

// nodeRevenues reads every node's revenue report from its metrics.
func (w *World) nodeRevenues(ctx context.Context) ([]NodeRevenue, error) {
	var out []NodeRevenue
	for _, h := range append(append([]*netlab.Host{}, w.Relays...), w.Exits...) {
		m, err := nodeMetrics(ctx, h)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name(), err)
		}
		out = append(out, NodeRevenue{Name: h.Name(), PaidBytes: m["paid_bytes_total"],
			Due: m["revenue_due_tokens_total"], Value: m["tickets_value_tokens_total"], Credited: m["tickets_credited_tokens_total"],
			Won: m["winners_value_tokens_total"], ClaimCosts: m["winners_claim_cost_tokens_total"], WonSD: m["winners_value_sd_tokens"],
			Winners: m["winners_stored_total"], Claimed: m["winners_claimed_total"], ClaimRefused: m["winners_refused_total"]})
	}
	return out, nil
}

// nodeMetrics reads the unlabelled pexia_node_ metrics of the node in h
// (its metrics address is pexia-node's default, 127.0.0.1:9478).
func nodeMetrics(ctx context.Context, h *netlab.Host) (map[string]float64, error) {
	tr := &http.Transport{DialContext: h.Dialer().DialContext}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:9478/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		name, found := strings.CutPrefix(name, "pexia_node_")
		if !ok || !found || strings.Contains(name, "{") {
			continue
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			out[name] = f
		}
	}
	return out, sc.Err()
}
