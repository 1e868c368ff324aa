package wire

import "time"

// Window is a circuit's send window, in cells, sized by delay in the way
// of TCP Vegas and Tor's Proposal 324: the sender learns the round trip of
// the cells the other end acknowledges, and the difference between that
// and the smallest round trip seen is the time its cells spend queued on
// the way. The window grows while fewer than Alpha of the window's cells
// are queued, shrinks while more than Beta are, and drops at once to Beta
// when more than Delta are; until the first round with more than Gamma
// queued it doubles every round (slow start). So a circuit keeps about
// Alpha..Beta cells standing in the queues of its path (a few ms of
// queueing, not the whole window), whatever the stream layer offers it,
// and a queue that builds below (a UDP flood, a busier path) shrinks the
// window instead of holding every other cell of the circuit.
//
// A round is one window of cells: it ends with the acknowledgement of the
// cell that was the last one sent when the round began, and its smallest
// round trip is the sample (which filters out the noise of a busy
// machine). The window grows only in rounds where it was full, so a
// circuit that sends little keeps the window it has.
//
// Window is not safe for concurrent use.
type Window struct {
	cfg  WindowConfig
	cwnd uint64
	slow bool
	full bool // the window closed during this round

	// The smallest round trip over the last one to two baseEpochs.
	base, prevBase time.Duration
	epoch          time.Time

	roundEnd uint64        // the round ends when this cell is acknowledged
	roundMin time.Duration // smallest round trip of the round; 0 before one
}

// WindowConfig sizes a Window, in cells.
type WindowConfig struct {
	// Min and Max bound the window; Init is where it starts (Min..Max).
	Min, Max, Init uint64
	// Alpha, Beta, Gamma and Delta are queued cells (see Window).
	Alpha, Beta, Gamma, Delta uint64
}

// baseEpoch is how long the smallest round trip is remembered: from one to
// two epochs, so a base that the path no longer offers is forgotten.
const baseEpoch = 10 * time.Second

// CircuitWindowConfig returns the window of a circuit of cellSize-byte
// cells, from byte sizes that suit a cell of any size: at least 32 KiB
// and at most maxBytes in flight, starting at 256 KiB, keeping 32..64 KiB
// queued. The floor is a few ms at the speeds one circuit reaches, and
// holds the path's bandwidth-delay product on a fast loopback, where the
// round trip is dominated by the scheduling noise of a busy machine; above
// it the window follows the delay.
func CircuitWindowConfig(cellSize, maxBytes int) WindowConfig {
	cells := func(b int) uint64 { return uint64(max(b/cellSize, 4)) }
	cfg := WindowConfig{
		Min: cells(128 << 10), Max: cells(maxBytes), Init: cells(256 << 10),
		Alpha: cells(32 << 10), Beta: cells(64 << 10), Gamma: cells(64 << 10), Delta: cells(128 << 10),
	}
	cfg.Beta = max(cfg.Beta, 2*cfg.Alpha)
	cfg.Gamma = max(cfg.Gamma, cfg.Beta)
	cfg.Delta = max(cfg.Delta, 2*cfg.Beta)
	cfg.Max = max(cfg.Max, cfg.Min)
	cfg.Init = min(max(cfg.Init, cfg.Min), cfg.Max)
	return cfg
}

// NewWindow returns a window at cfg.Init, in slow start.
func NewWindow(cfg WindowConfig) *Window {
	cfg.Min = max(cfg.Min, 1)
	cfg.Max = max(cfg.Max, cfg.Min)
	cfg.Init = min(max(cfg.Init, cfg.Min), cfg.Max)
	return &Window{cfg: cfg, cwnd: cfg.Init, slow: true}
}

// Size returns the window, in cells.
func (w *Window) Size() uint64 { return w.cwnd }

// BaseRTT returns the smallest round trip remembered (0 before the first).
func (w *Window) BaseRTT() time.Duration {
	switch {
	case w.prevBase == 0:
		return w.base
	case w.base == 0:
		return w.prevBase
	}
	return min(w.base, w.prevBase)
}

// Closed records that the sender had a cell to send and the window was
// full: only such rounds grow it.
func (w *Window) Closed() { w.full = true }

// Ack records that the first acked cells arrived, with rtt the round trip
// of the last of them, at now; sent is how many cells have been sent.
func (w *Window) Ack(acked, sent uint64, rtt time.Duration, now time.Time) {
	if rtt <= 0 {
		rtt = time.Nanosecond
	}
	if w.epoch.IsZero() || now.Sub(w.epoch) >= baseEpoch {
		w.prevBase, w.base, w.epoch = w.base, rtt, now
	}
	w.base = min(w.base, rtt)
	if w.roundMin == 0 || rtt < w.roundMin {
		w.roundMin = rtt
	}
	if w.roundEnd == 0 {
		w.roundEnd = sent // the first round starts now
		return
	}
	if acked < w.roundEnd {
		return
	}
	sample, full := w.roundMin, w.full
	w.roundMin, w.full, w.roundEnd = 0, false, max(sent, acked+1)
	base := w.BaseRTT()
	queued := uint64(0)
	if sample > base {
		queued = uint64(float64(w.cwnd) * float64(sample-base) / float64(sample))
	}
	c, inc := w.cwnd, max(w.cwnd/16, 1)
	switch {
	case w.slow && queued <= w.cfg.Gamma:
		if full {
			c *= 2
		}
	case queued > w.cfg.Delta:
		w.slow = false
		c = c - min(c, queued-w.cfg.Beta)
	case queued > w.cfg.Beta:
		w.slow = false
		c -= min(c, max(inc, (queued-w.cfg.Beta)/2))
	case w.slow:
		w.slow = false // between Gamma and Beta: the path is full
	case queued < w.cfg.Alpha && full:
		c += inc
	}
	w.cwnd = min(max(c, w.cfg.Min), w.cfg.Max)
}

// SendmeEvery is how often the client acknowledges what the last hop sends
// it: a SENDME echoing the Digest of every SendmeEvery-th relay cell from
// that hop (docs/PROTOCOL.md 2.8), which the hop's window towards the
// client waits for.
const SendmeEvery = 16
