package testutil

import (
	"errors"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Proc is a child process whose standard error (and standard output, if
// the command sets none) is collected, so a test can wait for a line. It is killed when the test ends, and its log is printed if the
// test failed.
type Proc struct {
	Cmd  *exec.Cmd
	name string
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, set before done closes

	mu  sync.Mutex
	log strings.Builder
}

// StartProc starts cmd; name says what it is in failure messages ("pexiad").
func StartProc(t testing.TB, name string, cmd *exec.Cmd) *Proc {
	t.Helper()
	p := &Proc{Cmd: cmd, name: name, done: make(chan struct{})}
	cmd.Stderr = logWriter{p}
	if cmd.Stdout == nil {
		cmd.Stdout = cmd.Stderr
	}
	// A grandchild that keeps the output open must not hold Wait forever.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s log:\n%s", name, p.Log())
		}
	})
	return p
}

type logWriter struct{ p *Proc }

func (w logWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.log.Write(b)
}

// Log is everything the process logged so far.
func (p *Proc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is the process's exit error; valid once Done is closed.
func (p *Proc) Err() error {
	<-p.done
	return p.err
}

// Await waits up to d for a log line matching re and returns the match's
// first group (or the whole match if re has none). It fails t if the
// process exits or d passes first.
func (p *Proc) Await(t testing.TB, re string, d time.Duration) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	var m []string
	exited := false
	err := Until(p.name+" to log "+strconv.Quote(re), d, func() bool {
		if m = rx.FindStringSubmatch(p.Log()); m != nil {
			return true
		}
		select {
		case <-p.done:
			exited = true
			return true
		default:
			return false
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if exited {
		// The process may have logged the line just before it exited.
		if m = rx.FindStringSubmatch(p.Log()); m == nil {
			t.Fatalf("%s exited (%v) before logging %q", p.name, p.err, re)
		}
	}
	if len(m) > 1 {
		return m[1]
	}
	return m[0]
}

// Exited waits up to d for the process to end and returns its exit code.
// It fails t if the process still runs then, or if it could not be waited
// for.
func (p *Proc) Exited(t testing.TB, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		t.Fatalf("%s still running after %v", p.name, d)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("%s: %v", p.name, p.err)
	}
	return 0
}
