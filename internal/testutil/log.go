package testutil

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/pexia-network/pexia/internal/logger"
)

// Log collects the lines of a [logger.Logf] and forwards them to t.Log
// until the test's cleanups have run; later lines (from goroutines that a
// library winds down after the test) are kept but not forwarded, since
// testing panics on a log after the test ended.
type Log struct {
	t     testing.TB
	mu    sync.Mutex
	done  bool
	lines []string
}

// NewLog returns a Log for t.
func NewLog(t testing.TB) *Log {
	l := &Log{t: t}
	t.Cleanup(func() {
		l.mu.Lock()
		l.done = true
		l.mu.Unlock()
	})
	return l
}

// Logf is the Log as a [logger.Logf].
func (l *Log) Logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	if !l.done {
		l.t.Log(line)
	}
}

var _ logger.Logf = new(Log).Logf

// Lines returns every line logged so far.
func (l *Log) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// Has says whether a line logged so far contains sub.
func (l *Log) Has(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
