package testutil

import (
	"bytes"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Stacks returns the stack of every goroutine, keyed by its header's
// "goroutine N" part (which stays the same while the goroutine runs).
func Stacks() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		head, _, _ := strings.Cut(string(g), "\n")
		id, _, _ := strings.Cut(head, " [")
		out[id] = string(g)
	}
	return out
}

// CreatedBy returns the stacks of the running goroutines that a function
// whose name starts with one of prefixes created (the "created by" line),
// such as "github.com/pexia-network/pexia/hop.(*Node)".
func CreatedBy(prefixes ...string) []string {
	var out []string
	for _, g := range Stacks() {
		for _, l := range strings.Split(g, "\n") {
			by, ok := strings.CutPrefix(l, "created by ")
			if !ok {
				continue
			}
			for _, p := range prefixes {
				if strings.HasPrefix(by, p) {
					out = append(out, g)
					break
				}
			}
		}
	}
	return out
}

// Running counts the goroutines with fn anywhere on their stack.
func Running(fn string) int {
	n := 0
	for _, g := range Stacks() {
		if strings.Contains(g, fn) {
			n++
		}
	}
	return n
}

// NewSince waits up to d for the goroutines that are not in base (a
// [Stacks] result) to end, and returns those still running then. The test
// runner's own goroutines are not counted.
func NewSince(base map[string]string, d time.Duration) []string {
	var out []string
	Until("goroutines to end", d, func() bool {
		out = out[:0]
		for id, g := range Stacks() {
			if _, ok := base[id]; !ok && !strings.Contains(g, "testing.tRunner") && !strings.Contains(g, "testing.(*T).Run") && !strings.Contains(g, "internal/testutil.Stacks(") {
				out = append(out, g)
			}
		}
		return len(out) == 0
	})
	return out
}

// CheckGoroutines fails t if goroutines started during the test are still
// running 10 s after it ended. Call it first, so that its cleanup runs
// after every other cleanup. It suits tests that do not run in parallel
// with others: the goroutines of a parallel test would count against it.
func CheckGoroutines(t testing.TB) {
	t.Helper()
	base := Stacks()
	t.Cleanup(func() {
		if left := NewSince(base, 10*time.Second); len(left) > 0 {
			t.Errorf("%d goroutines started by the test still run after it; the first:\n%s", len(left), left[0])
		}
	})
}

// OpenFiles is the number of the process's open file descriptors; it skips
// t where /proc/self/fd does not exist.
func OpenFiles(t testing.TB) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(fds)
}

// FilesBackTo waits up to d for the number of open file descriptors to
// fall to base or below, and returns how many are open then.
func FilesBackTo(t testing.TB, base int, d time.Duration) int {
	t.Helper()
	var n int
	Until("file descriptors to close", d, func() bool {
		n = OpenFiles(t)
		return n <= base
	})
	return n
}

// leakGrace is how long VerifyTestMain lets goroutines that are ending
// (closed links, stopped timers) finish before it reports them. goleak
// itself retries for under half a second, too short for a busy machine
// running -race.
const leakGrace = 15 * time.Second

// VerifyTestMain runs the package's tests and then, if they passed, fails
// the run when goroutines are left behind: it is [goleak.VerifyTestMain]
// after up to 15 s for the remaining goroutines to end. m is usually the
// *testing.M; a package that must clean up after its tests wraps m.Run in a
// [RunFunc]. opts are goleak's (goleak.IgnoreTopFunction for a library's
// background goroutine, never goleak.Cleanup); each one a package passes
// says why in a comment.
func VerifyTestMain(m goleak.TestingM, opts ...goleak.Option) {
	opts = append(slices.Clone(processGlobals), opts...)
	goleak.VerifyTestMain(settle{m, opts}, opts...)
}

// processGlobals are the goroutines that a library starts once for the
// whole process and never stops, by design: they are no test's leak, and
// VerifyTestMain ignores them in every package.
var processGlobals = []goleak.Option{
	// go-ethereum's transaction sender cache: the first core.SenderCacher()
	// call (any simulated chain's block import) starts runtime.NumCPU()
	// workers on a channel that is never closed (core/sender_cacher.go).
	goleak.IgnoreTopFunction("github.com/ethereum/go-ethereum/core.(*txSenderCacher).cache"),
}

// RunFunc is a func as a goleak.TestingM.
type RunFunc func() int

// Run calls f.
func (f RunFunc) Run() int { return f() }

// settle is a goleak.TestingM whose Run, after the tests, waits for the
// goroutines goleak would report to end.
type settle struct {
	m    goleak.TestingM
	opts []goleak.Option
}

func (s settle) Run() int {
	code := s.m.Run()
	if code != 0 {
		return code
	}
	deadline := time.Now().Add(leakGrace)
	for goleak.Find(s.opts...) != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	return code
}
