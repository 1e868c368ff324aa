package stream

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"
	"time"
)

// fuzzRecord encodes one step of a FuzzDeliver input: an action byte, the
// frame length (2 bytes) and the frame.
func fuzzRecord(action byte, frame []byte) []byte {
	b := []byte{action, byte(len(frame) >> 8), byte(len(frame))}
	return append(b, frame...)
}

func fuzzInput(steps ...[]byte) []byte {
	var out []byte
	for _, s := range steps {
		out = append(out, s...)
	}
	return out
}

// FuzzDeliver feeds arbitrary frames, interleaved with local actions, to a
// server and a client Mux. Nothing may panic, and memory stays within the
// windows.
func FuzzDeliver(f *testing.F) {
	f.Add(fuzzInput(
		fuzzRecord(1, fOpen(1, KindTCP, 1000, "example.com:80")),
		fuzzRecord(4, fData(1, 100)),
		fuzzRecord(0, fU32(frameWindow, 1, 100)),
		fuzzRecord(0, fHdr(frameFin, 1)),
	))
	f.Add(fuzzInput(
		fuzzRecord(1, fOpen(1, KindUDP, 1000, "8.8.8.8:53")),
		fuzzRecord(0x24, fDatagram(1, 10)),
		fuzzRecord(8, fDatagram(1, 0)),
		fuzzRecord(0, fReason(frameRst, 1, ReasonClosed)),
	))
	f.Add(fuzzInput(
		fuzzRecord(0, fU32(frameOpened, 1, 5000)),
		fuzzRecord(0x20, fData(1, 300)),
		fuzzRecord(0x44, fU32(frameWindow, 0, 100000)),
		fuzzRecord(0, fU32(frameOpened, 3, 5000)),
		fuzzRecord(0, fDatagram(3, 3)),
		fuzzRecord(0x10, fReason(frameRefused, 5, ReasonDNS)),
	))
	f.Add(fuzzInput(
		fuzzRecord(2, fOpen(3, KindDNS, 10, "a:1")),
		fuzzRecord(0, fOpen(5, 9, 10, "a:1")),
		fuzzRecord(0, fHdr(frameFin, 3)),
	))
	f.Add(fuzzInput(
		fuzzRecord(0, fU32(frameOpened, 3, 5000)),
		fuzzRecord(0x24, fPacked(map[uint32]int{3: 10}, 3, 3)),
		fuzzRecord(0, fPacked(map[uint32]int{3: 0, 7: 2}, 3, 7)),
		fuzzRecord(0x20, fHdr(frameDatagrams, 0, 0, 0, 0, 3, 0, 9, 1)),
	))
	f.Add([]byte{0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 1, 2, 3})

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, role := range []Role{RoleServer, RoleClient} {
			fuzzOne(t, role, data)
		}
	})
}

func fuzzOne(t *testing.T, role Role, data []byte) {
	cfg := Config{
		Role: role, MaxFrame: 600, StreamWindow: 2000, CircuitWindow: InitialCircuitWindow,
		MaxStreams: 6, AcceptBacklog: 3, DatagramQueue: 3, PackDatagrams: true,
	}
	m, err := New(cfg, func([]byte) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		m.Close(nil)
		<-m.senderDone
	}()
	var streams []*Stream
	if role == RoleClient {
		for _, k := range []Kind{KindTCP, KindUDP, KindDNS} {
			streams = append(streams, openNoWait(t, m, k))
		}
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	buf := make([]byte, 700)
	for len(data) >= 3 {
		action := data[0]
		n := min(int(binary.BigEndian.Uint16(data[1:3]))%700, len(data)-3)
		frame := data[3 : 3+n]
		data = data[3+n:]
		if m.Deliver(frame) != nil {
			return
		}
		if role == RoleServer && action&3 != 0 {
			for {
				r, err := m.Accept(canceled)
				if err != nil {
					break
				}
				if action&1 != 0 {
					if c, err := r.Accept(); err == nil {
						streams = append(streams, c.(*Stream))
					}
				} else {
					r.Refuse(ReasonPolicy)
				}
			}
		}
		for i, s := range streams {
			if action&4 != 0 { // consume what is buffered
				m.mu.Lock()
				if s.kind != KindUDP && s.rlen > 0 {
					s.consumedLocked(s.copyOutLocked(buf[:1+i*37%len(buf)]))
				}
				m.mu.Unlock()
				if s.kind == KindUDP {
					s.SetReadDeadline(time.Time{})
					m.mu.Lock()
					ready := s.dgIn.len() > 0
					m.mu.Unlock()
					if ready {
						s.Read(buf)
					}
				}
			}
			if action&0x20 != 0 {
				// Only writes that cannot block: datagrams, or data
				// within the available credit.
				n := 1 + i*101%len(buf)
				m.mu.Lock()
				n = int(min(int64(n), s.sendCredit, m.connSend))
				m.mu.Unlock()
				if s.kind == KindUDP || n > 0 {
					s.Write(buf[:max(n, 0)])
				}
			}
			if action&0x40 != 0 && i == 0 {
				s.CloseWrite()
			}
			if action&8 != 0 && i == len(streams)-1 {
				s.Close()
			}
			if action&0x10 != 0 && i == 0 {
				s.Reset(ReasonInternal)
			}
		}
		checkInvariants(t, m)
	}
}

func checkInvariants(t *testing.T, m *Mux) {
	m.mu.Lock()
	defer m.mu.Unlock()
	total := 0
	for _, s := range m.streams {
		if s.rlen > m.cfg.StreamWindow {
			t.Fatalf("stream %d holds %d bytes, window %d", s.id, s.rlen, m.cfg.StreamWindow)
		}
		if s.recvWin < 0 || s.sendCredit < 0 {
			t.Fatalf("stream %d: negative credit %d/%d", s.id, s.recvWin, s.sendCredit)
		}
		total += s.rlen
		in, out := 0, 0
		for _, d := range s.dgIn.buf[s.dgIn.head:] {
			in += len(d) + datagramOverhead
		}
		for _, d := range s.dgOut.buf[s.dgOut.head:] {
			out += len(d) + datagramOverhead
		}
		if in != s.dgInQ || out != s.dgOutQ || in > m.cfg.DatagramQueueBytes || out > m.cfg.DatagramQueueBytes {
			t.Fatalf("stream %d: datagram queues hold %d/%d bytes, counted %d/%d, limit %d", s.id, in, out, s.dgInQ, s.dgOutQ, m.cfg.DatagramQueueBytes)
		}
	}
	if total > m.cfg.CircuitWindow {
		t.Fatalf("circuit holds %d bytes, window %d", total, m.cfg.CircuitWindow)
	}
	if m.connRecv < 0 || m.connSend < 0 || m.dgInBytes < 0 || m.dgInBytes > m.dgInLimit || m.dgOutBytes < 0 || m.dgOutBytes > m.dgOutLimit {
		t.Fatalf("bad accounting: recv %d send %d dgIn %d dgOut %d", m.connRecv, m.connSend, m.dgInBytes, m.dgOutBytes)
	}
	if len(m.streams) > m.cfg.MaxStreams {
		t.Fatalf("%d streams, max %d", len(m.streams), m.cfg.MaxStreams)
	}
}

// FuzzDatagrams feeds arbitrary bodies to the DATAGRAMS parser and to a
// client Mux's lane. Nothing may panic; a body the parser takes is exactly
// its entries, which encode back to it; one it refuses yields no entry.
func FuzzDatagrams(f *testing.F) {
	f.Add(fPacked(map[uint32]int{1: 1200, 3: 1200}, 1, 3, 1)[HeaderLen:])
	f.Add(fPacked(map[uint32]int{5: 0}, 5)[HeaderLen:])
	f.Add([]byte{0, 0, 0, 1, 0, 9, 1})
	f.Add([]byte{0, 0, 0, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		var again []byte
		entries := 0
		err := eachPacked(body, func(id uint32, d []byte) {
			entries++
			e := make([]byte, packEntryLen)
			putEntry(e, id, len(d))
			again = append(append(again, e...), d...)
		})
		if err != nil && entries > 0 {
			t.Fatalf("refused body (%v) yielded %d entries", err, entries)
		}
		if err == nil && !bytes.Equal(again, body) {
			t.Fatalf("entries encode to %x, body %x", again, body)
		}
		m, merr := New(Config{Role: RoleClient, MaxFrame: 600, DatagramQueue: 3}, func([]byte) error { return nil })
		if merr != nil {
			t.Fatal(merr)
		}
		defer func() {
			m.Close(nil)
			<-m.senderDone
		}()
		openNoWait(t, m, KindUDP)
		if err := m.Deliver(fU32(frameOpened, 1, 5000)); err != nil {
			t.Fatal(err)
		}
		frame := append(fHdr(frameDatagrams, 0), body...)
		m.DeliverDatagram(frame)
		checkInvariants(t, m)
		if derr := m.Deliver(frame); (derr != nil) != (err != nil || len(frame) > 600 || !onlyID(body, 1)) {
			t.Fatalf("Deliver of DATAGRAMS (parse error %v): %v", err, derr)
		}
	})
}

// onlyID reports whether every entry of a well-formed DATAGRAMS body is for
// stream id.
func onlyID(body []byte, id uint32) bool {
	ok := true
	eachPacked(body, func(i uint32, _ []byte) { ok = ok && i == id })
	return ok
}
