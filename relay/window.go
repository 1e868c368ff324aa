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
	w.win = wire.NewWindow(wire.CircuitWindowConfig(cellSize, downWindowBytes))
	w.wake = make(chan struct{}, 1)
}

// downWindowBytes is the top of the window towards the client, below the
// links' per-channel window like the client's (package hop, sendWindowBytes).
const downWindowBytes = 768 << 10

// originated counts a relay cell sealed towards the client, with its
// Digest d.
func (w *downWindow) originated(d onion.Digest) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sent++
	if w.sent%wire.SendmeEvery != 0 {
		return
	}
	if len(w.marks) == maxMarks {
		w.marks = w.marks[1:]
	}
	w.marks = append(w.marks, mark{n: w.sent, d: d, at: time.Now()})
}

// sendme takes the client's SENDME for the cell with Digest d, and so for
// every cell before it. A Digest this hop did not ask about (or no longer
// remembers) acknowledges nothing.
func (w *downWindow) sendme(d onion.Digest) {
	now := time.Now()
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
	w.win.Ack(m.n, w.sent, now.Sub(m.at), now)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
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
