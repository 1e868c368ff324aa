package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/pexia-network/pexia/internal/cpuprof"
)

// profileDir is -profile's directory: when set, the tunnel suite writes CPU
// profiles of pexiad, each relay and the exit during its 1-hop rounds and
// its 3-hop transfer, as DIR/<run>-<process>.pprof (for example
// 1hop-round1-pexiad.pprof, 3hop-relay2.pprof). The processes honour
// PEXIA_CPUPROFILE (internal/cpuprof), which the suite sets for the world.
// A profile costs its process a little CPU, so a run with -profile is not
// one to stamp.
var profileDir string

// profileEnv makes the processes the suite starts answer SIGUSR2 with a
// CPU profile into -profile's directory, when one is given.
func profileEnv() error {
	if profileDir == "" {
		return nil
	}
	abs, err := filepath.Abs(profileDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return err
	}
	profileDir = abs
	return os.Setenv(cpuprof.Env, abs)
}

// profileCount is how many profiles each process has started (its n in
// cpuprof.Path).
var profileCount = map[int]int{}

// profiled runs f while each counted process of ps writes a CPU profile,
// named DIR/<run>-<process>.pprof, when -profile is given; otherwise it
// only runs f.
func profiled(ps []cpuProc, run string, f func() error) error {
	if profileDir == "" {
		return f()
	}
	var on []cpuProc
	for _, p := range ps {
		if p.counted {
			on = append(on, p)
		}
	}
	// Start every profile and wait until each has its file, so the
	// profiles cover all of f.
	for _, p := range on {
		profileCount[p.pid]++
		if err := syscall.Kill(p.pid, syscall.SIGUSR2); err != nil {
			return fmt.Errorf("profile %s: %w", p.name, err)
		}
	}
	for _, p := range on {
		part := cpuprof.Path(profileDir, p.pid, profileCount[p.pid]) + ".part"
		if err := waitFile(part, 10*time.Second); err != nil {
			return err
		}
	}
	ferr := f()
	for _, p := range on {
		if err := syscall.Kill(p.pid, syscall.SIGUSR2); err != nil {
			return fmt.Errorf("profile %s: %w", p.name, err)
		}
	}
	for _, p := range on {
		path := cpuprof.Path(profileDir, p.pid, profileCount[p.pid])
		if err := waitFile(path, 20*time.Second); err != nil {
			return err
		}
		name := filepath.Join(profileDir, run+"-"+p.name+".pprof")
		if err := os.Rename(path, name); err != nil {
			return err
		}
		fmt.Printf("    profile %s\n", name)
	}
	return ferr
}

// waitFile waits until path exists, for at most limit.
func waitFile(path string, limit time.Duration) error {
	for deadline := time.Now().Add(limit); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("profile %s not written within %v", path, limit)
		}
	}
}
