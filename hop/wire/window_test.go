package wire

import (
	"testing"
	"time"
)

// path is a deterministic model of a circuit's path for Window: a
// bottleneck of rate cells per second behind a base round trip, and a
// sender that keeps its window full. Every cell queued beyond the
// bandwidth-delay product adds 1/rate to the round trip, and other
// traffic can hold extra cells in the same queue.
type path struct {
	rate  float64       // cells per second
	base  time.Duration // round trip with empty queues
	extra float64       // cells of other traffic queued at the bottleneck
}

func (p path) rtt(inflight uint64) time.Duration {
	bdp := p.rate * p.base.Seconds()
	q := max(float64(inflight)-bdp, 0) + p.extra
	return p.base + time.Duration(q/p.rate*float64(time.Second))
}

// run drives w over p for rounds windows, acknowledging every eighth of
// the window, on a fake clock that starts at *now; it returns the
// standing queue (cells) of the last round.
func run(w *Window, p path, rounds int, full bool, now *time.Time, acked *uint64) float64 {
	var q float64
	for range rounds {
		cw := w.Size()
		rtt := p.rtt(cw)
		step := max(cw/8, 1)
		for i := uint64(0); i < cw; i += step {
			if full {
				w.Closed()
			}
			*now = now.Add(rtt / 8)
			*acked += step
			w.Ack(*acked, *acked+cw, rtt, *now)
		}
		q = (rtt - p.base).Seconds() * p.rate
	}
	return q
}

func testConfig() WindowConfig {
	return WindowConfig{Min: 16, Max: 1000, Init: 32, Alpha: 8, Beta: 16, Gamma: 16, Delta: 32}
}

// TestWindowKeepsQueueShort: on a path whose bandwidth-delay product is
// 200 cells, a full window settles where Alpha..Beta cells stand queued,
// not at its maximum, so a cell behind the window waits a few ms.
func TestWindowKeepsQueueShort(t *testing.T) {
	w := NewWindow(testConfig())
	p := path{rate: 4000, base: 50 * time.Millisecond} // bdp 200 cells
	now, acked := time.Unix(1000, 0), uint64(0)
	run(w, p, 60, true, &now, &acked)
	q := run(w, p, 1, true, &now, &acked)
	if c := w.Size(); c < 200 || c > 200+16+16 {
		t.Fatalf("window settled at %d cells on a path of 200 cells bandwidth-delay product; want 200+Alpha..200+Beta (queue %.1f cells)", c, q)
	}
	if q < 4 || q > 24 {
		t.Fatalf("standing queue %.1f cells, want about Alpha..Beta (8..16)", q)
	}
}

// TestWindowShrinksWhenQueueBuilds: traffic that the window does not
// count (another flow filling the same queue) raises the round trip; the
// window shrinks to its floor within a few rounds, and grows back once the
// queue is gone.
func TestWindowShrinksWhenQueueBuilds(t *testing.T) {
	w := NewWindow(testConfig())
	p := path{rate: 4000, base: 50 * time.Millisecond}
	now, acked := time.Unix(1000, 0), uint64(0)
	run(w, p, 60, true, &now, &acked)
	before := w.Size()
	p.extra = 400 // 100 ms of someone else's cells
	run(w, p, 8, true, &now, &acked)
	if w.Size() > 2*testConfig().Beta {
		t.Fatalf("window %d cells after 8 rounds with 400 cells queued ahead (was %d); want at most 2*Beta (%d): its own cells queued within Alpha..Beta", w.Size(), before, 2*testConfig().Beta)
	}
	p.extra = 0
	run(w, p, 200, true, &now, &acked)
	if w.Size() < 200 {
		t.Fatalf("window %d cells 200 rounds after the queue drained; want back above the bandwidth-delay product (200)", w.Size())
	}
}

// TestWindowSlowStartStopsAtQueue: slow start doubles the window each
// round while the path has room, and stops once cells queue.
func TestWindowSlowStartStopsAtQueue(t *testing.T) {
	w := NewWindow(testConfig())
	p := path{rate: 10000, base: 100 * time.Millisecond} // bdp 1000 cells: never queues below Max
	now, acked := time.Unix(1000, 0), uint64(0)
	run(w, p, 7, true, &now, &acked)
	if w.Size() != 1000 {
		t.Fatalf("window %d after 7 rounds on an empty path; want Max (1000) by doubling from 32", w.Size())
	}
	w = NewWindow(testConfig())
	p = path{rate: 1000, base: 20 * time.Millisecond} // bdp 20 cells
	run(w, p, 10, true, &now, &acked)
	if w.Size() > 20+32 {
		t.Fatalf("window %d after slow start on a path of 20 cells bandwidth-delay product; want at most 20+Delta", w.Size())
	}
}

// TestWindowGrowsOnlyWhenFull: a sender that never fills its window does
// not grow it (a window grown while idle would let a burst through later).
func TestWindowGrowsOnlyWhenFull(t *testing.T) {
	w := NewWindow(testConfig())
	p := path{rate: 10000, base: 100 * time.Millisecond}
	now, acked := time.Unix(1000, 0), uint64(0)
	run(w, p, 20, false, &now, &acked)
	if w.Size() != testConfig().Init {
		t.Fatalf("window %d after 20 rounds never full; want it left at %d", w.Size(), testConfig().Init)
	}
}

// TestWindowForgetsOldBase: the smallest round trip is remembered for one
// to two epochs, so a path that became slower for good is not read as a
// standing queue for ever.
func TestWindowForgetsOldBase(t *testing.T) {
	w := NewWindow(testConfig())
	now := time.Unix(1000, 0)
	w.Ack(1, 2, 10*time.Millisecond, now)
	for i := uint64(2); i < 400; i++ {
		now = now.Add(100 * time.Millisecond)
		w.Ack(i, i+1, 50*time.Millisecond, now)
	}
	if b := w.BaseRTT(); b != 50*time.Millisecond {
		t.Fatalf("base round trip %v after 40 s of 50 ms samples; want 50ms (the 10 ms sample forgotten)", b)
	}
}

// TestCircuitWindowConfig: the byte sizes hold for every cell size, and the
// bounds are consistent.
func TestCircuitWindowConfig(t *testing.T) {
	for _, size := range []int{512, 4096, 16384} {
		c := CircuitWindowConfig(size, 768<<10)
		if c.Min > c.Init || c.Init > c.Max || c.Alpha >= c.Beta || c.Beta >= c.Delta || c.Min < 4 {
			t.Errorf("cell size %d: inconsistent %+v", size, c)
		}
		if got := c.Max * uint64(size); got > 768<<10 {
			t.Errorf("cell size %d: max window %d bytes, more than the 768 KiB asked", size, got)
		}
	}
}
