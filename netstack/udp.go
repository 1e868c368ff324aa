package netstack

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// handleUDP opens a flow for the first datagram of a new (source,
// destination) pair. gVisor calls it on the packet path, so it must not
// block: the endpoint is created here (later datagrams queue on it) and
// the rest runs on a new goroutine.
func (s *Stack) handleUDP(r *udp.ForwarderRequest) {
	if s.c.udpActive.Load() >= MaxUDPFlows {
		s.c.drops.Add(1)
		return
	}
	if !s.enter() {
		return
	}
	f := flowOf("udp", r.ID())
	wq := new(waiter.Queue)
	ep, err := r.CreateEndpoint(wq)
	if err != nil {
		s.wg.Done()
		s.c.drops.Add(1)
		return
	}
	// The endpoint holds the app's datagrams until the flow's goroutine
	// takes them; the default, 208 KiB, is 80 ms at 20 Mbit/s, less than
	// a busy machine may leave that goroutine without CPU.
	ep.SocketOptions().SetReceiveBufferSize(udpReceiveBuffer, true)
	conn := newUDPApp(ep, wq)
	s.c.udpTotal.Add(1)
	s.c.udpActive.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.c.udpActive.Add(-1)
		if f.Dst.Port() == 53 {
			s.serveDNSUDP(conn, f)
			return
		}
		s.serveUDP(conn, f)
	}()
}

// udpReceiveBuffer is how many bytes of an app's datagrams the stack holds
// for a udp flow until its goroutine takes them: 200 ms at 20 Mbit/s.
// Datagrams beyond it are dropped by the stack and counted on the flow
// (DropCounter).
const udpReceiveBuffer = 512 << 10

// DropCounter is implemented by an upstream datagram conn (what
// Handler.DialUDP returns) that counts datagrams of its flow dropped on
// the way to it: the stack reports those it dropped because the flow's
// goroutine fell behind the app, so that they show where the flow's own
// drops do.
type DropCounter interface {
	CountDropped(n uint64)
}

// udpFlow splices one app datagram flow and its upstream datagram conn.
type udpFlow struct {
	s    *Stack
	f    Flow
	app  *udpApp
	up   net.Conn
	idle time.Duration

	last  atomic.Int64 // time of the last datagram, ns since start
	start time.Time
	timer *time.Timer

	once  sync.Once
	ended atomic.Bool

	overflows uint64 // the endpoint's drops reported so far; upload only
}

func (s *Stack) serveUDP(app *udpApp, f Flow) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.DialTimeout)
	up, err := s.cfg.Handler.DialUDP(ctx, f)
	cancel()
	if err != nil {
		s.c.dialErrors.Add(1)
		app.Close()
		return
	}
	u := &udpFlow{s: s, f: f, app: app, up: up, idle: s.cfg.UDPIdleTimeout, start: time.Now()}
	// Armed only once the field is set: checkIdle reads it.
	u.timer = time.AfterFunc(time.Duration(1<<62), u.checkIdle)
	u.timer.Reset(u.idle)
	s.track(u)
	defer s.untrack(u)

	done := make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(done)
		u.download()
	}()
	u.upload()
	<-done
	u.reset()
}

func (u *udpFlow) touch() { u.last.Store(int64(time.Since(u.start))) }

// checkIdle runs from the idle timer: it ends the flow or re-arms itself
// for the rest of the idle period.
func (u *udpFlow) checkIdle() {
	if u.ended.Load() {
		return
	}
	quiet := time.Since(u.start) - time.Duration(u.last.Load())
	if quiet >= u.idle {
		u.reset()
		return
	}
	u.timer.Reset(u.idle - quiet)
}

func (u *udpFlow) upload() {
	for {
		u.app.wait(0)
		buf := copyBufs.Get().(*[copyBufSize]byte)
		n, err := u.app.Read(buf[:])
		u.reportDrops()
		if err == nil {
			u.touch()
			if _, err = u.up.Write(buf[:n]); err != nil {
				if u.s.udpICMP(u.f, n, err) {
					// Too big for the tunnel: the app is told the
					// size that passes, and the flow goes on.
					err = nil
				} else {
					u.s.unreachable(u.f, err)
				}
			}
		}
		copyBufs.Put(buf)
		if err != nil {
			u.reset()
			return
		}
		u.s.c.bytesUp.Add(uint64(n))
	}
}

// reportDrops tells the upstream of the datagrams the endpoint dropped
// since the last report because its receive buffer was full.
func (u *udpFlow) reportDrops() {
	st, ok := u.app.ep.Stats().(*tcpip.TransportEndpointStats)
	if !ok {
		return
	}
	n := st.ReceiveErrors.ReceiveBufferOverflow.Value()
	if n == u.overflows {
		return
	}
	if dc, ok := u.up.(DropCounter); ok {
		dc.CountDropped(n - u.overflows)
	}
	u.overflows = n
}

// download holds a large buffer while blocked: a datagram conn offers no
// way to learn a datagram's size before reading it.
func (u *udpFlow) download() {
	buf := copyBufs.Get().(*[copyBufSize]byte)
	defer copyBufs.Put(buf)
	for {
		n, err := u.up.Read(buf[:])
		if err != nil && u.s.udpICMP(u.f, 0, err) {
			continue
		}
		if err != nil {
			// An ICMP error for the flow reaches the app before the
			// flow ends.
			if !u.ended.Load() {
				u.s.unreachable(u.f, err)
			}
			u.reset()
			return
		}
		u.touch()
		if _, err := u.app.Write(buf[:n]); err != nil {
			u.reset()
			return
		}
		u.s.c.bytesDown.Add(uint64(n))
	}
}

// reset ends the flow: both connections are closed, which ends the copies.
func (u *udpFlow) reset() {
	u.once.Do(func() {
		u.ended.Store(true)
		u.timer.Stop()
		u.app.Close()
		u.up.Close()
	})
}
