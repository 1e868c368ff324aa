package stream

import (
	"context"
	"errors"
	"testing"
	"time"
)

// acceptAll answers every queued request of a server Mux with Accept.
func acceptAll(tb testing.TB, m *Mux) []*Stream {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // do not wait: take what is queued
	var out []*Stream
	for {
		r, err := m.Accept(ctx)
		if err != nil {
			return out
		}
		c, err := r.Accept()
		if err != nil {
			tb.Fatalf("Accept: %v", err)
		}
		out = append(out, c.(*Stream))
	}
}

// openNoWait opens a stream on a client Mux without waiting for OPENED.
func openNoWait(tb testing.TB, m *Mux, kind Kind) *Stream {
	tb.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.openLocked(kind, "a.test:1")
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestMalformedFrames(t *testing.T) {
	const maxFrame = 1000
	big := make([]byte, maxFrame+1)
	big[0] = frameData
	big[4] = 1
	type tc struct {
		name  string
		role  Role
		cfg   Config
		setup [][]byte // valid frames, delivered first
		open  []Kind   // client: streams opened before setup
		bad   []byte
	}
	openTCP := fOpen(1, KindTCP, 1000, "example.com:80")
	openUDP := fOpen(1, KindUDP, 1000, "example.com:53")
	cases := []tc{
		{name: "empty", role: RoleServer, bad: []byte{}},
		{name: "short header", role: RoleServer, bad: []byte{frameData, 0, 0}},
		{name: "unknown type", role: RoleServer, bad: fHdr(0x7f, 1)},
		{name: "type zero", role: RoleServer, bad: fHdr(0, 1)},
		{name: "larger than MaxFrame", role: RoleServer, setup: [][]byte{openTCP}, bad: big},
		{name: "OPEN even ID", role: RoleServer, bad: fOpen(2, KindTCP, 1000, "a:1")},
		{name: "OPEN ID reused", role: RoleServer, setup: [][]byte{openTCP}, bad: fOpen(1, KindTCP, 1000, "a:1")},
		{name: "OPEN ID going down", role: RoleServer, setup: [][]byte{fOpen(5, KindTCP, 1000, "a:1")}, bad: fOpen(3, KindTCP, 1000, "a:1")},
		{name: "OPEN empty address", role: RoleServer, bad: fHdr(frameOpen, 1, byte(KindTCP), 0, 0, 1, 0, 0)},
		{name: "OPEN truncated address", role: RoleServer, bad: fHdr(frameOpen, 1, byte(KindTCP), 0, 0, 1, 0, 10, 'a', ':', '1')},
		{name: "OPEN trailing byte", role: RoleServer, bad: append(fOpen(1, KindTCP, 1000, "a:1"), 0)},
		{name: "OPEN short", role: RoleServer, bad: fHdr(frameOpen, 1, byte(KindTCP), 0)},
		{name: "OPEN huge window", role: RoleServer, bad: fOpen(1, KindTCP, 1<<31, "a:1")},
		{name: "OPEN to client", role: RoleClient, bad: openTCP},
		{name: "DATA never opened", role: RoleServer, bad: fData(7, 10)},
		{name: "DATA on stream 0", role: RoleServer, bad: fData(0, 10)},
		{name: "DATA even ID", role: RoleClient, bad: fData(2, 10)},
		{name: "DATA before Accept", role: RoleServer, setup: [][]byte{openTCP}, bad: fData(1, 10)},
		{name: "DATA before OPENED", role: RoleClient, open: []Kind{KindTCP}, bad: fData(1, 10)},
		{name: "empty DATA", role: RoleServer, setup: [][]byte{openTCP, nil}, bad: fHdr(frameData, 1)},
		{name: "DATA beyond stream window", role: RoleServer, cfg: Config{StreamWindow: 500},
			setup: [][]byte{openTCP, nil, fData(1, 400)}, bad: fData(1, 101)},
		{name: "DATA beyond circuit window", role: RoleServer, cfg: Config{StreamWindow: MaxWindow, CircuitWindow: InitialCircuitWindow},
			setup: append([][]byte{openTCP, nil}, repeat(fData(1, 992), InitialCircuitWindow/992)...), bad: fData(1, 992)},
		{name: "DATA after FIN", role: RoleServer, setup: [][]byte{openTCP, nil, fHdr(frameFin, 1)}, bad: fData(1, 10)},
		{name: "second FIN", role: RoleServer, setup: [][]byte{openTCP, nil, fHdr(frameFin, 1)}, bad: fHdr(frameFin, 1)},
		{name: "FIN with body", role: RoleServer, setup: [][]byte{openTCP, nil}, bad: fHdr(frameFin, 1, 0)},
		{name: "RST without reason", role: RoleServer, setup: [][]byte{openTCP, nil}, bad: fHdr(frameRst, 1)},
		{name: "RST too long", role: RoleServer, setup: [][]byte{openTCP, nil}, bad: fHdr(frameRst, 1, 1, 2)},
		{name: "WINDOW zero", role: RoleServer, setup: [][]byte{openTCP, nil}, bad: fU32(frameWindow, 1, 0)},
		{name: "WINDOW short", role: RoleServer, setup: [][]byte{openTCP, nil}, bad: fHdr(frameWindow, 1, 0, 1)},
		{name: "WINDOW overflows stream credit", role: RoleServer, setup: [][]byte{openTCP, nil}, bad: fU32(frameWindow, 1, maxCredit)},
		{name: "WINDOW overflows circuit credit", role: RoleServer, bad: fU32(frameWindow, 0, maxCredit)},
		{name: "WINDOW before Accept", role: RoleServer, setup: [][]byte{openTCP}, bad: fU32(frameWindow, 1, 10)},
		{name: "DATAGRAM on tcp", role: RoleServer, setup: [][]byte{openTCP, nil}, bad: fDatagram(1, 10)},
		{name: "DATA on udp", role: RoleServer, setup: [][]byte{openUDP, nil}, bad: fData(1, 10)},
		{name: "WINDOW on udp", role: RoleServer, setup: [][]byte{openUDP, nil}, bad: fU32(frameWindow, 1, 10)},
		{name: "DATAGRAM never opened", role: RoleClient, open: []Kind{KindUDP},
			setup: [][]byte{fU32(frameOpened, 1, 1000), fHdr(frameFin, 1)}, bad: fDatagram(3, 1)},
		{name: "OPENED to server", role: RoleServer, setup: [][]byte{openTCP, nil}, bad: fU32(frameOpened, 1, 100)},
		{name: "REFUSED to server", role: RoleServer, setup: [][]byte{openTCP}, bad: fReason(frameRefused, 1, ReasonPolicy)},
		{name: "OPENED never opened", role: RoleClient, bad: fU32(frameOpened, 1, 100)},
		{name: "OPENED twice", role: RoleClient, open: []Kind{KindTCP}, setup: [][]byte{fU32(frameOpened, 1, 100)}, bad: fU32(frameOpened, 1, 100)},
		{name: "OPENED short", role: RoleClient, open: []Kind{KindTCP}, bad: fHdr(frameOpened, 1, 0, 0, 1)},
		{name: "FIN before OPENED", role: RoleClient, open: []Kind{KindTCP}, bad: fHdr(frameFin, 1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg
			cfg.Role, cfg.MaxFrame = c.role, maxFrame
			m, err := New(cfg, (&recorder{}).send)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close(nil)
			for _, k := range c.open {
				openNoWait(t, m, k)
			}
			for i, f := range c.setup {
				if f == nil { // accept what was opened
					acceptAll(t, m)
					continue
				}
				if err := m.Deliver(f); err != nil {
					t.Fatalf("setup frame %d: %v", i, err)
				}
			}
			err = m.Deliver(c.bad)
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("Deliver: %v, want ErrProtocol", err)
			}
			select {
			case <-m.Done():
			default:
				t.Fatal("Mux not closed after a protocol violation")
			}
			if !errors.Is(m.Err(), ErrCircuitClosed) || !errors.Is(m.Err(), ErrProtocol) {
				t.Fatalf("Err() = %v", m.Err())
			}
		})
	}
}

func repeat(b []byte, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// Frames that cross a RST or FIN on the wire are ignored, not errors.
func TestLateFramesTolerated(t *testing.T) {
	rec := &recorder{}
	m, err := New(Config{Role: RoleServer}, rec.send)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(nil)
	deliver := func(f []byte) {
		t.Helper()
		if err := m.Deliver(f); err != nil {
			t.Fatalf("Deliver %s: %v", frameName(f[0]), err)
		}
	}
	deliver(fOpen(1, KindTCP, 1000, "a:1"))
	deliver(fOpen(3, KindTCP, 1000, "a:1"))
	deliver(fOpen(5, KindUDP, 1000, "a:1"))
	ss := acceptAll(t, m)
	if len(ss) != 3 {
		t.Fatalf("accepted %d streams", len(ss))
	}
	// Stream 1: we reset it; the client's frames sent meanwhile arrive.
	ss[0].Reset(ReasonConnReset)
	rec.waitFrame(t, frameRst, 1)
	deliver(fData(1, 100))
	deliver(fU32(frameWindow, 1, 100))
	deliver(fHdr(frameFin, 1))
	deliver(fReason(frameRst, 1, ReasonClosed))
	// Stream 3: we close it (FIN), the client keeps sending: answered with
	// RST ReasonClosed, later frames ignored.
	ss[1].Close()
	rec.waitFrame(t, frameFin, 3)
	deliver(fData(3, 10))
	if f := rec.waitFrame(t, frameRst, 3); Reason(f[5]) != ReasonClosed {
		t.Errorf("RST reason %v", Reason(f[5]))
	}
	deliver(fData(3, 10))
	deliver(fHdr(frameFin, 3))
	// Stream 5 (udp): we close it, datagrams in flight are dropped.
	ss[2].Close()
	rec.waitFrame(t, frameFin, 5)
	deliver(fDatagram(5, 10))
	deliver(fHdr(frameFin, 5))
	// The circuit credit spent by ignored DATA is returned.
	m.mu.Lock()
	pend := m.connPend
	m.mu.Unlock()
	if pend != 120 {
		t.Errorf("pending circuit credit %d, want 120", pend)
	}
	if st := m.Stats(); st.Streams != 0 {
		t.Errorf("%d streams left", st.Streams)
	}
}

func TestConfigValidation(t *testing.T) {
	send := func([]byte) error { return nil }
	for _, cfg := range []Config{
		{},
		{Role: 3},
		{Role: RoleClient, MaxFrame: 100},
		{Role: RoleClient, MaxFrame: MaxFrameLimit + 1},
		{Role: RoleClient, StreamWindow: -1},
		{Role: RoleClient, CircuitWindow: 1000},
		{Role: RoleClient, MaxStreams: -1},
	} {
		if m, err := New(cfg, send); err == nil {
			m.Close(nil)
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	if _, err := New(Config{Role: RoleClient}, nil); err == nil {
		t.Error("New with nil send succeeded")
	}
}

// A failing send closes the Mux with that error.
func TestSendErrorClosesMux(t *testing.T) {
	boom := errors.New("boom")
	m, err := New(Config{Role: RoleClient}, func([]byte) error { return boom })
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Mux still open")
	}
	if !errors.Is(m.Err(), boom) || !errors.Is(m.Err(), ErrCircuitClosed) {
		t.Fatalf("Err() = %v", m.Err())
	}
	<-m.senderDone
}

// A request withdrawn before Accept frees its backlog slot.
func TestWithdrawnRequestLeavesBacklog(t *testing.T) {
	rec := &recorder{}
	m, err := New(Config{Role: RoleServer, AcceptBacklog: 1}, rec.send)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(nil)
	for _, f := range [][]byte{
		fOpen(1, KindTCP, 1000, "a:1"),
		fReason(frameRst, 1, ReasonCanceled),
		fOpen(3, KindTCP, 1000, "b:1"),
	} {
		if err := m.Deliver(f); err != nil {
			t.Fatal(err)
		}
	}
	ss := acceptAll(t, m)
	if len(ss) != 1 || ss[0].ID() != 3 {
		t.Fatalf("accepted %d streams", len(ss))
	}
	rec.waitFrame(t, frameOpened, 3)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, f := range rec.frames {
		if f[0] == frameRefused {
			t.Fatalf("stream refused: %x", f)
		}
	}
}
