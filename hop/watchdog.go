package hop

import (
	"errors"
	"fmt"
	"time"
)

// ErrStalled is the error of a circuit that stopped carrying cells while
// its links stayed up: a hop that drops the circuit's cells, or stops
// answering its payments.
var ErrStalled = errors.New("hop: circuit stalled")

// DefaultStallTimeout is BuildConfig.StallTimeout's default.
const DefaultStallTimeout = 4 * time.Second

// A dead link is found by the link layer (2 s without a packet), and a
// hop that loses its neighbour tears the circuit down towards the client.
// What neither sees is a hop whose links are fine but which no longer
// passes the circuit's cells on, or no longer answers its payments. The
// watchdog finds those by progress, not by silence (docs/PROTOCOL.md 2.8):
//
//   - Every cell the client sends is acknowledged by the exit: a PING to
//     the last hop carries the count of cells sent up to and including it,
//     and its PONG, which can only come after all of them (cells stay in
//     order on every hop), acknowledges that many. The client asks after
//     every half send window (at most 24 cells), when the window closes,
//     and at the next tick for cells no PING covers yet; an idle circuit,
//     which sends nothing, is never probed.
//   - The stream layer's cells stop while a send window of cells is
//     unacknowledged, so what one circuit can have queued on the relays
//     towards the exit is bounded, and a PING (or PAY), which never waits
//     for the window, is behind at most that much: a flood of datagrams
//     is dropped at the client instead of filling every relay's buffers,
//     and a busy circuit keeps answering. The window follows the round
//     trips, so that much is a few ms of cells, not the window's top.
//   - The other way, the client acknowledges every wire.SendmeEvery-th
//     cell from the exit with a SENDME echoing its Digest, and the exit
//     keeps its own window of the same kind (package relay).
//   - When a stream waits on the exit (an answer to an OPEN, or credit to
//     send) and nothing arrived for a quarter of the stall timeout, the
//     client probes even though it sent nothing: the exit owes it cells.
//   - With a PING unanswered, 1.25 stall timeouts without any
//     acknowledgement and without any cell arriving fail the circuit (the
//     silence an answer-less PING used to need: a quarter before it was
//     sent, a whole stall timeout after).
//   - Without an acknowledgement for pongTimeouts stall timeouts it fails
//     even if other cells arrive (cells already queued towards the client,
//     or padding, can keep coming from a circuit whose forward half is
//     dead), unless stream data keeps arriving and fewer than twice the
//     client's circuit window of cells arrived since the PING left: the
//     PONG then waits behind a download, which the send window does not
//     bound.
//   - A PAY unanswered for paidTimeouts stall timeouts fails it: the hop
//     (or one before it) no longer serves the paying client.
//
// The Pool then builds a fresh circuit at once.
const (
	pongTimeouts = 5
	paidTimeouts = 4
)

// The send window: the stream layer's DATA cells wait while the window's
// cells are unacknowledged by the exit. The window follows the PINGs'
// round trips (wire.Window: delay-based, like TCP Vegas and Tor's
// Proposal 324), so it keeps only a few ms of cells queued on the path
// rather than all it may; it lies between 128 KiB and sendWindowBytes.
// The top is below the link's per-channel window (link.DefaultChannelWindow,
// 1 MiB), so the stream layer's cells never block in the channel's write,
// where they would hold up the PING, PAY and SENDME cells that must
// overtake them; 768 KiB a round trip is 63 Mbit/s at 100 ms. The client
// asks for an acknowledgement every half window, at most every 24 cells
// (4 % more cells up, and as many PONGs down, while it sends at full
// window), at least every 8.
const sendWindowBytes = 768 << 10

// pingEvery returns the cells between PINGs for a window of win cells.
func pingEvery(win uint64) uint64 { return min(max(win/2, 8), 24) }

// watchdog runs until the circuit ends.
func (c *Circuit) watchdog(stall time.Duration) {
	if stall <= 0 {
		stall = DefaultStallTimeout
	}
	probeAfter := stall / 4
	tick := time.NewTicker(stall / 16)
	defer tick.Stop()
	last := len(c.hops)
	var waitProbe time.Time // when the watchdog last probed for a waiting stream
	for {
		select {
		case <-c.done:
			return
		case <-tick.C:
		}
		now := time.Now()
		recv := time.Unix(0, c.lastRecv.Load())
		var err error
		switch {
		case c.cellsUp.Load() > c.pinged.Load():
			err = c.probe(true)
		case c.acked.Load() == c.pinged.Load() && now.Sub(recv) >= probeAfter &&
			now.Sub(waitProbe) >= probeAfter && c.mux.Waiting():
			waitProbe = now
			err = c.probe(true)
		}
		if err != nil {
			c.fail(err)
			return
		}
		if oldest, ok := c.oldestProbe(); ok {
			since := laterOf(oldest.at, time.Unix(0, c.ackedAt.Load()))
			if quiet := now.Sub(laterOf(since, recv)); quiet >= stall+probeAfter {
				c.fail(fmt.Errorf("%w: nothing from the circuit for %v", ErrStalled, quiet.Round(time.Millisecond)))
				return
			}
			// A PONG behind a download arrives once what was queued
			// ahead of it has: while stream data keeps coming, and less
			// than the most an honest circuit queues, it is not late.
			downloading := now.Sub(time.Unix(0, c.lastData.Load())) < stall &&
				c.cellsDown.Load()-oldest.down < c.backlog
			if d := now.Sub(since); d >= pongTimeouts*stall && !downloading {
				c.fail(fmt.Errorf("%w: hop %d acknowledged nothing for %v", ErrStalled, last, d.Round(time.Millisecond)))
				return
			}
		}
		for k, p := range c.pays {
			if p == nil {
				continue
			}
			p.mu.Lock()
			late := p.inflight && now.Sub(p.sentAt) >= paidTimeouts*stall
			at := p.sentAt
			p.mu.Unlock()
			if late {
				c.fail(fmt.Errorf("%w: hop %d did not acknowledge a payment for %v", ErrStalled, k+1, now.Sub(at).Round(time.Millisecond)))
				return
			}
		}
	}
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
