package testutil

import (
	"testing"
	"time"
)

// WaitFor polls cond until it holds, and fails t if it does not within d,
// naming what it waited for ("timed out after 5s waiting for the route").
// The polls start fast and slow down to every 20 ms.
func WaitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	if err := Until(what, d, cond); err != nil {
		t.Fatal(err)
	}
}

// Until polls cond until it holds and returns nil, or returns an error
// naming what it waited for when d passes first. Unlike [WaitFor] it may be
// called from a goroutine other than the test's.
func Until(what string, d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			return &TimeoutError{What: what, After: d}
		}
		time.Sleep(pause)
		pause = min(2*pause, 20*time.Millisecond)
	}
	return nil
}

// TimeoutError is what [Until] returns when its condition did not hold in
// time.
type TimeoutError struct {
	What  string
	After time.Duration
}

func (e *TimeoutError) Error() string {
	return "timed out after " + e.After.String() + " waiting for " + e.What
}
