package relay

import (
	"sync"
	"time"

	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/hop/wire"
)

// The exit's send window towards the client (docs/PROTOCOL.md 2.8). The
// client sends a SENDME echoing the Digest of every wire.SendmeEvery-th
// relay cell it receives from the last hop; the exit remembers the Digest
// and the time of those cells, so a SENDME both proves the cells arrived
// (only the two ends can compute a Digest) and gives their round trip. The
// stream layer's DATA cells then wait (stream.Config.Gate) while the
// window's cells are unacknowledged; the window follows the round trips
// (wire.Window), so a flood towards the client is held and dropped here,
// in its flow's bounded queue, instead of queueing on the links ahead of
// every other cell of the circuit. The exit's own cells (PONG, PAID,
// padding) and the stream layer's control frames never wait for it.
//
// A client that sends no SENDME (one from before them) is never held: the
// window applies from the first SENDME that matches a cell.
type downWindow struct {
	mu    sync.Mutex
	on    bool   // a SENDME matched: the client acknowledges
	sent  uint64 // relay cells originated towards the client
	acked uint64 // cells acknowledged
	marks []mark // every SendmeEvery-th cell not yet acknowledged, oldest first
	win   *wire.Window
	wake  chan struct{} // signalled when acked moves

	// The cells' one-way delays towards the client (the client's clock
	// at arrival minus this hop's at sending, so plus an unknown
	// constant): their smallest over the last one to two owdEpochs is
	// the path's, and a delay above it is a queue on the way to the
	// client. t0 is this hop's clock's zero.
	t0               time.Time
	owdMin, owdPrev  int64
	owdOK, owdPrevOK bool
	owdEpoch         time.Time
}

// mark is a cell the client acknowledges with a SENDME.
type mark struct {
	n  uint64
	d  onion.Digest
	at time.Time
}

// maxMarks bounds the cells remembered for SENDMEs: more than a full
// window's worth (768 KiB of 4096-byte cells is 12 marks), so only a
// client that does not acknowledge at all makes the oldest go.
const maxMarks = 64

func (w *downWindow) init(cellSize int) {
	cfg := wire.CircuitWindowConfig(cellSize, downWindowBytes)
	cfg.Min = max(cfg.Min, uint64(downWindowMinBytes/cellSize))
	w.win = wire.NewWindow(cfg)
	w.wake = make(chan struct{}, 1)
	w.t0 = time.Now()
}

// owdEpoch is how long the smallest one-way delay is remembered, as
// wire.Window remembers its smallest round trip.
const owdEpoch = 10 * time.Second

// downWindowBytes is the top of the window towards the client, below the
// links' per-channel window like the client's (package hop, sendWindowBytes).
const downWindowBytes = 768 << 10

// downWindowMinBytes is the floor of the window towards the client: twice
// the client's (wire.CircuitWindowConfig). Downloads are what a client
// mostly waits for, and on a path whose relays are short of CPU every
// cell of the circuit, either way, waits its turn: a flood going up then
// delays the download's cells too, and a window at the client's floor
// left a TCP download a third of its goodput (e2e TestUDPFlood).
const downWindowMinBytes = 256 << 10

// originated counts a relay cell sealed towards the client, with its
// Digest d.
func (w *downWindow) originated(d onion.Digest) { w.originatedAt(d, time.Now()) }

func (w *downWindow) originatedAt(d onion.Digest, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sent++
	if w.sent%wire.SendmeEvery != 0 {
		return
	}
	if len(w.marks) == maxMarks {
		w.marks = w.marks[1:]
	}
	w.marks = append(w.marks, mark{n: w.sent, d: d, at: now})
}

// sendme takes the client's SENDME for the cell with Digest d, and so for
// every cell before it; arrived is when that cell reached the client, on
// the client's clock (onion.Sendme.Arrived; 0 when not given). A Digest
// this hop did not ask about (or no longer remembers) acknowledges
// nothing.
func (w *downWindow) sendme(d onion.Digest, arrived uint64) { w.sendmeAt(d, arrived, time.Now()) }

func (w *downWindow) sendmeAt(d onion.Digest, arrived uint64, now time.Time) {
	w.mu.Lock()
	i := 0
	for i < len(w.marks) && w.marks[i].d != d {
		i++
	}
	if i == len(w.marks) {
		w.mu.Unlock()
		return
	}
	m := w.marks[i]
	w.marks = w.marks[i+1:]
	w.on = true
	w.acked = m.n
	rtt := now.Sub(m.at)
	if arrived != 0 {
		rtt = w.towardClient(rtt, int64(arrived)-int64(m.at.Sub(w.t0)), now)
	}
	w.win.Ack(m.n, w.sent, rtt, now)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// towardClient returns the round trip the window judges for a cell whose
// round trip was rtt and one-way delay towards the client owd (plus the
// clocks' constant): the path's smallest round trip plus the cell's queue
// on the way to the client, when that is less than rtt. A SENDME that
// waited behind the client's own upload (a UDP flood up, a big upload) has
// a long round trip, but that queue is not on this window's path and
// shrinking the window for it would only starve what comes down: so the
// window sees only the queue its own cells met. It never sees more than
// the round trip, so a client that sends no arrival time, or a queue on
// the way down, is judged as before.
func (w *downWindow) towardClient(rtt time.Duration, owd int64, now time.Time) time.Duration {
	if w.owdEpoch.IsZero() || now.Sub(w.owdEpoch) >= owdEpoch {
		w.owdPrev, w.owdPrevOK = w.owdMin, w.owdOK
		w.owdMin, w.owdOK, w.owdEpoch = owd, true, now
	}
	w.owdMin = min(w.owdMin, owd)
	low := w.owdMin
	if w.owdPrevOK {
		low = min(low, w.owdPrev)
	}
	base := w.win.BaseRTT()
	if base == 0 {
		return rtt
	}
	return min(rtt, base+time.Duration(owd-low))
}

// gate is the exit stream layer's Config.Gate.
func (w *downWindow) gate() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.on || w.sent-w.acked < w.win.Size() {
		return nil
	}
	w.win.Closed()
	return w.wake
}
