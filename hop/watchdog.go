package hop

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/pexia-network/pexia/hop/onion"
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
// watchdog finds those:
//
//   - When the client has sent a cell and nothing at all came back for a
//     quarter of the stall timeout, it sends the last hop a PING (one cell;
//     an idle circuit, which sends nothing, is never probed). Any cell
//     arriving proves the way back alive, the PONG the way there too.
//   - With a PING out, stall timeout of total silence fails the circuit.
//   - A PING unanswered for pongTimeouts stall timeouts fails it even if
//     other cells arrive (cells already queued towards the client, or
//     padding, can keep coming from a circuit whose forward half is dead);
//     the margin is for a PONG queued behind a full window of downloads.
//   - A PAY unanswered for paidTimeouts stall timeouts fails it: the hop
//     (or one before it) no longer serves the paying client.
//
// The Pool then builds a fresh circuit at once.
const (
	pongTimeouts = 5
	paidTimeouts = 4
)

// watchdog runs until the circuit ends.
func (c *Circuit) watchdog(stall time.Duration) {
	if stall <= 0 {
		stall = DefaultStallTimeout
	}
	probeAfter := stall / 4
	tick := time.NewTicker(stall / 16)
	defer tick.Stop()
	last := len(c.hops) - 1
	var (
		nonce   uint64
		probeAt time.Time // when the PING in flight left; zero: none
	)
	for {
		select {
		case <-c.done:
			return
		case <-tick.C:
		}
		now := time.Now()
		recv := time.Unix(0, c.lastRecv.Load())
		sent := time.Unix(0, c.lastSent.Load())
		if !probeAt.IsZero() && c.pong.Load() == nonce {
			probeAt = time.Time{}
		}
		switch {
		case probeAt.IsZero():
			if sent.After(recv) && now.Sub(recv) >= probeAfter {
				nonce++
				var p [8]byte
				binary.BigEndian.PutUint64(p[:], nonce)
				probeAt = now
				if err := c.send(last, onion.LinkRelay, onion.RelayPing, p[:]); err != nil {
					c.fail(err)
					return
				}
			}
		case now.Sub(laterOf(recv, probeAt)) >= stall:
			c.fail(fmt.Errorf("%w: nothing from the circuit for %v", ErrStalled, now.Sub(laterOf(recv, probeAt)).Round(time.Millisecond)))
			return
		case now.Sub(probeAt) >= pongTimeouts*stall:
			c.fail(fmt.Errorf("%w: hop %d did not answer a PING for %v", ErrStalled, last+1, now.Sub(probeAt).Round(time.Millisecond)))
			return
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
