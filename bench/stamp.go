package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// newRun stamps a run starting now from the repository at root: its
// commit and whether the tree differs from it, the CPU model and the
// kernel.
func newRun(root string) (Run, error) {
	r := Run{Date: time.Now().UTC().Truncate(time.Second), Go: runtime.Version()}
	git := func(args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
			}
			return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out)), nil
	}
	var err error
	if r.Commit, err = git("rev-parse", "HEAD"); err != nil {
		return Run{}, err
	}
	status, err := git("status", "--porcelain")
	if err != nil {
		return Run{}, err
	}
	r.Dirty = status != ""
	if r.CPU, err = cpuModel("/proc/cpuinfo"); err != nil {
		return Run{}, err
	}
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return Run{}, fmt.Errorf("kernel: %w", err)
	}
	r.Kernel = runtime.GOOS + " " + strings.TrimSpace(string(b))
	return r, nil
}

// cpuModel names the CPU from a /proc/cpuinfo and counts its logical
// CPUs, e.g. "AMD EPYC 7B13 (2 CPUs)".
func cpuModel(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cpu: %w", err)
	}
	defer f.Close()
	model, n := "", 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "processor":
			n++
		case "model name", "Model", "cpu model":
			if model == "" {
				model = strings.Join(strings.Fields(v), " ")
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("cpu: %w", err)
	}
	if model == "" {
		return "", fmt.Errorf("cpu: no model name in %s", path)
	}
	return fmt.Sprintf("%s (%d CPUs)", model, n), nil
}
