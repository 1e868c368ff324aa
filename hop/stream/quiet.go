package stream

import (
	"encoding/binary"
	"sync"
	"time"
)

// QuietFlows tells a flood from quiet flows at a datagram lane
// (docs/PROTOCOL.md 2.9): Admit reports whether a DATAGRAM frame's flow
// had no datagram admitted for QuietGap, so that a sender may let it use
// a reserve that a flood, which always has a datagram a moment ago,
// never reaches. The zero value is ready; it is safe for concurrent use.
type QuietFlows struct {
	mu   sync.Mutex
	last map[uint32]time.Time
	now  func() time.Time // the clock; nil is time.Now
}

// QuietGap is how long a flow must have been without a datagram to count
// as quiet: 10 ms, so a voice call (50 a second) or a game's updates are
// quiet and a flood is not.
const QuietGap = 10 * time.Millisecond

// quietKeep bounds the flows remembered; beyond it the stale ones are
// forgotten.
const quietKeep = 1024

// Admit records that frame's flow sends a datagram now and reports
// whether the flow was quiet before it.
func (q *QuietFlows) Admit(frame []byte) bool {
	if len(frame) < HeaderLen || frame[0] == frameDatagrams {
		return false // several datagrams were queued: not a quiet flow
	}
	id := binary.BigEndian.Uint32(frame[1:])
	q.mu.Lock()
	defer q.mu.Unlock()
	now := time.Now()
	if q.now != nil {
		now = q.now()
	}
	if q.last == nil {
		q.last = map[uint32]time.Time{}
	}
	prev, seen := q.last[id]
	q.last[id] = now
	if len(q.last) > quietKeep {
		for k, t := range q.last {
			if now.Sub(t) > time.Second {
				delete(q.last, k)
			}
		}
	}
	return !seen || now.Sub(prev) >= QuietGap
}
