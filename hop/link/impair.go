package link

import (
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// Impairment makes a link's socket behave like a worse network on its way
// out: every packet it sends is dropped with probability Loss or else sent
// Delay later, in order. It is for tests and benchmarks that measure the
// links over a lossy, distant path on a machine whose kernel has no netem.
type Impairment struct {
	Delay time.Duration
	Loss  float64 // 0..1
}

func (i *Impairment) active() bool { return i != nil && (i.Delay > 0 || i.Loss > 0) }

// impairQueue bounds the packets a delaying socket holds; beyond it they
// are dropped, as a full router queue would.
const impairQueue = 8192

type impairedPacket struct {
	due  time.Time
	b    []byte
	addr net.Addr
}

// impairedConn is a net.PacketConn whose writes are impaired. It embeds
// the interface, not the *net.UDPConn, so that pion writes through
// WriteTo.
type impairedConn struct {
	net.PacketConn
	imp       Impairment
	q         chan impairedPacket
	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

func impair(pc net.PacketConn, imp Impairment) *impairedConn {
	c := &impairedConn{PacketConn: pc, imp: imp, q: make(chan impairedPacket, impairQueue), done: make(chan struct{})}
	c.wg.Add(1)
	go c.send()
	return c
}

func (c *impairedConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if c.imp.Loss > 0 && rand.Float64() < c.imp.Loss {
		return len(p), nil
	}
	select {
	case c.q <- impairedPacket{due: time.Now().Add(c.imp.Delay), b: append([]byte(nil), p...), addr: addr}:
	case <-c.done:
		return 0, net.ErrClosed
	default: // queue full: dropped
	}
	return len(p), nil
}

func (c *impairedConn) send() {
	defer c.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		select {
		case p := <-c.q:
			if d := time.Until(p.due); d > 0 {
				t.Reset(d)
				select {
				case <-t.C:
				case <-c.done:
					return
				}
			}
			_, _ = c.PacketConn.WriteTo(p.b, p.addr)
		case <-c.done:
			return
		}
	}
}

func (c *impairedConn) Close() error {
	c.closeOnce.Do(func() { close(c.done) })
	err := c.PacketConn.Close()
	c.wg.Wait()
	return err
}
