package hop

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/pexia-network/pexia/hop/onion"
)

// Padding ("bandwidth burning"): with BuildConfig.PaddingRate set, the
// circuit carries exactly that many cells per second in each direction,
// whatever the traffic: the client sends its cells on a fixed schedule,
// filling every slot that has no data with a PADDING cell sealed for the
// exit, and asks the exit (with a PADDING cell whose payload names the
// rate) to do the same towards the client. Every relay sees a constant,
// uniform stream of cells, so the timing and volume of the user's traffic
// are hidden from them and from anyone watching the links; the price is
// that the circuit's throughput is capped at the rate and that idle time
// costs as much as busy time: every padding cell is carried, metered and
// paid by every hop like any other (see budget.PaddingCost).

// MaxPaddingRate bounds the padding rate a client may ask of an exit, in
// cells per second (8 MiB/s of 4 KiB cells).
const MaxPaddingRate = 2048

// padder schedules a circuit direction's cells at a constant rate.
type padder struct {
	interval time.Duration
	send     func() error // sends one padding cell (which takes a slot itself)

	mu   sync.Mutex
	next time.Time // the next free slot
}

func newPadder(rate int, send func() error) *padder {
	if rate > MaxPaddingRate {
		rate = MaxPaddingRate
	}
	return &padder{interval: time.Second / time.Duration(rate), send: send}
}

// take waits for the next free slot and claims it; it returns false if
// done closes first.
func (p *padder) take(done <-chan struct{}) bool {
	p.mu.Lock()
	// Slots stay on their grid through timer latency; a schedule that fell
	// behind by more than a slot (idle without padding, or a slow writer)
	// restarts now instead of bursting to catch up.
	if now := time.Now(); now.Sub(p.next) > p.interval {
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

// run fills every slot no cell took with a padding cell, until done.
func (p *padder) run(done <-chan struct{}) {
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

// paddingRequest is the payload of the PADDING cell that asks the exit to
// pad towards the client at rate cells per second.
func paddingRequest(rate int) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(rate))
	return b[:]
}

// decodePaddingRequest reads the rate of a padding request; a PADDING cell
// with any other payload is plain padding.
func decodePaddingRequest(p []byte) (int, bool) {
	if len(p) != 4 {
		return 0, false
	}
	r := int(binary.BigEndian.Uint32(p))
	if r <= 0 {
		return 0, false
	}
	return min(r, MaxPaddingRate), true
}

// clientPadder is the schedule of the client side of c; set before any
// goroutine of c runs.
func (c *Circuit) clientPadder(rate int) *padder {
	last := len(c.hops) - 1
	return newPadder(rate, func() error {
		return c.send(last, onion.LinkRelay, onion.RelayPadding, nil)
	})
}

// startPadding asks the exit to pad too and starts filling empty slots.
func (c *Circuit) startPadding(rate int) error {
	last := len(c.hops) - 1
	if err := c.send(last, onion.LinkRelay, onion.RelayPadding, paddingRequest(rate)); err != nil {
		return err
	}
	go c.pad.run(c.done)
	return nil
}

// startBackwardPadding turns on constant-rate cells from this exit towards
// the client, at the client's request.
func (c *circuit) startBackwardPadding(circID uint32, rate int) {
	c.bpadOnce.Do(func() {
		p := newPadder(rate, func() error {
			return c.originate(circID, onion.RelayPadding, nil)
		})
		c.bpad.Store(p)
		c.n.goOwned(func() { p.run(c.done) })
	})
}
