package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFigureMatchesToItsPrecision(t *testing.T) {
	for _, c := range []struct {
		fig string
		v   float64
		ok  bool
	}{
		{"46,914", 46914, true},
		{"46,914", 46915, false},
		{"46,900", 46914, true},
		{"46,900", 46960, false},
		{"169,000", 169231, true},
		{"13,200", 13153.1, true},
		{"16,000", 15909.4, true},
		{"24,000", 15909.4, false},
		{"0.82", 0.8189, true},
		{"0.35", 0.3967, false},
		{"5", 5, true},
		{"60,000", 60000, true},
	} {
		if err := figureMatches(c.fig, c.v); (err == nil) != c.ok {
			t.Errorf("figureMatches(%s, %v) = %v, want ok %v", c.fig, c.v, err, c.ok)
		}
	}
}

func TestCheckDocMarkers(t *testing.T) {
	f := File{Runs: map[string]Run{}, Metrics: map[string]Metric{
		"tickets.verify_per_s_core": {Value: 15909.4},
		"gas.scan_10000_nodes":      {Value: 68216},
	}}
	doc := strings.Join([]string{
		"Nodes verify about 16,000 <!-- bench tickets.verify_per_s_core --> tickets per second.",
		"Nodes verify about 24,000 <!-- bench tickets.verify_per_s_core --> tickets per second.",
		"| `gas.scan_10000_nodes` | ≈ 68,000 <!-- bench gas.scan_10000_nodes --> | 2 <!-- bench gas.scan_10000_nodes --> |",
		"The month ends within 5 % <!-- test bench TestFigureMatchesToItsPrecision --> of it.",
		"The month ends within 0.1 % <!-- test bench TestNoSuchTest --> of it.",
		"`gas.deposit` is gone; <!-- bench gas.deposit --> has no figure",
	}, "\n")
	var got []string
	for _, e := range checkDoc("DOC.md", doc, f, "..") {
		got = append(got, e.Error())
	}
	want := []string{
		"DOC.md:2: tickets.verify_per_s_core: the text says 24,000, the results 15909.4 (to the figure's precision: 16000)",
		"DOC.md:3: gas.scan_10000_nodes: the text says 2, the results 68216 (to the figure's precision: 68216)",
		"DOC.md:5: no test TestNoSuchTest in bench",
		"DOC.md:6: gas.deposit is not in the results",
		"DOC.md:6: no figure before <!-- bench gas.deposit -->",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("checkDoc said\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Every marker in the documentation names a metric the benchmark
// measures or computes, or a test that exists; the figures themselves are
// checked against a run by `go run ./bench -check`.
func TestDocMarkersNameMetricsAndTests(t *testing.T) {
	known := suiteOf()
	for _, d := range ratios {
		known[d.name] = "ratios"
	}
	files, err := docFiles("..")
	if err != nil {
		t.Fatal(err)
	}
	markers := 0
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range metricRE.FindAllStringSubmatch(line, -1) {
				if _, ok := known[m[1]]; !ok {
					t.Errorf("%s:%d: no suite measures %s", filepath.Base(name), i+1, m[1])
				}
			}
			for _, m := range markerRE.FindAllStringSubmatch(line, -1) {
				markers++
				switch m[1] {
				case "bench":
					if _, ok := known[m[2]]; !ok {
						t.Errorf("%s:%d: no suite measures %s", filepath.Base(name), i+1, m[2])
					}
				case "test":
					if err := testExists("..", m[2], m[3]); err != nil {
						t.Errorf("%s:%d: %v", filepath.Base(name), i+1, err)
					}
				}
			}
		}
	}
	if markers == 0 {
		t.Fatal("no figure in the documentation says where it comes from")
	}
}
