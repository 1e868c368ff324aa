package relay

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/hop/wire"
)

// TestDownWindowJudgesItsOwnQueue drives the exit's window towards the
// client through a path with 1 ms each way, on a fake clock, sending a full
// window every round, then puts a 200 ms queue on one direction. A queue
// on the way back to the exit (the SENDMEs waiting behind the client's own
// upload) must not shrink the window when SENDMEs carry their arrival
// time; a queue on the way to the client must.
func TestDownWindowJudgesItsOwnQueue(t *testing.T) {
	const (
		oneWay = time.Millisecond
		queue  = 200 * time.Millisecond
		gap    = 100 * time.Microsecond // between cells sent
	)
	clientClock := 7 * time.Second // the client's clock runs from elsewhere
	for _, tc := range []struct {
		name       string
		timed      bool // SENDMEs carry arrival times
		up, down   time.Duration
		wantShrink bool
	}{
		{"queue towards the exit", true, queue, 0, false},
		{"queue towards the exit, no arrival times", false, queue, 0, true},
		{"queue towards the client", true, 0, queue, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w downWindow
			w.init(4096)
			now := w.t0
			n := uint64(0)
			round := func(up, down time.Duration) {
				type pending struct {
					d       onion.Digest
					arrived time.Time // at the client
				}
				var acks []pending
				for range w.win.Size() {
					n++
					var d onion.Digest
					binary.BigEndian.PutUint64(d[:], n)
					w.originatedAt(d, now)
					if n%wire.SendmeEvery == 0 {
						acks = append(acks, pending{d, now.Add(oneWay + down)})
					}
					now = now.Add(gap)
				}
				w.win.Closed() // the flow always had more to send
				for _, a := range acks {
					var arrived uint64
					if tc.timed {
						arrived = uint64(clientClock + a.arrived.Sub(w.t0))
					}
					at := a.arrived.Add(oneWay + up)
					now = maxTime(now, at)
					w.sendmeAt(a.d, arrived, at)
				}
			}
			for range 8 {
				round(0, 0)
			}
			before := w.win.Size()
			for range 12 {
				round(tc.up, tc.down)
			}
			after := w.win.Size()
			t.Logf("window %d cells before the queue, %d after 12 rounds with it", before, after)
			if shrank := after < before; shrank != tc.wantShrink {
				t.Errorf("window went from %d to %d cells; want it to shrink: %v", before, after, tc.wantShrink)
			}
		})
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
