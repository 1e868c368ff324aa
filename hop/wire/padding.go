package wire

import (
	"encoding/binary"
	"sync"
	"time"
)

// Constant-rate cells: a circuit with padding carries exactly a given
// number of cells per second in each direction. The client schedules its
// own cells with a Padder and asks the last hop, with a PADDING cell whose
// payload is a PaddingRequest, to schedule the cells it sends back the
// same way (see package hop, padding.go).

// MaxPaddingRate bounds the padding rate a client may ask of an exit, in
// cells per second (8 MiB/s of 4 KiB cells).
const MaxPaddingRate = 2048

// MaxCatchUp is how far behind its schedule a Padder may fall and still
// send the slots it owes, in a burst, rather than start again: timers on
// a busy machine fire late by a few milliseconds, often more than a slot
// at high rates, and restarting at each late wake would carry far fewer
// cells than the rate (60 % of it at 200 cells/s on two loaded cores).
// A burst is at most MaxCatchUp's worth of cells.
const MaxCatchUp = 100 * time.Millisecond

// Padder schedules a circuit direction's cells at a constant rate.
type Padder struct {
	interval time.Duration
	send     func() error // sends one padding cell (which takes a slot itself)

	mu   sync.Mutex
	next time.Time // the next free slot
}

// NewPadder schedules rate cells per second (at most MaxPaddingRate);
// send sends one padding cell, for a slot no other cell took.
func NewPadder(rate int, send func() error) *Padder {
	if rate > MaxPaddingRate {
		rate = MaxPaddingRate
	}
	return &Padder{interval: time.Second / time.Duration(rate), send: send}
}

// Take waits for the next free slot and claims it; it returns false if
// done closes first.
func (p *Padder) Take(done <-chan struct{}) bool {
	p.mu.Lock()
	// Slots stay on their grid through timer latency: slots that passed
	// while the goroutine waited for a CPU are owed and sent at once, so
	// a loaded machine keeps the rate. A schedule that fell behind by
	// more than MaxCatchUp (idle without padding, or a slow writer)
	// restarts now instead of bursting to catch up.
	if now := time.Now(); now.Sub(p.next) > max(MaxCatchUp, p.interval) {
		p.next = now
	}
	at := p.next
	p.next = at.Add(p.interval)
	p.mu.Unlock()
	if d := time.Until(at); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-done:
			return false
		}
	}
	return true
}

// Run fills every slot no cell took with a padding cell, until done.
func (p *Padder) Run(done <-chan struct{}) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		p.mu.Lock()
		at := p.next
		p.mu.Unlock()
		if d := time.Until(at); d > 0 {
			t.Reset(d)
			select {
			case <-done:
				return
			case <-t.C:
			}
		} else {
			select {
			case <-done:
				return
			default:
			}
		}
		p.mu.Lock()
		free := !p.next.After(at) // nobody has claimed the slot at 'at'
		p.mu.Unlock()
		if free {
			if err := p.send(); err != nil {
				return
			}
		}
	}
}

// PaddingRequest is the payload of the PADDING cell that asks the exit to
// pad towards the client at rate cells per second.
func PaddingRequest(rate int) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(rate))
	return b[:]
}

// DecodePaddingRequest reads the rate of a padding request; a PADDING cell
// with any other payload is plain padding.
func DecodePaddingRequest(p []byte) (int, bool) {
	if len(p) != 4 {
		return 0, false
	}
	r := int(binary.BigEndian.Uint32(p))
	if r <= 0 {
		return 0, false
	}
	return min(r, MaxPaddingRate), true
}
