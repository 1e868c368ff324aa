package wire

import (
	"testing"
	"time"
)

// TestPadderCatchesUpAfterLateWake checks that a schedule woken late (a
// busy CPU delays timers by several slots) keeps its rate by sending the
// slots it owes at once, rather than restarting and losing them: a circuit
// with padding must carry its rate on a loaded machine too.
func TestPadderCatchesUpAfterLateWake(t *testing.T) {
	const rate = 100 // a slot every 10 ms
	p := NewPadder(rate, func() error { return nil })
	done := make(chan struct{})
	defer close(done)
	if !p.Take(done) {
		t.Fatal("first slot not taken")
	}
	start := time.Now()
	time.Sleep(60 * time.Millisecond) // woken 6 slots late
	// The slots due in the meantime are owed now: taking them does not wait.
	owed := 0
	for time.Since(start) < 200*time.Millisecond {
		before := time.Now()
		if !p.Take(done) {
			t.Fatal("slot not taken")
		}
		if time.Since(before) > 3*time.Millisecond {
			break
		}
		owed++
	}
	if owed < 4 {
		t.Fatalf("after waking 6 slots late, %d slots were taken at once; want the 5 or 6 owed (the schedule restarted and lost them)", owed)
	}
	if owed > 8 {
		t.Fatalf("%d slots taken at once after waking 6 slots late; want no more than owed", owed)
	}
}

// TestPadderRestartsAfterLongIdle checks that a schedule idle for longer
// than MaxCatchUp restarts instead of bursting everything it missed.
func TestPadderRestartsAfterLongIdle(t *testing.T) {
	const rate = 1000 // a slot every ms
	p := NewPadder(rate, func() error { return nil })
	done := make(chan struct{})
	defer close(done)
	p.Take(done)
	time.Sleep(MaxCatchUp + 100*time.Millisecond)
	start := time.Now()
	n := 0
	for time.Since(start) < 20*time.Millisecond {
		p.Take(done)
		n++
	}
	limit := int(MaxCatchUp/time.Millisecond) + 20 + 5
	if n > limit {
		t.Fatalf("%d slots in 20 ms after a long idle; want at most %d (a burst of MaxCatchUp and the rate)", n, limit)
	}
}
