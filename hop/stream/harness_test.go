package stream

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"
)

var errPipeClosed = errors.New("pipe closed")

// pipeOpts shape the in-memory circuit between two Muxes.
type pipeOpts struct {
	rate    int           // bytes per second per direction; 0 = unlimited
	latency time.Duration // one-way delay
	batch   int           // if > 0, send holds up to batch frames until Config.Flush, as a circuit does
}

type linkItem struct {
	b   []byte
	due time.Time
}

// link is one direction of the in-memory circuit: send paces frames to the
// configured rate (blocking the Mux's sending goroutine, like a congested
// circuit would), and a goroutine delivers them after the latency.
type link struct {
	opts pipeOpts
	ch   chan linkItem
	quit chan struct{}
	dst  *Mux
	next time.Time // pacing; used by the single sending goroutine only

	mu  sync.Mutex
	err error // first Deliver error that is not about a closed Mux
}

func (l *link) send(b []byte) error {
	if l.opts.rate > 0 {
		now := time.Now()
		if l.next.Before(now) {
			l.next = now
		}
		l.next = l.next.Add(time.Duration(len(b)) * time.Second / time.Duration(l.opts.rate))
		if d := time.Until(l.next); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-l.quit:
				t.Stop()
				return errPipeClosed
			}
		}
	}
	it := linkItem{b: append([]byte(nil), b...)}
	if l.opts.latency > 0 {
		it.due = time.Now().Add(l.opts.latency)
	}
	select {
	case l.ch <- it:
		return nil
	case <-l.quit:
		return errPipeClosed
	}
}

func (l *link) run() {
	for {
		select {
		case it := <-l.ch:
			if d := time.Until(it.due); !it.due.IsZero() && d > 0 {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-l.quit:
					t.Stop()
					return
				}
			}
			if err := l.dst.Deliver(it.b); err != nil && !errors.Is(err, ErrCircuitClosed) {
				l.mu.Lock()
				if l.err == nil {
					l.err = err
				}
				l.mu.Unlock()
			}
		case <-l.quit:
			return
		}
	}
}

func (l *link) deliverErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// batcher is a send function that holds frames back until Flush, or until
// it holds max frames, as a circuit gathering cells into messages does.
// Both are called by the Mux's sending goroutine only.
type batcher struct {
	next func([]byte) error
	max  int
	held [][]byte

	mu     sync.Mutex
	groups []int // frames passed on together, in order
}

func (b *batcher) send(f []byte) error {
	if len(b.held) == b.max {
		if err := b.flush(); err != nil {
			return err
		}
	}
	b.held = append(b.held, append([]byte(nil), f...))
	return nil
}

func (b *batcher) flush() error {
	if len(b.held) == 0 {
		return nil
	}
	b.mu.Lock()
	b.groups = append(b.groups, len(b.held))
	b.mu.Unlock()
	for _, f := range b.held {
		if err := b.next(f); err != nil {
			return err
		}
	}
	b.held = b.held[:0]
	return nil
}

// sizes returns the sizes of the groups passed on so far.
func (b *batcher) sizes() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int(nil), b.groups...)
}

// pair is a client and a server Mux connected back to back.
type pair struct {
	client, server *Mux
	cb, sb         *batcher // with pipeOpts.batch
	c2s, s2c       *link
	quit           chan struct{}
	closeOnce      sync.Once
	wg             sync.WaitGroup // pipe goroutines, accept loop and handlers
}

func newPairNoCleanup(tb testing.TB, ccfg, scfg Config, opts pipeOpts) *pair {
	tb.Helper()
	p := &pair{quit: make(chan struct{})}
	p.c2s = &link{opts: opts, ch: make(chan linkItem, 256), quit: p.quit}
	p.s2c = &link{opts: opts, ch: make(chan linkItem, 256), quit: p.quit}
	ccfg.Role, scfg.Role = RoleClient, RoleServer
	csend, ssend := p.c2s.send, p.s2c.send
	if opts.batch > 0 {
		p.cb = &batcher{next: csend, max: opts.batch}
		p.sb = &batcher{next: ssend, max: opts.batch}
		csend, ccfg.Flush = p.cb.send, p.cb.flush
		ssend, scfg.Flush = p.sb.send, p.sb.flush
	}
	var err error
	if p.client, err = New(ccfg, csend); err != nil {
		tb.Fatal(err)
	}
	if p.server, err = New(scfg, ssend); err != nil {
		tb.Fatal(err)
	}
	p.c2s.dst, p.s2c.dst = p.server, p.client
	p.wg.Add(2)
	go func() { defer p.wg.Done(); p.c2s.run() }()
	go func() { defer p.wg.Done(); p.s2c.run() }()
	return p
}

func newPair(tb testing.TB, ccfg, scfg Config, opts pipeOpts) *pair {
	tb.Helper()
	p := newPairNoCleanup(tb, ccfg, scfg, opts)
	tb.Cleanup(func() {
		for _, l := range []*link{p.c2s, p.s2c} {
			if err := l.deliverErr(); err != nil {
				tb.Errorf("Deliver: %v", err)
			}
		}
		p.close()
	})
	return p
}

// close closes both Muxes and the pipe and waits for every goroutine the
// pair started.
func (p *pair) close() {
	p.closeOnce.Do(func() {
		p.client.Close(nil)
		p.server.Close(nil)
		close(p.quit)
	})
	p.wg.Wait()
	<-p.client.senderDone
	<-p.server.senderDone
}

// serve runs an accept loop on the server; each request is handled in its
// own goroutine. Everything ends when the server Mux closes.
func (p *pair) serve(handler func(r *Request)) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			r, err := p.server.Accept(context.Background())
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				handler(r)
			}()
		}
	}()
}

// go runs f in a goroutine tracked by the pair.
func (p *pair) goTracked(f func()) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
}

// recorder is a send function that keeps the frames.
type recorder struct {
	mu     sync.Mutex
	frames [][]byte
}

func (r *recorder) send(b []byte) error {
	r.mu.Lock()
	r.frames = append(r.frames, append([]byte(nil), b...))
	r.mu.Unlock()
	return nil
}

// waitFrame waits until a frame of type typ for id was sent and returns it.
func (r *recorder) waitFrame(tb testing.TB, typ byte, id uint32) []byte {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, f := range r.frames {
			if f[0] == typ && binary.BigEndian.Uint32(f[1:5]) == id {
				r.mu.Unlock()
				return f
			}
		}
		r.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	tb.Fatalf("no %s frame for stream %d was sent", frameName(typ), id)
	return nil
}

// Frame builders for tests.

func fHdr(typ byte, id uint32, body ...byte) []byte {
	b := make([]byte, HeaderLen, HeaderLen+len(body))
	putHeader(b, typ, id)
	return append(b, body...)
}

func fOpen(id uint32, kind Kind, window uint32, addr string) []byte {
	b := make([]byte, 11+len(addr))
	encodeOpen(b, id, kind, window, addr)
	return b
}

func fU32(typ byte, id, v uint32) []byte {
	b := make([]byte, 9)
	encodeU32(b, typ, id, v)
	return b
}

func fReason(typ byte, id uint32, r Reason) []byte {
	b := make([]byte, 6)
	encodeReason(b, typ, id, r)
	return b
}

func fData(id uint32, n int) []byte {
	b := fHdr(frameData, id)
	for i := range n {
		b = append(b, byte(i))
	}
	return b
}

func fDatagram(id uint32, n int) []byte {
	b := fHdr(frameDatagram, id)
	for i := range n {
		b = append(b, byte(i))
	}
	return b
}

// fPacked is a DATAGRAMS frame with one entry per id in order, each of
// sizes[id] bytes.
func fPacked(sizes map[uint32]int, ids ...uint32) []byte {
	b := fHdr(frameDatagrams, 0)
	for _, id := range ids {
		e := make([]byte, packEntryLen+sizes[id])
		putEntry(e, id, sizes[id])
		b = append(b, e...)
	}
	return b
}
