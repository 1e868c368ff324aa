package netstack

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/waiter"

	"github.com/pexia-network/pexia/internal/icmperr"
)

// handleTCP serves one SYN; gVisor runs it on its own goroutine.
func (s *Stack) handleTCP(r *tcp.ForwarderRequest) {
	if !s.enter() {
		r.Complete(true)
		return
	}
	defer s.wg.Done()
	f := flowOf("tcp", r.ID())
	isn, haveSyn := s.takeSyn(r.ID())
	if f.Dst.Port() == 53 {
		s.serveDNSTCP(r, f)
		return
	}

	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.DialTimeout)
	up, err := s.cfg.Handler.DialTCP(ctx, f)
	cancel()
	if err != nil {
		// Counted, not logged: refusals are routine (rules, dead exits)
		// and the Handler knows why.
		s.c.dialErrors.Add(1)
		if haveSyn && isHostUnreachable(err) {
			// As a router would: the app's connect fails with
			// EHOSTUNREACH rather than ECONNREFUSED.
			r.Complete(false)
			s.injectICMP(tcpUnreachable(f, isn))
			return
		}
		r.Complete(true)
		return
	}
	ep, wq, ok := s.acceptTCP(r)
	if !ok {
		abortConn(up)
		return
	}
	s.c.tcpTotal.Add(1)
	s.c.tcpActive.Add(1)
	t := newTCPFlow(s, ep, wq, up)
	s.track(t)
	// The flow lives on a goroutine of its own: this one's stack grew
	// in the dial and the handshake, and would stay that large for as
	// long as the flow waits for its upstream. This goroutine holds a
	// count, so Add cannot race Wait.
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t.run()
		s.untrack(t)
		s.c.tcpActive.Add(-1)
	}()
}

// acceptTCP completes the handshake of r and configures the new endpoint.
func (s *Stack) acceptTCP(r *tcp.ForwarderRequest) (tcpip.Endpoint, *waiter.Queue, bool) {
	wq := new(waiter.Queue)
	ep, err := r.CreateEndpoint(wq)
	if err != nil {
		// The app gave up or reset during the handshake.
		r.Complete(true)
		return nil, nil, false
	}
	r.Complete(false)
	ep.SocketOptions().SetKeepAlive(true)
	idle, intvl := tcpip.KeepaliveIdleOption(tcpKeepaliveIdle), tcpip.KeepaliveIntervalOption(tcpKeepaliveIntvl)
	_ = ep.SetSockOpt(&idle)
	_ = ep.SetSockOpt(&intvl)
	_ = ep.SetSockOptInt(tcpip.KeepaliveCountOption, tcpKeepaliveCount)
	return ep, wq, true
}

// tcpFlow splices one app connection (a gVisor endpoint) and its upstream.
//
// State: active → reset (either side failed, or CloseFlows) → closed, or
// active → closed when both directions ended with a FIN.
type tcpFlow struct {
	s   *Stack
	ep  tcpip.Endpoint
	app *epConn
	up  net.Conn

	errEntry waiter.Entry // wakes on an app RST or timeout
	upEntry  waiter.Entry // the app's side is readable: wakeUpload

	// upState is upIdle, upRunning, upAgain or upEnded: whether a
	// goroutine is copying app → upstream (see wakeUpload).
	upState atomic.Int32
	upDone  chan struct{} // closed when app → upstream has ended

	mu    sync.Mutex
	state int // guarded by mu: flowActive, flowReset, flowClosed
}

// States of a flow's app → upstream direction.
const (
	upIdle    = iota // nothing to read; no goroutine
	upRunning        // a goroutine copies
	upAgain          // a goroutine copies and the app has sent more since it last looked
	upEnded          // the app's FIN was passed on, or the flow failed
)

const (
	flowActive = iota
	flowReset
	flowClosed
)

func newTCPFlow(s *Stack, ep tcpip.Endpoint, wq *waiter.Queue, up net.Conn) *tcpFlow {
	t := &tcpFlow{s: s, ep: ep, app: newEpConn(ep, wq), up: up, upDone: make(chan struct{})}
	// An app RST must also end the upstream even while the splice is
	// blocked writing to it. The callback runs inside gVisor, so it only
	// starts the reset.
	t.errEntry = waiter.NewFunctionEntry(waiter.EventErr, func(waiter.EventMask) {
		if tcp.EndpointState(ep.State()) == tcp.StateError {
			s.wg.Add(1) // the flow holds a count, so this cannot race Wait
			go func() {
				defer s.wg.Done()
				t.reset()
			}()
		}
	})
	wq.EventRegister(&t.errEntry)
	t.upEntry = waiter.NewFunctionEntry(waiter.ReadableEvents|waiter.EventHUp|waiter.EventErr, func(waiter.EventMask) {
		t.wakeUpload()
	})
	wq.EventRegister(&t.upEntry)
	return t
}

// run copies both ways until both directions end, then closes both sides.
// The calling goroutine copies upstream → app; app → upstream runs only
// while the app has sent something (wakeUpload).
func (t *tcpFlow) run() {
	t.wakeUpload() // data may have come with the handshake
	t.download()
	// If download reset the flow, the app's side must see it too.
	t.wakeUpload()
	<-t.upDone
	t.app.wq.EventUnregister(&t.upEntry)
	t.app.wq.EventUnregister(&t.errEntry)
	t.app.release()

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state == flowActive {
		t.state = flowClosed
		t.up.Close()
	}
	t.state = flowClosed
	t.ep.Close()
}

// wakeUpload makes sure a goroutine copies what the app sent: it starts
// one if none runs, or tells the running one to look again before it
// stops. gVisor calls it (through upEntry) whenever the app's side becomes
// readable, so an idle flow holds no goroutine and no buffer for this
// direction.
func (t *tcpFlow) wakeUpload() {
	for {
		switch t.upState.Load() {
		case upIdle:
			if t.upState.CompareAndSwap(upIdle, upRunning) {
				// run waits for upDone, so the flow's count is held.
				t.s.wg.Add(1)
				go t.upload()
				return
			}
		case upRunning:
			if t.upState.CompareAndSwap(upRunning, upAgain) {
				return
			}
		default: // upAgain: the running goroutine will look; upEnded
			return
		}
	}
}

// upload copies app → upstream until the app has nothing more to read,
// then stops (wakeUpload starts it again). The app's FIN becomes
// CloseWrite upstream.
func (t *tcpFlow) upload() {
	defer t.s.wg.Done()
	b := getSmallBuf()
	defer b.release()
	for {
		buf := b.get()
		n, err := t.app.tryRead(buf)
		if err == errWouldBlock {
			if t.upState.CompareAndSwap(upRunning, upIdle) {
				return
			}
			t.upState.Store(upRunning) // upAgain: more came meanwhile
			continue
		}
		if n > 0 {
			if _, werr := t.up.Write(buf[:n]); werr != nil {
				t.reset()
				t.endUpload()
				return
			}
			t.s.c.bytesUp.Add(uint64(n))
			b.filled(n)
		}
		if err == io.EOF {
			if cw, ok := t.up.(interface{ CloseWrite() error }); ok {
				if cw.CloseWrite() != nil {
					t.reset()
				}
			}
			t.endUpload()
			return
		}
		if err != nil {
			t.reset()
			t.endUpload()
			return
		}
	}
}

// endUpload records that app → upstream is over for good.
func (t *tcpFlow) endUpload() {
	t.upState.Store(upEnded)
	close(t.upDone)
}

// download copies upstream → app. The upstream's EOF becomes a FIN to the
// app; any other upstream error resets the app.
func (t *tcpFlow) download() {
	var b copyBuf
	defer b.idle()
	deadlines := true // the upstream supports read deadlines
	for {
		// While holding a large buffer, wait only briefly: if nothing comes,
		// give it back and block with the small one.
		armed, timedOut := false, false
		if b.large != nil && deadlines {
			deadlines = t.up.SetReadDeadline(time.Now().Add(largeBufIdle)) == nil
			armed = deadlines
		}
		buf := b.get()
		n, err := t.up.Read(buf)
		if armed {
			if isTimeout(err) {
				err, timedOut = nil, true
			}
			if t.up.SetReadDeadline(time.Time{}) != nil {
				deadlines = false
			}
		}
		if n > 0 {
			if _, werr := t.app.Write(buf[:n]); werr != nil {
				t.reset()
				return
			}
			t.s.c.bytesDown.Add(uint64(n))
			b.filled(n)
		}
		if timedOut {
			b.idle()
		}
		if err == io.EOF {
			if t.app.CloseWrite() != nil {
				t.reset()
			}
			return
		}
		if err != nil {
			t.reset()
			return
		}
	}
}

// reset aborts both sides: a RST to the app, an abortive close upstream.
// Blocked copies then fail and run finishes.
func (t *tcpFlow) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state != flowActive {
		return
	}
	t.state = flowReset
	t.ep.Abort()
	abortConn(t.up)
}

// abortConn closes c, with a RST where the connection supports it.
func abortConn(c net.Conn) {
	if l, ok := c.(interface{ SetLinger(int) error }); ok {
		_ = l.SetLinger(0)
	}
	_ = c.Close()
}

// isTimeout reports whether err is a deadline expiry.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// deadline returns now+d.
func deadline(d time.Duration) time.Time { return time.Now().Add(d) }

// noteSyn remembers the sequence number of a SYN that opens a connection,
// for the ICMP error that may have to quote it (tcpUnreachable): the app's
// kernel accepts an ICMP error only for the sequence number it sent. It
// runs on the packet path, before the forwarder sees the SYN.
func (s *Stack) noteSyn(id stack.TransportEndpointID, pkt *stack.PacketBuffer) {
	th := header.TCP(pkt.TransportHeader().Slice())
	if len(th) < header.TCPMinimumSize || th.Flags()&(header.TCPFlagSyn|header.TCPFlagAck) != header.TCPFlagSyn {
		return
	}
	s.synMu.Lock()
	defer s.synMu.Unlock()
	// SYNs the forwarder ignores (over maxSynInFlight) are never taken;
	// the bound keeps them from piling up.
	if _, ok := s.syns[id]; ok || len(s.syns) < 2*maxSynInFlight {
		s.syns[id] = th.SequenceNumber()
	}
}

// takeSyn returns and forgets the sequence number noteSyn saw for id.
func (s *Stack) takeSyn(id stack.TransportEndpointID) (uint32, bool) {
	s.synMu.Lock()
	defer s.synMu.Unlock()
	isn, ok := s.syns[id]
	delete(s.syns, id)
	return isn, ok
}

// tcpUnreachable builds the ICMP host unreachable that f.Dst's side sends
// to f.Src for the SYN with sequence number isn: the quote is the TCP
// header's ports and sequence number.
func tcpUnreachable(f Flow, isn uint32) []byte {
	quote := make([]byte, 8)
	binary.BigEndian.PutUint16(quote[0:2], f.Src.Port())
	binary.BigEndian.PutUint16(quote[2:4], f.Dst.Port())
	binary.BigEndian.PutUint32(quote[4:8], isn)
	v6 := f.Dst.Addr().Is6()
	typ, code, _ := icmpCode(icmperr.HostUnreachable, v6)
	return icmpPacket(f.Dst.Addr(), f.Src.Addr(), 6, ipHeaderLen(f.Dst.Addr())+header.TCPMinimumSize, quote, typ, code, 0)
}
