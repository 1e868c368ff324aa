package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// measured returns a value for every metric the named suites own, as if
// they had run.
func measured(names ...string) Results {
	res := Results{}
	v := 1.0
	for _, s := range suites {
		if len(names) > 0 && !slices.Contains(names, s.name) {
			continue
		}
		for _, m := range s.metrics {
			v += 1.5
			res[m] = Metric{Value: v * 7, Unit: "u"}
		}
	}
	return res
}

func allRan() map[string]bool {
	ran := map[string]bool{}
	for _, s := range suites {
		ran[s.name] = true
	}
	return ran
}

func testRun(t *testing.T, at time.Time) Run {
	t.Helper()
	return Run{Commit: "0123456789abcdef0123456789abcdef01234567", Date: at, CPU: "Test CPU (2 CPUs)",
		Kernel: "linux 6.1.0", Go: "go1.26.8", Suites: []string{"all"}}
}

func TestEveryRatioInputIsOwnedBySuite(t *testing.T) {
	owner := suiteOf()
	for _, d := range ratios {
		for _, in := range []string{d.num, d.den} {
			if _, ok := owner[in]; !ok {
				t.Errorf("%s: no suite measures %s", d.name, in)
			}
		}
	}
	for m := range owner {
		if strings.HasPrefix(m, "ratio.") {
			t.Errorf("a suite measures %s; ratios are computed after the run", m)
		}
	}
}

func TestRatiosRecomputeFromOneStampedRun(t *testing.T) {
	res := measured()
	if err := computeRatios(res, allRan(), suiteOf()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "results.json")
	run := testRun(t, time.Date(2026, 12, 5, 17, 30, 0, 0, time.UTC))
	if err := write(path, run, res, true); err != nil {
		t.Fatal(err)
	}
	f, err := readFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if errs := check(f); len(errs) > 0 {
		t.Fatalf("check: %v", errs)
	}
	if len(f.Runs) != 1 {
		t.Fatalf("runs %v, want one", f.Runs)
	}
	id := runID(run)
	got, ok := f.Runs[id]
	if !ok || got.Commit != run.Commit || got.CPU == "" || got.Kernel == "" || !got.Date.Equal(run.Date) {
		t.Fatalf("run %s stamped %+v, want %+v", id, got, run)
	}
	for _, d := range ratios {
		m, ok := f.Metrics[d.name]
		if !ok {
			t.Errorf("%s missing", d.name)
			continue
		}
		if want := f.Metrics[d.num].Value / f.Metrics[d.den].Value; m.Value != want || !slices.Equal(m.Of, []string{d.num, d.den}) {
			t.Errorf("%s = %v of %v, want %v = %s / %s", d.name, m.Value, m.Of, want, d.num, d.den)
		}
	}
	for k, m := range f.Metrics {
		if m.Run != id {
			t.Errorf("%s names run %q, want %q", k, m.Run, id)
		}
	}
}

func TestMissingRatioInputFailsTheRun(t *testing.T) {
	res := measured()
	delete(res, "tunnel.wireguard_go_mbps")
	err := computeRatios(res, allRan(), suiteOf())
	if err == nil || !strings.Contains(err.Error(), "ratio.tunnel_1hop_vs_wireguard_go: input tunnel.wireguard_go_mbps is missing") {
		t.Fatalf("computeRatios = %v, want the missing input named", err)
	}
	if _, ok := res["ratio.tunnel_1hop_vs_wireguard_go"]; ok {
		t.Fatal("a ratio was computed without its input")
	}

	res = measured()
	res["datachannel.raw_mbps"] = Metric{Value: 0, Unit: "Mbit/s"}
	if err := computeRatios(res, allRan(), suiteOf()); err == nil {
		t.Fatal("a ratio over 0 was accepted")
	}
}

func TestSuiteMustMeasureWhatItOwns(t *testing.T) {
	s := suite{name: "x", metrics: []string{"x.a", "x.b"}, optional: []string{"x.c"}}
	before := Results{"y.z": {}}
	if err := s.owns(Results{"y.z": {}, "x.a": {}}, before); err == nil || !strings.Contains(err.Error(), "x.b") {
		t.Fatalf("owns = %v, want x.b missing", err)
	}
	if err := s.owns(Results{"y.z": {}, "x.a": {}, "x.b": {}, "x.d": {}}, before); err == nil || !strings.Contains(err.Error(), "x.d") {
		t.Fatalf("owns = %v, want x.d refused", err)
	}
	if err := s.owns(Results{"y.z": {}, "x.a": {}, "x.b": {}, "x.c": {}}, before); err != nil {
		t.Fatal(err)
	}
}

// A run of some suites keeps the other metrics with their own stamps and
// drops a ratio whose inputs no longer come from one run.
func TestPartialRunNeverMixesRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.json")
	full := measured()
	if err := computeRatios(full, allRan(), suiteOf()); err != nil {
		t.Fatal(err)
	}
	first := testRun(t, time.Date(2026, 12, 5, 17, 0, 0, 0, time.UTC))
	if err := write(path, first, full, true); err != nil {
		t.Fatal(err)
	}

	part := measured("tunnel")
	for k, m := range part {
		m.Value *= 3
		part[k] = m
	}
	if err := computeRatios(part, map[string]bool{"tunnel": true}, suiteOf()); err != nil {
		t.Fatal(err)
	}
	second := testRun(t, time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC))
	if err := write(path, second, part, false); err != nil {
		t.Fatal(err)
	}
	f, err := readFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if errs := check(f); len(errs) > 0 {
		t.Fatalf("check: %v", errs)
	}
	if len(f.Runs) != 2 {
		t.Fatalf("runs %v, want both", f.Runs)
	}
	a, b := runID(first), runID(second)
	for name, want := range map[string]string{
		"tunnel.throughput_1hop_mbps":         b,
		"ratio.tunnel_1hop_vs_wireguard_go":   b, // both inputs from the second run
		"datachannel.raw_mbps":                a,
		"ratio.circuit_1hop_vs_datachannel":   a,
		"ratio.claim_single_vs_orchid_budget": a,
	} {
		if got := f.Metrics[name].Run; got != want {
			t.Errorf("%s from run %q, want %q", name, got, want)
		}
	}
	// tunnel (second run) over datachannel (first run): neither run's.
	if m, ok := f.Metrics["ratio.tunnel_1hop_vs_datachannel"]; ok {
		t.Errorf("ratio.tunnel_1hop_vs_datachannel kept (%+v) across runs", m)
	}
}

func TestPartialRunRefusesUnstampedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.json")
	b, err := os.ReadFile("testdata/results-420f463.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	res := measured("gas")
	if err := write(path, testRun(t, time.Now().UTC()), res, false); err == nil {
		t.Fatal("a partial run merged into a file without run stamps")
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(b) {
		t.Fatal("the refused merge changed the file")
	}
}

// The results file of 420f463: its metrics carry no run, and
// ratio.tunnel_1hop_vs_datachannel does not recompute from the values
// beside it.
func TestCheckRejectsResultsOf420f463(t *testing.T) {
	f, err := readForCheck("testdata/results-420f463.json")
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, e := range check(f) {
		msgs = append(msgs, e.Error())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{
		`gas.claim_single: run "" has no stamp`,
		"ratio.tunnel_1hop_vs_datachannel = 0.347966, but tunnel.throughput_1hop_mbps / datachannel.raw_mbps = 195.464 / 492.752 = 0.396679",
		"ratio.tunnel_1hop_vs_wireguard_go: input [tunnel.throughput_1hop_mbps tunnel.wireguard_go_mbps] missing",
		"ratio.claim_single_vs_orchid_budget: input [gas.claim_single gas.orchid_claim_budget] missing",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("check did not say %q; it said:\n%s", want, all)
		}
	}
}

func TestRootSuitesFailWithoutRoot(t *testing.T) {
	old := geteuid
	geteuid = func() int { return 1000 }
	defer func() { geteuid = old }()
	for name, run := range map[string]func(Results) error{"baseline": baselineSuite, "tunnel": tunnelSuite, "budget": budgetSuite} {
		res := Results{}
		err := run(res)
		if err == nil || !strings.Contains(err.Error(), "root") {
			t.Errorf("%s without root: %v, want an error saying it needs root", name, err)
		}
		if len(res) > 0 {
			t.Errorf("%s without root measured %v", name, res)
		}
	}
}

func TestNewRunStampsThisMachine(t *testing.T) {
	r, err := newRun("..")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(r.Commit) {
		t.Errorf("commit %q", r.Commit)
	}
	if r.CPU == "" || !strings.HasPrefix(r.Kernel, "linux ") || r.Date.IsZero() || r.Go == "" {
		t.Errorf("stamp %+v", r)
	}
}

func TestCPUModel(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cpuinfo")
	info := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC  7B13\n\nprocessor\t: 1\nmodel name\t: AMD EPYC  7B13\n"
	if err := os.WriteFile(p, []byte(info), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := cpuModel(p)
	if err != nil || got != "AMD EPYC 7B13 (2 CPUs)" {
		t.Fatalf("cpuModel = %q, %v", got, err)
	}
	if err := os.WriteFile(p, []byte("processor\t: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := cpuModel(p); err == nil {
		t.Fatal("a cpuinfo without a model was accepted")
	}
}
