package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// The documentation says where each of its figures comes from with a
// comment right after the figure, invisible once rendered:
//
//	about 16,000 <!-- bench tickets.verify_per_s_core --> tickets per second
//	within ±5 % <!-- test wallet/budget TestSimulatedMonth -->
//
// A bench marker names a metric of bench/results.json: -check fails unless
// the figure is the metric's value rounded to the figure's last significant
// digit (46,900 checks 46,914; 0.82 checks 0.8189). A test marker names the
// package directory and the test that asserts the figure or claim before
// it: -check fails unless that test exists. A metric name in backquotes (`gas.deposit`)
// must be in the results file.
var (
	markerRE = regexp.MustCompile(`<!--\s*(bench|test)\s+([a-z0-9_./]+)(?:\s+(Test\w*))?\s*-->`)
	figureRE = regexp.MustCompile(`\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?`)
	metricRE = regexp.MustCompile("`((?:gas|ratio|tunnel|circuit|baseline|datachannel|tickets|onion|relay|daemon|rules|budget|gui)\\.[a-z0-9_]+)`")
)

// docFiles are the documents whose figures are checked.
func docFiles(root string) ([]string, error) {
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		return nil, err
	}
	return append([]string{filepath.Join(root, "README.md")}, docs...), nil
}

// checkAll checks the results file at path and the documentation under
// root against it.
func checkAll(path, root string) error {
	f, err := readForCheck(path)
	if err != nil {
		return err
	}
	errs := check(f)
	files, err := docFiles(root)
	if err != nil {
		return err
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, name)
		errs = append(errs, checkDoc(rel, string(b), f, root)...)
	}
	return errors.Join(errs...)
}

// readForCheck reads a results file; one of the earlier flat layout (name
// to value and unit, no stamps) is read too, so that -check says what is
// wrong with it: no metric has a stamped run, and its ratios are checked
// against their definitions.
func readForCheck(path string) (File, error) {
	f, err := readFile(path)
	if err == nil {
		return f, nil
	}
	b, rerr := os.ReadFile(path)
	if rerr != nil {
		return File{}, rerr
	}
	var flat map[string]Metric
	if json.Unmarshal(b, &flat) != nil {
		return File{}, err
	}
	f = File{Runs: map[string]Run{}, Metrics: flat}
	for _, d := range ratios {
		if m, ok := flat[d.name]; ok && len(m.Of) == 0 {
			m.Of = []string{d.num, d.den}
			flat[d.name] = m
		}
	}
	return f, nil
}

// checkDoc checks the markers and metric names of one document.
func checkDoc(name, text string, f File, root string) []error {
	var errs []error
	for i, line := range strings.Split(text, "\n") {
		at := fmt.Sprintf("%s:%d", name, i+1)
		for _, m := range metricRE.FindAllStringSubmatch(line, -1) {
			if _, ok := f.Metrics[m[1]]; !ok {
				errs = append(errs, fmt.Errorf("%s: %s is not in the results", at, m[1]))
			}
		}
		for _, loc := range markerRE.FindAllStringSubmatchIndex(line, -1) {
			kind, arg := line[loc[2]:loc[3]], line[loc[4]:loc[5]]
			switch kind {
			case "bench":
				figs := figureRE.FindAllString(markerRE.ReplaceAllString(line[:loc[0]], ""), -1)
				if len(figs) == 0 {
					errs = append(errs, fmt.Errorf("%s: no figure before %s", at, line[loc[0]:loc[1]]))
					continue
				}
				fig := figs[len(figs)-1]
				m, ok := f.Metrics[arg]
				if !ok {
					errs = append(errs, fmt.Errorf("%s: %s is not in the results", at, arg))
					continue
				}
				if err := figureMatches(fig, m.Value); err != nil {
					errs = append(errs, fmt.Errorf("%s: %s: %w", at, arg, err))
				}
			case "test":
				if loc[6] < 0 {
					errs = append(errs, fmt.Errorf("%s: test marker needs a package directory and a test name", at))
					continue
				}
				if err := testExists(root, arg, line[loc[6]:loc[7]]); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", at, err))
				}
			}
		}
	}
	return errs
}

// figureMatches reports whether fig is v rounded to fig's last
// significant digit.
func figureMatches(fig string, v float64) error {
	s := strings.ReplaceAll(fig, ",", "")
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return err
	}
	unit := 1.0
	if i := strings.IndexByte(s, '.'); i >= 0 {
		unit = math.Pow(10, -float64(len(s)-i-1))
	} else {
		for t := strings.TrimRight(s, "0"); len(t) < len(s) && t != ""; t += "0" {
			unit *= 10
		}
	}
	if math.Round(v/unit) != math.Round(f/unit) {
		return fmt.Errorf("the text says %s, the results %.6g (to the figure's precision: %s)", fig, v,
			strconv.FormatFloat(math.Round(v/unit)*unit, 'f', -1, 64))
	}
	return nil
}

// testExists reports whether package directory dir under root has a test
// function named name.
func testExists(root, dir, name string) error {
	files, err := filepath.Glob(filepath.Join(root, dir, "*_test.go"))
	if err != nil {
		return err
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), "\nfunc "+name+"(t *testing.T)") {
			return nil
		}
	}
	return fmt.Errorf("no test %s in %s", name, dir)
}
