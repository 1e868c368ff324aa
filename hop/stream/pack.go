package stream

import (
	"encoding/binary"
	"time"
)

// Packed datagrams (docs/PROTOCOL.md 3.2). A datagram of a QUIC or other
// UDP flow is usually 1,200 to 1,420 bytes, and a frame rides in one fixed-
// size cell of about 4,000 bytes: a frame per datagram would spend about
// three cells where one does. When the peer understands it
// (Config.PackDatagrams, agreed in the circuit handshake), the sending
// goroutine fills a DATAGRAMS frame with the datagrams already queued:
// first those of the flow whose turn it is, then, while room is left,
// those of the flows next in turn. Nothing waits for company: a lone
// datagram leaves at once as a plain DATAGRAM frame.
//
// The turns stay fair: a flow's turn still yields at most one frame (one
// cell, the circuit's unit of cost) of its datagrams, and a flow whose
// datagrams fill the rest of another's frame has had its turn. The bounded
// queues, the stale drop (MaxDatagramAge) and the per-flow counters apply
// to each datagram as before.
//
// The body of a DATAGRAMS frame (stream ID 0) is one or more entries:
//
//	stream ID (4 bytes) | length (2 bytes) | datagram (length bytes)
//
// Each entry is processed as a DATAGRAM frame for its stream would be.

// packEntryLen is the length of an entry's header in a DATAGRAMS frame,
// and maxPacked the longest datagram an entry holds.
const (
	packEntryLen = 6
	maxPacked    = 1<<16 - 1
)

// eachPacked calls fn for each entry of a DATAGRAMS body, after checking
// the whole body: it calls fn for none if the body is malformed.
func eachPacked(body []byte, fn func(id uint32, d []byte)) error {
	if len(body) == 0 {
		return protoErr("empty DATAGRAMS")
	}
	for b := body; len(b) > 0; {
		if len(b) < packEntryLen {
			return protoErr("DATAGRAMS entry header of %d bytes", len(b))
		}
		id := binary.BigEndian.Uint32(b[0:4])
		n := int(binary.BigEndian.Uint16(b[4:6]))
		if id == 0 {
			return protoErr("DATAGRAMS entry for stream 0")
		}
		if len(b) < packEntryLen+n {
			return protoErr("DATAGRAMS entry of %d bytes with %d left", n, len(b)-packEntryLen)
		}
		b = b[packEntryLen+n:]
	}
	for b := body; len(b) > 0; {
		n := int(binary.BigEndian.Uint16(b[4:6]))
		fn(binary.BigEndian.Uint32(b[0:4]), b[packEntryLen:packEntryLen+n])
		b = b[packEntryLen+n:]
	}
	return nil
}

// packLocked is called with buf[:n] holding the DATAGRAM frame just taken
// from s. If further queued datagrams fit, it turns the frame into a
// DATAGRAMS frame holding them too, taking first the rest of s's
// datagrams, then those of the datagram flows next on the ready list (each
// such flow has had its turn). It returns the frame length.
func (m *Mux) packLocked(buf []byte, n int, s *Stream) int {
	first := n - HeaderLen
	room := len(buf) - HeaderLen - packEntryLen - first
	now := time.Now()
	if first > maxPacked || !s.nextFits(room) && !m.nextReadyFitsLocked(room, now) {
		return n
	}
	copy(buf[HeaderLen+packEntryLen:], buf[HeaderLen:n])
	putHeader(buf, frameDatagrams, 0)
	putEntry(buf[HeaderLen:], s.id, first)
	n = s.packMoreLocked(buf, HeaderLen+packEntryLen+first)
	for m.nextReadyFitsLocked(len(buf)-n, now) {
		f := m.readyDg.pop()
		f.inReady = false
		n = f.packMoreLocked(buf, n)
		if f.dgOut.len() > 0 || f.finQueued && !f.finSent {
			f.inReady = true
			m.readyDg.push(f)
		}
	}
	return n
}

// nextReadyFitsLocked reports whether the stream next on the ready list is
// a datagram flow whose oldest datagram fits in room bytes, after dropping
// the flow's stale datagrams as its turn would.
func (m *Mux) nextReadyFitsLocked(room int, now time.Time) bool {
	if m.readyDg.len() == 0 {
		return false
	}
	f := *m.readyDg.front()
	if !f.kind.datagram() || f.err != nil || f.dgOut.len() == 0 {
		return false
	}
	f.dropStaleLocked(now)
	return f.nextFits(room)
}

// nextFits reports whether s's oldest queued datagram fits, with its entry
// header, in room bytes.
func (s *Stream) nextFits(room int) bool {
	if s.dgOut.len() == 0 {
		return false
	}
	n := len(*s.dgOut.front())
	return n <= maxPacked && packEntryLen+n <= room
}

// packMoreLocked appends s's queued datagrams to the DATAGRAMS frame in
// buf[:n] while they fit, and returns the new length.
func (s *Stream) packMoreLocked(buf []byte, n int) int {
	for s.nextFits(len(buf) - n) {
		d := s.popOutLocked()
		s.dgSent++
		putEntry(buf[n:], s.id, len(d))
		n += packEntryLen + copy(buf[n+packEntryLen:], d)
	}
	return n
}

func putEntry(b []byte, id uint32, n int) {
	binary.BigEndian.PutUint32(b[0:4], id)
	binary.BigEndian.PutUint16(b[4:6], uint16(n))
}
