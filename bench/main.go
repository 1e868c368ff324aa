// Command bench runs Pexia's benchmarks, prints each metric and merges them
// into bench/results.json (a flat object of metric name to {value, unit}).
//
//	go run ./bench [-out bench/results.json] [-only gas]
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	out := flag.String("out", "bench/results.json", "results file to merge metrics into")
	only := flag.String("only", "", "comma-separated suites to run (default all): gas, tickets, datachannel, circuit, baseline, tunnel")
	flag.Parse()
	suites := []struct {
		name string
		run  func(Results) error
	}{
		{"gas", gasSuite},
		{"tickets", ticketSuite},
		{"datachannel", datachannelSuite},
		{"circuit", circuitSuite},
		{"baseline", baselineSuite},
		{"tunnel", tunnelSuite},
	}
	want := map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		if s != "" {
			want[s] = true
		}
	}
	res := Results{}
	failed := false
	for _, s := range suites {
		if len(want) > 0 && !want[s.name] {
			continue
		}
		fmt.Printf("== %s\n", s.name)
		if err := s.run(res); err != nil {
			fmt.Fprintf(os.Stderr, "bench %s: %v\n", s.name, err)
			failed = true
		}
	}
	if err := res.merge(*out); err != nil {
		fmt.Fprintf(os.Stderr, "bench: write %s: %v\n", *out, err)
		os.Exit(1)
	}
	fmt.Printf("wrote %d metrics to %s\n", len(res), *out)
	if failed {
		os.Exit(1)
	}
}
