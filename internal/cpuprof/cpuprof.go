// Package cpuprof writes CPU profiles of a running pexiad or pexia-node on
// demand, so that where a process's CPU goes under real traffic can be
// read with `go tool pprof` (docs/PERFORMANCE.md, "Where the CPU goes").
//
// With PEXIA_CPUPROFILE=DIR in the process's environment, Listen makes each
// SIGUSR2 start a CPU profile or, when one runs, end it. The n-th profile
// of the process goes to DIR/cpu-<pid>-<n>.pprof (n from 1); it is written
// under another name and renamed when complete, so a file of that name is
// a whole profile. Without the variable Listen does nothing, and SIGUSR2
// keeps its default action.
package cpuprof

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"syscall"
)

// Env names the variable that holds the directory profiles go to.
const Env = "PEXIA_CPUPROFILE"

// Path is where process pid writes its n-th profile in dir.
func Path(dir string, pid, n int) string {
	return filepath.Join(dir, fmt.Sprintf("cpu-%d-%d.pprof", pid, n))
}

// Listen starts answering SIGUSR2 when Env is set, reporting each profile
// and each failure to logf. The returned stop ends the listening and
// writes a profile still running; call it before the process exits.
func Listen(logf func(format string, args ...any)) (stop func()) {
	dir := os.Getenv(Env)
	if dir == "" {
		return func() {}
	}
	p := &profiler{dir: dir, logf: logf}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR2)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range sigs {
			p.toggle()
		}
	}()
	logf("%s=%s: SIGUSR2 starts and ends a CPU profile", Env, dir)
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(sigs)
			<-done
			p.end()
		})
	}
}

type profiler struct {
	dir  string
	logf func(format string, args ...any)
	n    int      // profiles started
	f    *os.File // the running profile's file, nil when none runs
}

func (p *profiler) toggle() {
	if p.f != nil {
		p.end()
		return
	}
	p.n++
	final := Path(p.dir, os.Getpid(), p.n)
	f, err := os.Create(final + ".part")
	if err != nil {
		p.logf("cpu profile: %v", err)
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		os.Remove(f.Name())
		p.logf("cpu profile: %v", err)
		return
	}
	p.f = f
	p.logf("cpu profile %s started", final)
}

// end stops a running profile and gives its file the final name.
func (p *profiler) end() {
	if p.f == nil {
		return
	}
	pprof.StopCPUProfile()
	part := p.f.Name()
	err := p.f.Close()
	p.f = nil
	final := part[:len(part)-len(".part")]
	if err == nil {
		err = os.Rename(part, final)
	}
	if err != nil {
		p.logf("cpu profile: %v", err)
		return
	}
	p.logf("cpu profile %s written", final)
}
