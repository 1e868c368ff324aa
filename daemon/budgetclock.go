package daemon

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BudgetClock is a compressed clock for the budget engine alone, for
// tests that run a whole month through the real daemon in minutes
// (pexiad's -test-clock; never set in normal use, and only the admin, who
// starts pexiad, can set it). It follows a schedule of segments, each
// starting at a simulated instant:
//
//   - TIME@SPEED: from TIME on, simulated time runs SPEED times as fast as
//     real time, until the next segment's instant;
//   - TIME@step: the clock stands at TIME until Step is called (pexiad: on
//     SIGUSR1), which moves it to the next segment's instant;
//   - a last TIME@0 stops the clock at TIME.
//
// A stepped clock lets a test wait, between steps, until every winner of
// the tickets issued so far is claimed and recorded, so the budget never
// plans on spend it has not seen yet; a running one is simpler but leaves
// that lag in (hours of its month at thousands ×).
//
// Only the budget engine reads it: the month, the throttle's refill and its
// waits, the in-flight window of winners (ClaimWindow) and the horizon the
// per-hop deposits cover, which the daemon's real-time account upkeep
// (every minute) spans. Everything else (tickets' expiry, the hop accounts'
// rotation, the chain) keeps real time.
type BudgetClock struct {
	segs  []clockSegment
	real  func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu      sync.Mutex
	cur     int           // the current segment
	entered time.Time     // real time the current segment began
	changed chan struct{} // closed at each step
}

type clockSegment struct {
	at    time.Time // simulated start
	speed float64   // simulated seconds per real second; 0 stands still
	step  bool      // stands until Step
}

// claimLatency is the real time a winner may take from issue to being
// recorded as spend under a running compressed clock: the node's batching
// (a second when its redeem max_wait is), a block, and the daemon's poll of
// the chain's Won events, which runs every tick under such a clock.
const claimLatency = 10 * time.Second

// ParseBudgetClock reads a schedule "T0@S0,T1@S1,...": RFC 3339 instants in
// increasing order, each with the speed from that instant on (simulated
// seconds per real second, a non-negative number, or "step"). A speed of 0
// stops the clock and must be the last. The clock starts at T0 now.
func ParseBudgetClock(spec string) (*BudgetClock, error) {
	c := &BudgetClock{real: time.Now, sleep: sleep, changed: make(chan struct{})}
	for i, part := range strings.Split(spec, ",") {
		at, sp, ok := strings.Cut(strings.TrimSpace(part), "@")
		if !ok {
			return nil, fmt.Errorf("test clock %q: segment %d: want TIME@SPEED", spec, i+1)
		}
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return nil, fmt.Errorf("test clock %q: segment %d: %v", spec, i+1, err)
		}
		s := clockSegment{at: t, step: sp == "step"}
		if !s.step {
			speed, err := strconv.ParseFloat(sp, 64)
			if err != nil || !(speed >= 0 && speed <= 1e9) {
				return nil, fmt.Errorf("test clock %q: segment %d: speed %q: want a number from 0 to 1e9, or step", spec, i+1, sp)
			}
			s.speed = speed
		}
		if n := len(c.segs); n > 0 {
			prev := c.segs[n-1]
			if !t.After(prev.at) {
				return nil, fmt.Errorf("test clock %q: segment %d starts at %s, not after the one before", spec, i+1, at)
			}
			if prev.stopped() {
				return nil, fmt.Errorf("test clock %q: segment %d follows a stopped clock (speed 0 must be last)", spec, i+1)
			}
		}
		c.segs = append(c.segs, s)
	}
	if last := c.segs[len(c.segs)-1]; len(c.segs) == 1 && (last.stopped() || last.step) {
		return nil, fmt.Errorf("test clock %q: a clock that never runs", spec)
	}
	c.entered = c.real()
	return c, nil
}

func (s clockSegment) stopped() bool { return !s.step && s.speed == 0 }

// advanceLocked enters the running segments whose instant the clock has
// reached, and returns the simulated time.
func (c *BudgetClock) advanceLocked() time.Time {
	for {
		s := c.segs[c.cur]
		if s.step || s.speed == 0 {
			return s.at
		}
		now := c.real()
		t := s.at.Add(time.Duration(float64(now.Sub(c.entered)) * s.speed))
		if c.cur+1 == len(c.segs) || t.Before(c.segs[c.cur+1].at) {
			return t
		}
		// The next segment began when the clock reached its instant.
		next := c.segs[c.cur+1].at
		c.entered = c.entered.Add(time.Duration(float64(next.Sub(s.at)) / s.speed))
		c.cur++
	}
}

// Now is the simulated time.
func (c *BudgetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.advanceLocked()
}

// Step moves a clock standing at a step segment to the next segment's
// instant, and reports where it is then; ok is false (and nothing changes)
// if the clock is not standing at a step.
func (c *BudgetClock) Step() (now time.Time, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.advanceLocked()
	if !c.segs[c.cur].step || c.cur+1 == len(c.segs) {
		return t, false
	}
	c.cur++
	c.entered = c.real()
	close(c.changed)
	c.changed = make(chan struct{})
	return c.advanceLocked(), true
}

// Sleep waits until the clock has moved on by d, or ctx ends.
func (c *BudgetClock) Sleep(ctx context.Context, d time.Duration) error {
	return c.sleepUntil(ctx, c.Now().Add(d))
}

// sleepUntil waits until the clock shows target, or ctx ends.
func (c *BudgetClock) sleepUntil(ctx context.Context, target time.Time) error {
	for {
		c.mu.Lock()
		now := c.advanceLocked()
		s, changed := c.segs[c.cur], c.changed
		wait := time.Duration(-1) // until a step
		if !now.Before(target) {
			c.mu.Unlock()
			return nil
		}
		if !s.step && s.speed > 0 {
			end := target
			if c.cur+1 < len(c.segs) && c.segs[c.cur+1].at.Before(end) {
				end = c.segs[c.cur+1].at
			}
			wait = time.Duration(float64(end.Sub(now))/s.speed) + 1
		}
		c.mu.Unlock()
		if wait >= 0 {
			if err := c.sleep(ctx, wait); err != nil {
				return err
			}
			continue
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// span is the most simulated time real duration d can cover: d at the
// fastest speed, and at least ten of the longest steps of a stepped clock
// (a test steps it every few seconds).
func (c *BudgetClock) span(d time.Duration) time.Duration {
	fast := 1.0
	var step time.Duration
	for i, s := range c.segs {
		fast = max(fast, s.speed)
		if s.step && i+1 < len(c.segs) {
			step = max(step, c.segs[i+1].at.Sub(s.at))
		}
	}
	return max(time.Duration(float64(d)*fast), 10*step)
}

// claimWindow is the engine's ClaimWindow under the clock. A stepped clock
// stands still while winners are claimed, so a minute will do; a running
// one needs claimLatency at the speed of its last running segment, where
// the month's budget runs low.
func (c *BudgetClock) claimWindow() time.Duration {
	speed := 1.0
	for _, s := range c.segs {
		if s.step {
			return time.Minute
		}
		if s.speed > 0 {
			speed = s.speed
		}
	}
	return time.Duration(float64(claimLatency) * speed)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
