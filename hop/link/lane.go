package link

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/datachannel"
	"github.com/pion/webrtc/v4"
)

// The datagram lane: one unordered channel per link whose messages are
// never retransmitted (SCTP partial reliability, maxRetransmits 0), for
// cells that must not wait behind a lost one (docs/PROTOCOL.md 2.9). The
// dialer offers it right after the association is up, before any other
// channel, so a listener knows whether a link has a lane before the first
// circuit's CREATE arrives on it. A listener that does not know the lane
// refuses every unordered or unreliable channel, and then neither side
// uses it; whether a circuit's cells may take it is agreed per hop in the
// circuit handshake, not here.
//
// Every message on the lane starts with a 4-byte circuit ID, by which the
// link hands it to the handler registered for that ID (HandleLane); a
// message for no handler is dropped.

// laneLabel names the lane channel.
const laneLabel = "pexia-lane/1"

// laneWindow bounds the bytes written to the lane and not yet sent or
// abandoned; SendLane drops a message beyond it rather than queue it.
// pion's SCTP sends a link's unordered messages ahead of its ordered ones,
// so the lane must stay short: 64 KiB is 16 cells of 4096 bytes, about
// 5 ms at 100 Mbit/s, in front of the reliable channels.
const laneWindow = 64 << 10

// laneOpenTimeout bounds how long Dial waits for the lane to open.
const laneOpenTimeout = 5 * time.Second

type lane struct {
	offered atomic.Bool // the peer offered a lane and this side took it (listener)
	ready   atomic.Bool // open and detached

	mu       sync.Mutex
	dc       *webrtc.DataChannel
	raw      datachannel.ReadWriteCloserDeadliner
	handlers map[uint32]func([]byte)
	wg       sync.WaitGroup // the read goroutine

	wmu sync.Mutex // serializes writes
}

// HasLane reports whether the link has a datagram lane: on the dialer,
// the lane it offered is open; on the listener, the dialer offered one.
func (l *Link) HasLane() bool { return l.lane.ready.Load() || l.lane.offered.Load() }

// SendLane writes msg (at most MaxMessageSize bytes, starting with a
// circuit ID) as one message on the lane, unless the link has no lane or
// its lane already holds laneWindow bytes not yet acknowledged (twice that
// with reserve): then msg is dropped. It reports whether msg was written,
// and never blocks on the network. reserve is for a sender's quiet flows,
// so that a flood that keeps the lane full does not take every place on
// it.
func (l *Link) SendLane(msg []byte, reserve bool) bool {
	if len(msg) > MaxMessageSize || !l.lane.ready.Load() {
		return false
	}
	l.lane.mu.Lock()
	dc, raw := l.lane.dc, l.lane.raw
	l.lane.mu.Unlock()
	limit := uint64(laneWindow)
	if reserve {
		limit *= 2
	}
	if raw == nil || dc.BufferedAmount() >= limit {
		return false
	}
	l.lane.wmu.Lock()
	defer l.lane.wmu.Unlock()
	_, err := raw.Write(msg)
	return err == nil
}

// HandleLane has fn called with every lane message for circuit id, on the
// lane's read goroutine, in the order they arrive; fn must not block or
// keep the slice. It reports false, and changes nothing, when id has a
// handler already. A nil fn removes the handler.
func (l *Link) HandleLane(id uint32, fn func(msg []byte)) bool {
	l.lane.mu.Lock()
	defer l.lane.mu.Unlock()
	if fn == nil {
		delete(l.lane.handlers, id)
		return true
	}
	if _, taken := l.lane.handlers[id]; taken {
		return false
	}
	if l.lane.handlers == nil {
		l.lane.handlers = map[uint32]func([]byte){}
	}
	l.lane.handlers[id] = fn
	return true
}

// openLane offers the lane (dialer side) and waits for it to open, for at
// most laneOpenTimeout. A link whose lane does not open works without one.
func (l *Link) openLane(ctx context.Context) {
	ordered, rexmit := false, uint16(0)
	dc, err := l.pc.CreateDataChannel(laneLabel, &webrtc.DataChannelInit{Ordered: &ordered, MaxRetransmits: &rexmit})
	if err != nil {
		l.logf("link: datagram lane: %v", err)
		return
	}
	opened := make(chan struct{})
	dc.OnOpen(func() {
		l.startLane(dc)
		close(opened)
	})
	t := time.NewTimer(laneOpenTimeout)
	defer t.Stop()
	select {
	case <-opened:
	case <-l.done:
	case <-ctx.Done():
	case <-t.C:
		l.logf("link: datagram lane did not open; going on without it")
	}
}

// acceptLane takes the lane the dialer offered (listener side). Runs on
// pion's goroutine that accepts channels, before the next channel is
// accepted.
func (l *Link) acceptLane(dc *webrtc.DataChannel) {
	rexmit := dc.MaxRetransmits()
	if dc.Ordered() || rexmit == nil || *rexmit != 0 || dc.MaxPacketLifeTime() != nil || l.lane.offered.Swap(true) {
		l.logf("link: refusing a second or misconfigured datagram lane")
		_ = dc.Close()
		return
	}
	dc.OnOpen(func() { l.startLane(dc) })
}

// startLane detaches the open lane and starts its read goroutine.
func (l *Link) startLane(dc *webrtc.DataChannel) {
	raw, err := dc.DetachWithDeadline()
	if err != nil {
		l.logf("link: detach datagram lane: %v", err)
		_ = dc.Close()
		return
	}
	l.mu.Lock()
	dead := l.err != nil
	if !dead {
		l.lane.wg.Add(1)
	}
	l.mu.Unlock()
	if dead {
		_ = raw.Close()
		return
	}
	l.lane.mu.Lock()
	l.lane.dc, l.lane.raw = dc, raw
	l.lane.mu.Unlock()
	l.lane.ready.Store(true)
	go l.readLane(raw)
}

func (l *Link) readLane(raw datachannel.ReadWriteCloserDeadliner) {
	defer l.lane.wg.Done()
	buf := make([]byte, MaxMessageSize)
	for {
		n, err := raw.Read(buf)
		if err != nil {
			l.lane.ready.Store(false)
			return
		}
		if n < 4 {
			continue
		}
		l.lane.mu.Lock()
		fn := l.lane.handlers[binary.BigEndian.Uint32(buf)]
		l.lane.mu.Unlock()
		if fn != nil {
			fn(buf[:n])
		}
	}
}

// closeLane ends the lane's read goroutine; the link is dead.
func (l *Link) closeLane() {
	l.lane.ready.Store(false)
	l.lane.mu.Lock()
	raw := l.lane.raw
	l.lane.mu.Unlock()
	if raw != nil {
		_ = raw.Close()
		_ = raw.SetReadDeadline(time.Unix(1, 0))
	}
	l.lane.wg.Wait()
}
