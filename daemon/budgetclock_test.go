package daemon

import (
	"context"
	"strings"
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// fakeReal makes c run on a real clock the test moves.
func fakeReal(c *BudgetClock) (advance func(time.Duration), slept *[]time.Duration) {
	now := c.entered
	c.real = func() time.Time { return now }
	var s []time.Duration
	c.sleep = func(ctx context.Context, d time.Duration) error { s = append(s, d); now = now.Add(d); return nil }
	return func(d time.Duration) { now = now.Add(d) }, &s
}

// TestBudgetClockSchedule runs a schedule on a controlled real clock: fast,
// then slow, then stopped; Sleep waits the real time the schedule needs,
// and forever past the stop.
func TestBudgetClockSchedule(t *testing.T) {
	c, err := ParseBudgetClock("2026-03-01T00:00:00Z@3600,2026-03-01T10:00:00Z@60,2026-03-01T11:00:00Z@0")
	if err != nil {
		t.Fatal(err)
	}
	advance, _ := fakeReal(c)
	for _, tc := range []struct {
		real time.Duration
		want string
	}{
		{0, "2026-03-01T00:00:00Z"},
		{5 * time.Second, "2026-03-01T05:00:00Z"},
		{5 * time.Second, "2026-03-01T10:00:00Z"},
		{30 * time.Second, "2026-03-01T10:30:00Z"},
		{30 * time.Second, "2026-03-01T11:00:00Z"},
		{time.Hour, "2026-03-01T11:00:00Z"},
	} {
		advance(tc.real)
		if got := c.Now(); !got.Equal(at(tc.want)) {
			t.Errorf("%v later: %v, want %s", tc.real, got, tc.want)
		}
	}
	c2, _ := ParseBudgetClock("2026-03-01T00:00:00Z@3600,2026-03-01T10:00:00Z@60,2026-03-01T11:00:00Z@0")
	advance, slept := fakeReal(c2)
	advance(5 * time.Second)
	// From 05:00 to 10:30 takes 5 s fast and 30 s slow.
	if err := c2.Sleep(context.Background(), 5*time.Hour+30*time.Minute); err != nil || c2.Now().Before(at("2026-03-01T10:30:00Z")) || c2.Now().Sub(at("2026-03-01T10:30:00Z")) > time.Millisecond {
		t.Errorf("sleep 5h30m from 05:00: %v, now %v, slept %v", err, c2.Now(), *slept)
	}
	var total time.Duration
	for _, d := range *slept {
		total += d
	}
	if total < 35*time.Second || total > 35*time.Second+time.Millisecond {
		t.Errorf("slept %v in all, want 35s", total)
	}
	// Past the stop only the context ends a sleep.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c2.Sleep(ctx, 7*time.Hour); err != context.Canceled {
		t.Errorf("sleep past the stop: %v, want context.Canceled", err)
	}
	if _, ok := c2.Step(); ok {
		t.Error("a running clock stepped")
	}
	if got := c2.claimWindow(); got != 60*claimLatency {
		t.Errorf("claim window %v, want %v (the last running speed)", got, 60*claimLatency)
	}
	if got := c2.span(time.Minute); got != 60*time.Hour {
		t.Errorf("span of a real minute %v, want 60h (the fastest speed)", got)
	}
}

// TestBudgetClockSteps: a stepped clock stands until Step, which wakes a
// Sleep that the step carries past its target.
func TestBudgetClockSteps(t *testing.T) {
	c, err := ParseBudgetClock("2026-03-01T00:00:00Z@step,2026-03-02T00:00:00Z@step,2026-03-03T00:00:00Z@0")
	if err != nil {
		t.Fatal(err)
	}
	advance, _ := fakeReal(c)
	advance(time.Hour)
	if got := c.Now(); !got.Equal(at("2026-03-01T00:00:00Z")) {
		t.Errorf("a stepped clock moved by itself to %v", got)
	}
	woke := make(chan error, 1)
	go func() { woke <- c.sleepUntil(context.Background(), at("2026-03-02T06:00:00Z")) }()
	if now, ok := c.Step(); !ok || !now.Equal(at("2026-03-02T00:00:00Z")) {
		t.Fatalf("first step: %v %v", now, ok)
	}
	select {
	case err := <-woke:
		t.Fatalf("a sleep until 06:00 on the 2nd ended at the 2nd's midnight: %v", err)
	default:
	}
	if now, ok := c.Step(); !ok || !now.Equal(at("2026-03-03T00:00:00Z")) {
		t.Fatalf("second step: %v %v", now, ok)
	}
	if err := <-woke; err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Step(); ok {
		t.Error("stepped past the stop")
	}
	if got := c.claimWindow(); got != time.Minute {
		t.Errorf("claim window %v under steps, want 1m", got)
	}
	if got := c.span(time.Minute); got != 10*24*time.Hour {
		t.Errorf("span %v under daily steps, want ten days", got)
	}
}

func TestBudgetClockBadSchedules(t *testing.T) {
	for spec, want := range map[string]string{
		"":                          "want TIME@SPEED",
		"2026-03-01T00:00:00Z":      "want TIME@SPEED",
		"yesterday@10":              "cannot parse",
		"2026-03-01T00:00:00Z@-1":   "want a number",
		"2026-03-01T00:00:00Z@0":    "never runs",
		"2026-03-01T00:00:00Z@step": "never runs",
		"2026-03-02T00:00:00Z@5,2026-03-01T00:00:00Z@1": "not after",
		"2026-03-01T00:00:00Z@0,2026-03-02T00:00:00Z@1": "speed 0 must be last",
	} {
		if _, err := ParseBudgetClock(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error with %q", spec, err, want)
		}
	}
}
