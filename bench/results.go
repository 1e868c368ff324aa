package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pexia-network/pexia/internal/atomicfile"
)

// File is the layout of bench/results.json: the stamp of each run once,
// and every metric naming the run it came from.
type File struct {
	Runs    map[string]Run    `json:"runs"`
	Metrics map[string]Metric `json:"metrics"`
}

// Run is where and from what one run of the benchmarks came.
type Run struct {
	Commit string    `json:"commit"`
	Dirty  bool      `json:"dirty"` // the tree had uncommitted changes
	Date   time.Time `json:"date"`  // when the run started, UTC
	CPU    string    `json:"cpu"`
	Kernel string    `json:"kernel"`
	Go     string    `json:"go"`
	Suites []string  `json:"suites"` // the suites it ran
}

// Metric is one benchmark result. Names are stable: the README, the docs
// and other tools refer to them.
type Metric struct {
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	Run   string  `json:"run"`
	// Samples are the rounds' values when Value is their median.
	Samples []float64 `json:"samples,omitempty"`
	// Of names a ratio's numerator and denominator: Value is exactly
	// Of[0] / Of[1], both of the same run.
	Of []string `json:"of,omitempty"`
}

// Results collects the metrics of the running run. Suites only measure;
// ratios are computed by computeRatios once every suite has run.
type Results map[string]Metric

func (r Results) set(name string, v float64, unit string) {
	r[name] = Metric{Value: v, Unit: unit}
	fmt.Printf("%-40s %14.2f %s\n", name, v, unit)
}

// setRounds records the median of per-round values, keeping the rounds.
func (r Results) setRounds(name string, rounds []float64, unit string) {
	v := medianf(rounds)
	r[name] = Metric{Value: v, Unit: unit, Samples: slices.Clone(rounds)}
	fmt.Printf("%-40s %14.2f %s (median of %d rounds)\n", name, v, unit, len(rounds))
}

// ratioDef is one ratio.* metric: Num / Den of the same run.
type ratioDef struct{ name, num, den string }

// ratios are every ratio the benchmark reports. They are computed in one
// step after the suites ran, never by a suite.
var ratios = []ratioDef{
	{"ratio.circuit_1hop_vs_datachannel", "circuit.throughput_1hop_mbps", "datachannel.raw_mbps"},
	{"ratio.claim_single_vs_orchid_budget", "gas.claim_single", "gas.orchid_claim_budget"},
	{"ratio.tunnel_1hop_vs_datachannel", "tunnel.throughput_1hop_mbps", "datachannel.raw_mbps"},
	{"ratio.tunnel_1hop_vs_wireguard_go", "tunnel.throughput_1hop_mbps", "tunnel.wireguard_go_mbps"},
	{"ratio.wireguard_go_rtt_vs_veth", "baseline.wireguard_go_rtt_us", "baseline.veth_rtt_us"},
	{"ratio.wireguard_go_vs_veth", "baseline.wireguard_go_mbps", "baseline.veth_mbps"},
}

// computeRatios adds every ratio whose inputs come from suites that ran
// (suiteOf names the suite that measures a metric). It fails when an
// input such a suite should have measured is missing or unusable.
func computeRatios(res Results, ran map[string]bool, suiteOf map[string]string) error {
	var errs []error
	for _, d := range ratios {
		need := true
		for _, in := range []string{d.num, d.den} {
			s, ok := suiteOf[in]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: no suite measures %s", d.name, in))
				need = false
			} else if !ran[s] {
				need = false
			}
		}
		if !need {
			continue
		}
		num, nok := res[d.num]
		den, dok := res[d.den]
		switch {
		case !nok:
			errs = append(errs, fmt.Errorf("%s: input %s is missing from this run (suite %s)", d.name, d.num, suiteOf[d.num]))
		case !dok:
			errs = append(errs, fmt.Errorf("%s: input %s is missing from this run (suite %s)", d.name, d.den, suiteOf[d.den]))
		case !(den.Value > 0) || math.IsInf(den.Value, 0) || math.IsNaN(num.Value) || math.IsInf(num.Value, 0):
			errs = append(errs, fmt.Errorf("%s: inputs %s = %v, %s = %v do not make a ratio", d.name, d.num, num.Value, d.den, den.Value))
		default:
			v := num.Value / den.Value
			res[d.name] = Metric{Value: v, Unit: "x", Of: []string{d.num, d.den}}
			fmt.Printf("%-40s %14.4f x (%s / %s)\n", d.name, v, d.num, d.den)
		}
	}
	return errors.Join(errs...)
}

// runID names a run by its start time and commit.
func runID(r Run) string {
	c := r.Commit
	if len(c) > 12 {
		c = c[:12]
	}
	if r.Dirty {
		c += "-dirty"
	}
	return r.Date.UTC().Format("20060102T150405Z") + "-" + c
}

// write stores the run's metrics in path. A full run (every suite)
// replaces the file. A partial run replaces the metrics it measured and
// keeps the others with the runs they came from; a ratio is kept only
// while its inputs are still from its own run, so no ratio mixes runs.
func write(path string, run Run, res Results, full bool) error {
	id := runID(run)
	f := File{Runs: map[string]Run{}, Metrics: map[string]Metric{}}
	if !full {
		old, err := readFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return fmt.Errorf("%w (a full run replaces it)", err)
		default:
			f = old
		}
	}
	f.Runs[id] = run
	for k, m := range res {
		m.Run = id
		f.Metrics[k] = m
	}
	for k, m := range f.Metrics {
		if len(m.Of) == 0 {
			continue
		}
		for _, in := range m.Of {
			if f.Metrics[in].Run != m.Run {
				fmt.Printf("dropped %s of run %s: %s is now from another run\n", k, m.Run, in)
				delete(f.Metrics, k)
				break
			}
		}
	}
	used := map[string]bool{}
	for _, m := range f.Metrics {
		used[m.Run] = true
	}
	for k := range f.Runs {
		if !used[k] {
			delete(f.Runs, k)
		}
	}
	if errs := check(f); len(errs) > 0 {
		return fmt.Errorf("results do not check: %w", errors.Join(errs...))
	}
	out, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(out, '\n'), 0o644)
}

// readFile reads a results file of this layout.
func readFile(path string) (File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return File{}, err
	}
	var f File
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil || f.Runs == nil || f.Metrics == nil {
		if err == nil {
			err = errors.New("no runs or metrics")
		}
		return File{}, fmt.Errorf("%s is not a results file with run stamps: %v", path, err)
	}
	return f, nil
}

// check returns every way f is not self-consistent: a metric without a
// stamped run, a run missing part of its stamp, a median that is not its
// rounds', or a ratio that does not recompute from the values beside it.
func check(f File) []error {
	var errs []error
	for id, r := range f.Runs {
		var missing []string
		if r.Commit == "" {
			missing = append(missing, "commit")
		}
		if r.Date.IsZero() {
			missing = append(missing, "date")
		}
		if r.CPU == "" {
			missing = append(missing, "cpu")
		}
		if r.Kernel == "" {
			missing = append(missing, "kernel")
		}
		if len(missing) > 0 {
			errs = append(errs, fmt.Errorf("run %s: no %s", id, strings.Join(missing, ", ")))
		}
	}
	names := make([]string, 0, len(f.Metrics))
	for k := range f.Metrics {
		names = append(names, k)
	}
	sort.Strings(names)
	defs := map[string]ratioDef{}
	for _, d := range ratios {
		defs[d.name] = d
	}
	for _, k := range names {
		m := f.Metrics[k]
		if _, ok := f.Runs[m.Run]; !ok {
			errs = append(errs, fmt.Errorf("%s: run %q has no stamp", k, m.Run))
		}
		if len(m.Samples) > 0 && m.Value != medianf(m.Samples) {
			errs = append(errs, fmt.Errorf("%s = %v is not the median of its rounds %v", k, m.Value, m.Samples))
		}
		if !strings.HasPrefix(k, "ratio.") {
			if len(m.Of) > 0 {
				errs = append(errs, fmt.Errorf("%s names inputs but is not a ratio", k))
			}
			continue
		}
		if d, ok := defs[k]; !ok || !slices.Equal(m.Of, []string{d.num, d.den}) {
			errs = append(errs, fmt.Errorf("%s: inputs %v, want the ratio's definition", k, m.Of))
			continue
		}
		num, nok := f.Metrics[m.Of[0]]
		den, dok := f.Metrics[m.Of[1]]
		switch {
		case !nok || !dok:
			errs = append(errs, fmt.Errorf("%s: input %v missing", k, m.Of))
		case num.Run != m.Run || den.Run != m.Run:
			errs = append(errs, fmt.Errorf("%s of run %s mixes runs: %s from %s, %s from %s", k, m.Run, m.Of[0], num.Run, m.Of[1], den.Run))
		case !closeTo(m.Value, num.Value/den.Value):
			errs = append(errs, fmt.Errorf("%s = %.6g, but %s / %s = %.6g / %.6g = %.6g", k, m.Value, m.Of[0], m.Of[1], num.Value, den.Value, num.Value/den.Value))
		}
	}
	return errs
}

func closeTo(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}
