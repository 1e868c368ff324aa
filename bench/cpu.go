package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pexia-network/pexia/internal/world"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat (USER_HZ,
// 100 on every Linux the bench runs on).
const clockTick = 10 * time.Millisecond

// procCPU reads the user and system CPU time pid has used, all its
// threads together. A process started with "ip netns exec" is the program
// itself: ip execs it.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The name in parentheses may hold spaces; the fields after it do not.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	// After the name: state (field 3) ... utime (14), stime (15).
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// cpuProc is a process whose CPU a tunnel measurement counts.
type cpuProc struct {
	name string
	pid  int
	// counted says whether the process is part of the data path the
	// metric charges (the chain is shown, not counted).
	counted bool
}

// tunnelProcs are pexiad, each relay, each exit and the chain of w.
func tunnelProcs(w *world.World, d *world.Daemon) []cpuProc {
	ps := []cpuProc{{"pexiad", d.Cmd.Process.Pid, true}}
	for i, h := range w.Relays {
		ps = append(ps, cpuProc{fmt.Sprintf("relay%d", i+1), w.Nodes[h].Cmd.Process.Pid, true})
	}
	for i, h := range w.Exits {
		ps = append(ps, cpuProc{fmt.Sprintf("exit%d", i+1), w.Nodes[h].Cmd.Process.Pid, true})
	}
	if w.ChainProc != nil {
		ps = append(ps, cpuProc{"chain", w.ChainProc.Cmd.Process.Pid, false})
	}
	return ps
}

// cpuSpent is the CPU each process used during a measurement.
type cpuSpent struct {
	procs []cpuProc
	used  []time.Duration
}

// measureCPU runs f and returns the CPU each of ps used meanwhile.
func measureCPU(ps []cpuProc, f func() error) (cpuSpent, error) {
	before := make([]time.Duration, len(ps))
	var errs []error
	for i, p := range ps {
		var err error
		before[i], err = procCPU(p.pid)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return cpuSpent{}, err
	}
	if err := f(); err != nil {
		return cpuSpent{}, err
	}
	out := cpuSpent{procs: ps, used: make([]time.Duration, len(ps))}
	for i, p := range ps {
		after, err := procCPU(p.pid)
		if err != nil {
			return cpuSpent{}, fmt.Errorf("%s: %w", p.name, err)
		}
		out.used[i] = after - before[i]
	}
	return out, nil
}

// perGiB is the counted processes' CPU-seconds per GiB when mbps was
// carried for d.
func (c cpuSpent) perGiB(mbps float64, d time.Duration) float64 {
	var sum time.Duration
	for i, p := range c.procs {
		if p.counted {
			sum += c.used[i]
		}
	}
	return sum.Seconds() / gibCarried(mbps, d)
}

// String is each process's CPU-seconds (and share of the counted total).
func (c cpuSpent) String() string {
	var total time.Duration
	for i, p := range c.procs {
		if p.counted {
			total += c.used[i]
		}
	}
	var parts []string
	for i, p := range c.procs {
		s := fmt.Sprintf("%s %.2f s", p.name, c.used[i].Seconds())
		if p.counted && total > 0 {
			s += fmt.Sprintf(" (%.0f %%)", 100*c.used[i].Seconds()/total.Seconds())
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// gibCarried is how many GiB a stream of mbps carries in d.
func gibCarried(mbps float64, d time.Duration) float64 {
	return mbps * 1e6 / 8 * d.Seconds() / (1 << 30)
}

// loadAvg is the first three fields of /proc/loadavg.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
