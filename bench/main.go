// Command bench runs Pexia's benchmarks, prints each metric and writes them
// to bench/results.json.
//
//	go run ./bench [-out bench/results.json] [-only gas,tickets]
//	go run ./bench -only tunnel -out /tmp/results.json -profile /tmp/prof
//	go run ./bench -layers /tmp/prof/1hop-round*-pexiad.pprof
//	go run ./bench -check [-out bench/results.json]
//
// The file holds the stamp of each run once (commit and whether the tree
// was dirty, date, CPU model, kernel, Go version, suites) under "runs",
// and every metric under "metrics" names the run it came from. Suites only
// measure; every ratio.* is computed in one final step from values of the
// same run, and names its inputs. A run fails (exit status 1, nothing
// written) when a suite fails, when a suite does not measure a metric it
// owns, or when an input of a ratio is missing.
//
// A full run replaces the file. A run of some suites (-only) replaces the
// metrics those suites own and keeps the others, each with the stamp of
// its own run; a ratio it cannot compute (an input's suite did not run)
// is kept only while both its inputs still come from the ratio's run, and
// dropped otherwise, so no ratio ever mixes runs.
//
// -check reads the file and the documentation and fails when the file is
// not self-consistent (a metric without a stamped run, a ratio that does
// not recompute from the values beside it) or when a figure marked in
// README.md or docs/*.md does not match (see docs.go).
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// geteuid is os.Geteuid; tests replace it to run the suites that need
// root as another user.
var geteuid = os.Geteuid

// suite is one group of measurements and the metrics it owns.
type suite struct {
	name string
	run  func(Results) error
	// metrics are what a successful run of the suite measures.
	metrics []string
	// optional metrics are measured only where a tool is installed.
	optional []string
}

var suites = []suite{
	{name: "gas", run: gasSuite, metrics: []string{
		"gas.deposit", "gas.deposit_token", "gas.claim_single_first", "gas.claim_single",
		"gas.claim_batch10_per_ticket", "gas.orchid_claim_budget", "gas.push_stake",
		"gas.push_stake_topup", "gas.scan_10000_nodes"}},
	{name: "tickets", run: ticketSuite, metrics: []string{"tickets.issue_per_s_core", "tickets.verify_per_s_core"}},
	{name: "onion", run: onionSuite, metrics: []string{"onion.forward_512_us", "onion.forward_4096_us"}},
	{name: "datachannel", run: datachannelSuite, metrics: []string{"datachannel.setup_ms", "datachannel.rtt_us"}},
	{name: "circuit", run: circuitSuite, metrics: []string{
		"datachannel.raw_mbps", "circuit.throughput_1hop_mbps", "circuit.build_3hop_ms",
		"circuit.throughput_3hop_mbps", "relay.cpu_s_per_gib", "circuit.rtt_1hop_us", "circuit.rtt_3hop_us"}},
	{name: "baseline", run: baselineSuite,
		metrics:  []string{"baseline.veth_mbps", "baseline.veth_rtt_us", "baseline.wireguard_go_mbps", "baseline.wireguard_go_rtt_us"},
		optional: []string{"baseline.veth_iperf3_mbps", "baseline.wireguard_go_iperf3_mbps"}},
	{name: "tunnel", run: tunnelSuite, metrics: []string{
		"tunnel.connect_ms", "tunnel.throughput_1hop_mbps", "tunnel.wireguard_go_mbps", "tunnel.rtt_1hop_us",
		"daemon.rss_mb_1000_flows", "daemon.rss_anon_mb_1000_flows", "tunnel.throughput_3hop_mbps", "tunnel.icmp_rtt_3hop_us",
		"tunnel.udp_loss_pct_half_capacity", "tunnel.tcp_share_under_udp_flood",
		"tunnel.quic_mbps_3hop", "tunnel.cpu_s_per_gib", "baseline.wireguard_go_cpu_s_per_gib",
		"tunnel.cpu_s_per_gib_3hop", "tunnel.rtt_3hop_us"}},
	{name: "rules", run: rulesSuite, metrics: []string{"rules.classify_ns", "rules.flows_per_s"}},
	{name: "budget", run: budgetSuite, metrics: []string{"budget.plan_us", "budget.month_error_pct"}},
	{name: "gui", run: guiSuite, optional: []string{"gui.cold_start_ms", "gui.rss_mb"}},
}

func main() {
	out := flag.String("out", "bench/results.json", "results file")
	only := flag.String("only", "", "comma-separated suites to run (default all): "+suiteNames())
	checkOnly := flag.Bool("check", false, "check the results file and the figures the documentation takes from it; run nothing")
	root := flag.String("root", ".", "repository root (for -check's documentation and the run's commit)")
	flag.StringVar(&profileDir, "profile", "", "directory for CPU profiles of pexiad, the relays and the exit during the tunnel suite's 1-hop and 3-hop transfers (see profile.go)")
	layersOnly := flag.Bool("layers", false, "print the share of CPU each layer of the data path took in the CPU profiles named as arguments (see layers.go); run nothing")
	flag.Parse()
	if *layersOnly {
		runLayers(flag.Args())
		return
	}
	if *checkOnly {
		if err := checkAll(*out, *root); err != nil {
			fmt.Fprintln(os.Stderr, "bench -check:", err)
			os.Exit(1)
		}
		fmt.Printf("%s and the documented figures check\n", *out)
		return
	}
	if err := run(*out, *root, *only); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func suiteNames() string {
	var ns []string
	for _, s := range suites {
		ns = append(ns, s.name)
	}
	return strings.Join(ns, ", ")
}

func run(out, root, only string) error {
	want := map[string]bool{}
	for _, s := range strings.Split(only, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !slices.ContainsFunc(suites, func(x suite) bool { return x.name == s }) {
			return fmt.Errorf("-only: no suite %q (have %s)", s, suiteNames())
		}
		want[s] = true
	}
	stamp, err := newRun(root)
	if err != nil {
		return fmt.Errorf("stamp: %w", err)
	}
	res := Results{}
	ran := map[string]bool{}
	var failed []string
	for _, s := range suites {
		if len(want) > 0 && !want[s.name] {
			continue
		}
		fmt.Printf("== %s\n", s.name)
		stamp.Suites = append(stamp.Suites, s.name)
		ran[s.name] = true
		before := Results{}
		for k, v := range res {
			before[k] = v
		}
		t0 := time.Now()
		err := s.run(res)
		fmt.Printf("-- %s took %v\n", s.name, time.Since(t0).Round(time.Second))
		if err == nil {
			err = s.owns(res, before)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench %s: %v\n", s.name, err)
			failed = append(failed, s.name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("suites %s failed; %s not written", strings.Join(failed, ", "), out)
	}
	fmt.Println("== ratios")
	if err := computeRatios(res, ran, suiteOf()); err != nil {
		return fmt.Errorf("%w; %s not written", err, out)
	}
	full := len(ran) == len(suites)
	if err := write(out, stamp, res, full); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	fmt.Printf("wrote %d metrics of run %s to %s\n", len(res), runID(stamp), out)
	return nil
}

// owns checks that the suite measured every metric it owns and nothing
// else (before is what the run held when the suite started).
func (s suite) owns(res, before Results) error {
	var missing, stray []string
	for _, m := range s.metrics {
		if _, ok := res[m]; !ok {
			missing = append(missing, m)
		}
	}
	for k := range res {
		if _, ok := before[k]; !ok && !slices.Contains(s.metrics, k) && !slices.Contains(s.optional, k) {
			stray = append(stray, k)
		}
	}
	switch {
	case len(missing) > 0:
		return fmt.Errorf("did not measure %s", strings.Join(missing, ", "))
	case len(stray) > 0:
		return fmt.Errorf("measured %s, which it does not own", strings.Join(stray, ", "))
	}
	return nil
}

// suiteOf maps each metric to the suite that measures it.
func suiteOf() map[string]string {
	m := map[string]string{}
	for _, s := range suites {
		for _, n := range append(slices.Clone(s.metrics), s.optional...) {
			m[n] = s.name
		}
	}
	return m
}
