package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"

	"github.com/pexia-network/pexia/internal/atomicfile"
)

// Metric is one benchmark result. Names are stable: other tools read them.
type Metric struct {
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// Results is a flat map of metric name to value, merged into the results
// file so that separate benchmark runs can each add their own metrics.
type Results map[string]Metric

func (r Results) set(name string, v float64, unit string) {
	r[name] = Metric{v, unit}
	fmt.Printf("%-40s %14.2f %s\n", name, v, unit)
}

// merge writes r over the metrics already in path.
func (r Results) merge(path string) error {
	all := Results{}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	default:
		if err := json.Unmarshal(b, &all); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	for k, v := range r {
		all[k] = v
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(out, '\n'), 0o644)
}
