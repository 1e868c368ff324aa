package stream

import (
	"encoding/binary"
	"testing"
	"time"
)

// TestQuietFlows: a flow is quiet when it had no datagram for QuietGap;
// a flood, with a datagram every moment, never is; flows are told apart
// by their stream IDs, and stale ones are forgotten past quietKeep.
func TestQuietFlows(t *testing.T) {
	clock := time.Unix(1000, 0)
	q := QuietFlows{now: func() time.Time { return clock }}
	frame := func(id uint32) []byte {
		f := make([]byte, HeaderLen+3)
		f[0] = frameDatagram
		binary.BigEndian.PutUint32(f[1:], id)
		return f
	}
	if !q.Admit(frame(1)) {
		t.Fatal("a flow's first datagram is not quiet")
	}
	for range 100 {
		clock = clock.Add(time.Millisecond)
		if q.Admit(frame(1)) {
			t.Fatal("a flood's datagram 1 ms after the last counted as quiet")
		}
	}
	if !q.Admit(frame(3)) {
		t.Fatal("another flow's first datagram is not quiet")
	}
	clock = clock.Add(QuietGap)
	if !q.Admit(frame(1)) || !q.Admit(frame(3)) {
		t.Fatal("flows silent for QuietGap are not quiet")
	}
	if q.Admit(frame(3)) {
		t.Fatal("a second datagram at once is quiet")
	}
	if q.Admit([]byte{frameDatagram, 0}) {
		t.Fatal("a short frame counted as quiet")
	}
	for id := range uint32(quietKeep + 10) {
		q.Admit(frame(100 + id))
	}
	clock = clock.Add(2 * time.Second)
	q.Admit(frame(5))
	if len(q.last) > quietKeep {
		t.Fatalf("%d flows remembered after they went stale, want at most %d", len(q.last), quietKeep)
	}
}
