package daemon

import (
	"sync"
	"time"
)

// rateMeter turns the routers' byte counters into totals since the daemon
// started and rates over the last few seconds.
type rateMeter struct {
	mu       sync.Mutex
	r        *router
	baseUp   uint64 // bytes of routers already detached
	baseDown uint64
	samples  []sample // the last few seconds, oldest first
}

type sample struct {
	at       time.Time
	up, down uint64
}

const rateWindow = 3 * time.Second

func (m *rateMeter) attach(r *router) {
	m.mu.Lock()
	m.r = r
	m.mu.Unlock()
}

func (m *rateMeter) detach(r *router) {
	if r == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.r == r {
		m.baseUp += uint64(r.up.Load())
		m.baseDown += uint64(r.down.Load())
		m.r = nil
	}
}

func (m *rateMeter) totalsLocked() (up, down uint64) {
	up, down = m.baseUp, m.baseDown
	if m.r != nil {
		up += uint64(m.r.up.Load())
		down += uint64(m.r.down.Load())
	}
	return up, down
}

// sample records the counters now and reports whether they moved within
// the window.
func (m *rateMeter) sample() (up, down, rateUp, rateDown uint64, changed bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	up, down = m.totalsLocked()
	m.samples = append(m.samples, sample{now, up, down})
	for len(m.samples) > 1 && now.Sub(m.samples[0].at) > rateWindow {
		m.samples = m.samples[1:]
	}
	rateUp, rateDown = m.ratesLocked()
	first := m.samples[0]
	changed = first.up != up || first.down != down || len(m.samples) == 1
	return up, down, rateUp, rateDown, changed
}

func (m *rateMeter) ratesLocked() (up, down uint64) {
	if len(m.samples) < 2 {
		return 0, 0
	}
	a, b := m.samples[0], m.samples[len(m.samples)-1]
	dt := b.at.Sub(a.at).Seconds()
	if dt <= 0 {
		return 0, 0
	}
	return uint64(float64(b.up-a.up) / dt), uint64(float64(b.down-a.down) / dt)
}

func (m *rateMeter) read() (up, down, rateUp, rateDown uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	up, down = m.totalsLocked()
	rateUp, rateDown = m.ratesLocked()
	return
}
