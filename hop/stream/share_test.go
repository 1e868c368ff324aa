package stream

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/testutil"
)

// shareHarness is a client Mux whose frames are recorded in order, with
// the exit's answers delivered by hand, and two udp flows kept backlogged:
// every frame the Mux sends is followed by one more datagram on each flow,
// so they always have more than the circuit takes.
type shareHarness struct {
	m      *Mux
	open   atomic.Bool
	wake   chan struct{}
	opens  chan uint32
	quit   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	sent   []sentFrame
	floods []*Stream
	refill bool
}

type sentFrame struct {
	typ byte
	id  uint32
	n   int
}

func newShareHarness(t *testing.T, pack bool) *shareHarness {
	h := &shareHarness{wake: make(chan struct{}, 1), opens: make(chan uint32, 8), quit: make(chan struct{}), done: make(chan struct{})}
	gate := func() <-chan struct{} {
		if h.open.Load() {
			return nil
		}
		return h.wake
	}
	m, err := New(Config{Role: RoleClient, Gate: gate, PackDatagrams: pack}, h.send)
	if err != nil {
		t.Fatal(err)
	}
	h.m = m
	// The exit: answers every OPEN at once with an unlimited window. It
	// is the only caller of Deliver until the tests' own, which come
	// after every Dial returned.
	go func() {
		defer close(h.done)
		for {
			select {
			case id := <-h.opens:
				m.Deliver(fU32(frameOpened, id, MaxWindow))
			case <-h.quit:
				return
			}
		}
	}()
	t.Cleanup(func() {
		m.Close(nil)
		close(h.quit)
		<-h.done
		<-m.senderDone
	})
	for i := range 2 {
		h.floods = append(h.floods, dial(t, m, "udp", fmt.Sprintf("flood%d.test:9", i)))
	}
	return h
}

func (h *shareHarness) send(b []byte) error {
	id := binary.BigEndian.Uint32(b[1:5])
	if b[0] == frameOpen {
		h.opens <- id
		return nil
	}
	h.mu.Lock()
	h.sent = append(h.sent, sentFrame{b[0], id, len(b)})
	refill := h.refill
	h.mu.Unlock()
	if refill {
		h.flood()
	}
	return nil
}

// flood writes one datagram of 3,000 bytes (one to a frame) on each flow.
func (h *shareHarness) flood() {
	for _, f := range h.floods {
		f.Write(make([]byte, 3000))
	}
}

// frames returns the DATA and DATAGRAM frames sent so far, in order.
func (h *shareHarness) frames() []sentFrame {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []sentFrame
	for _, f := range h.sent {
		if f.typ == frameData || f.typ == frameDatagram || f.typ == frameDatagrams {
			out = append(out, f)
		}
	}
	return out
}

// countDatagrams counts the datagram frames of fs, and those of each flood.
func (h *shareHarness) countDatagrams(fs []sentFrame) (all int, per []int) {
	per = make([]int, len(h.floods))
	for _, f := range fs {
		if f.typ == frameData {
			continue
		}
		all++
		for i, fl := range h.floods {
			if f.id == fl.ID() {
				per[i]++
			}
		}
	}
	return all, per
}

// TestReliableShareUnderDatagramFlood: a tcp stream with data to send and
// two udp flows flooding share the frames (the circuit's cells) two to
// one: the flows get one frame in three between them, and take turns
// among themselves. When the stream has no credit left, the flows get
// every frame.
func TestReliableShareUnderDatagramFlood(t *testing.T) {
	h := newShareHarness(t, false)
	m := h.m
	c := dial(t, m, "tcp", "download.test:80")
	// The stream's window: 120 frames of DATA, then it waits for credit.
	const dataFrames = 120
	window := dataFrames * m.maxPayload
	m.Deliver(fU32(frameWindow, 0, MaxWindow))
	m.mu.Lock()
	c.sendCredit = int64(window)
	m.mu.Unlock()
	wrote := make(chan error, 1)
	go func() {
		_, err := c.Write(make([]byte, 2*window))
		wrote <- err
	}()
	for range 4 {
		h.flood()
	}
	testutil.WaitFor(t, "the stream's data to wait at the gate", 5*time.Second, func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return len(c.wbuf) > 0
	})
	h.mu.Lock()
	h.refill = true
	h.mu.Unlock()
	h.open.Store(true)
	h.wake <- struct{}{}

	// While the stream has data and credit: 120 DATA frames, and the
	// datagram frames between them.
	var fs []sentFrame
	testutil.WaitFor(t, "the stream's window of DATA and 30 frames after it", 20*time.Second, func() bool {
		fs = h.frames()
		data := 0
		for i, f := range fs {
			if f.typ == frameData {
				data++
			}
			if data == dataFrames && len(fs)-i > 30 {
				return true
			}
		}
		return false
	})
	last := 0
	for i, f := range fs {
		if f.typ == frameData {
			last = i
		}
	}
	both := fs[:last+1]
	dg, per := h.countDatagrams(both)
	t.Logf("with a tcp stream and two udp floods ready: %d frames, %d of them datagrams (%v per flow)", len(both), dg, per)
	if want := dataFrames / ReliablePerDatagram; dg > want {
		t.Errorf("the udp floods took %d of %d frames while a tcp stream had %d frames of data ready, want at most %d (one in %d)",
			dg, len(both), dataFrames, want, ReliablePerDatagram+1)
	}
	if want := dataFrames/ReliablePerDatagram - 1; dg < want {
		t.Errorf("the udp floods got %d of %d frames while a tcp stream had data ready, want at least %d", dg, len(both), want)
	}
	if d := per[0] - per[1]; d < -1 || d > 1 {
		t.Errorf("the two floods got %v datagram frames, want turns", per)
	}
	// Without credit the stream waits, and the floods take every frame.
	after := fs[last+1:][:30]
	if dg, _ := h.countDatagrams(after); dg != len(after) {
		t.Errorf("with the tcp stream out of credit, %d of the next %d frames were datagrams, want all", dg, len(after))
	}
	select {
	case err := <-wrote:
		t.Fatalf("write returned %v with half its data unsent", err)
	default:
	}
	h.mu.Lock()
	h.refill = false
	h.mu.Unlock()
	m.Close(nil)
	<-wrote
}

// TestDatagramsYieldToDownload: DATA frames arriving count as the reliable
// class's frames: while a download comes in and the udp flows have more
// than a frame's worth queued, they send one frame for every two DATA
// frames that arrive, and all they can once no DATA has arrived for
// DataHold.
func TestDatagramsYieldToDownload(t *testing.T) {
	h := newShareHarness(t, false)
	m := h.m
	var clock atomic.Int64 // ns since start; frozen unless moved
	start := time.Now()
	m.mu.Lock()
	m.now = func() time.Time { return start.Add(time.Duration(clock.Load())) }
	m.mu.Unlock()
	c := dial(t, m, "tcp", "download.test:80")
	for range 8 {
		h.flood()
	}
	queued := func() int {
		m.mu.Lock()
		defer m.mu.Unlock()
		return c.m.dgOutBytes
	}
	// The first DATA frame arrives before the gate opens: the floods'
	// queued datagrams now wait for the download's turns.
	m.Deliver(fData(c.ID(), 1000))
	h.mu.Lock()
	h.refill = true
	h.mu.Unlock()
	h.open.Store(true)
	h.wake <- struct{}{}
	heldAt := func(n int) {
		t.Helper()
		testutil.WaitFor(t, fmt.Sprintf("%d datagram frames sent, then datagrams held", n), 10*time.Second, func() bool {
			m.mu.Lock()
			held := m.held
			m.mu.Unlock()
			dg, _ := h.countDatagrams(h.frames())
			return held && dg == n
		})
	}
	// One DATA frame has arrived: one more lets a datagram frame go.
	heldAt(0)
	for i := 1; i <= 40; i++ {
		m.Deliver(fData(c.ID(), 1000))
		m.Deliver(fData(c.ID(), 1000))
		heldAt(i)
	}
	if q := queued(); q <= m.cfg.MaxFrame {
		t.Fatalf("only %d bytes of datagrams queued; the floods should be backlogged", q)
	}
	// No DATA for DataHold: the download has stopped, the floods go.
	clock.Add(int64(DataHold))
	h.flood()
	n0, _ := h.countDatagrams(h.frames())
	testutil.WaitFor(t, "datagram frames after the download stopped", 10*time.Second, func() bool {
		dg, _ := h.countDatagrams(h.frames())
		return dg >= n0+50
	})
	h.mu.Lock()
	h.refill = false
	h.mu.Unlock()
}
