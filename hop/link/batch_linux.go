//go:build linux

package link

import (
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// batchWriter is sendmmsg(2) on a socket: x/net's ipv4 or ipv6 PacketConn.
type batchWriter interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// batchConn gathers the datagrams pion writes and sends them with one
// sendmmsg(2) instead of one sendto(2) each. A flusher goroutine sends
// whatever is queued as soon as it runs (see batchYields), while writers
// keep queuing into a second batch: under load the batch grows while the
// previous one is in the kernel, and a lone datagram goes out after one
// goroutine switch. There is no timer: Go's timers below a millisecond
// fire up to a millisecond late on an idle process, which a timed flush
// would add to every round trip (a 100 µs flush timer took a link's round
// trip from 62 µs to 2.4 ms). An idle socket costs nothing. Reads go
// straight to the socket. A datagram the kernel refuses at the flush is
// dropped and counted, as the network may drop any datagram; its writer
// has already been told it was sent.
type batchConn struct {
	net.PacketConn // the socket, for reads and the rest
	sock           *net.UDPConn
	w              batchWriter
	wake           chan struct{} // a datagram is queued; capacity 1
	done           chan struct{} // closed by Close
	flushed        chan struct{} // closed when the flusher has returned

	mu      sync.Mutex
	room    *sync.Cond // signalled when the flusher hands its batch back
	cur     *batch     // what writers queue into
	spare   *batch     // the batch being sent, while sending
	sending bool
	closed  bool
}

// batch is one sendmmsg(2) worth of datagrams.
type batch struct {
	msgs  []ipv4.Message
	addrs []net.UDPAddr // one per slot, reused so queuing allocates nothing
	n     int           // datagrams queued
}

func newBatch(size int) *batch {
	b := &batch{msgs: make([]ipv4.Message, size), addrs: make([]net.UDPAddr, size)}
	for i := range b.msgs {
		b.msgs[i].Buffers = [][]byte{make([]byte, 0, batchSlot)}
		b.addrs[i].IP = make(net.IP, 0, net.IPv6len)
	}
	return b
}

// sendStats counts what every batchConn of the process sent.
var sendStats batchStats

// batchStats counts what batchConns sent.
type batchStats struct {
	calls     atomic.Uint64 // sendmmsg calls that sent at least one datagram
	datagrams atomic.Uint64 // datagrams sent
	dropped   atomic.Uint64 // datagrams the kernel refused
	largest   atomic.Uint64 // the longest datagram queued, in bytes
}

// batchYields is how many times the flusher lets other goroutines run
// before it takes a batch, while its socket is busy (it sent within
// batchBusy): the writer that woke it is usually still producing the rest
// of its burst (pion's SCTP writes a congestion window's worth at once).
// Three yields took a bulk transfer from 1.7 to about 30 datagrams per
// sendmmsg and cut the link's CPU per GiB by another sixth
// (docs/PERFORMANCE.md), but a yield puts the flusher behind every
// runnable goroutine: on a process starved of CPU that delayed datagrams
// by seconds, long enough for ICE to give links up. So it is off.
var batchYields = 0

// batchBusy is how recent the last send must be for the flusher to yield.
const batchBusy = time.Millisecond

// batchSlot is the room for one datagram in a batch; pion's packets are
// smaller, and a larger one gets a buffer of its own.
const batchSlot = 1500

func newBatchConn(conn *net.UDPConn, size int) *batchConn {
	c := &batchConn{PacketConn: conn, sock: conn, cur: newBatch(size), spare: newBatch(size),
		wake: make(chan struct{}, 1), done: make(chan struct{}), flushed: make(chan struct{})}
	c.room = sync.NewCond(&c.mu)
	if a, ok := conn.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() != nil {
		c.w = ipv4.NewPacketConn(conn)
	} else {
		c.w = ipv6.NewPacketConn(conn)
	}
	go c.flusher()
	return c
}

// WriteTo queues a copy of b for addr.
func (c *batchConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: addr, Err: net.InvalidAddrError("not a UDP address")}
	}
	return c.queue(b, ua.IP, ua.Port, ua.Zone)
}

// WriteToAddrPort queues a copy of b for addr (ice's allocation-free path).
func (c *batchConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	a := addr.Addr()
	var ip [16]byte
	var n int
	if a.Is4() {
		v := a.As4()
		n = copy(ip[:], v[:])
	} else {
		v := a.As16()
		n = copy(ip[:], v[:])
	}
	return c.queue(b, ip[:n], int(addr.Port()), a.Zone())
}

// ReadFromAddrPort reads one datagram (ice's allocation-free path).
func (c *batchConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	return c.sock.ReadFromUDPAddrPort(b)
}

func (c *batchConn) queue(b []byte, ip net.IP, port int, zone string) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.cur.n == len(c.cur.msgs) && c.sending && !c.closed {
		c.room.Wait()
	}
	if c.closed {
		return 0, &net.OpError{Op: "write", Net: "udp", Err: net.ErrClosed}
	}
	if c.cur.n == len(c.cur.msgs) {
		// Full while the flusher is between batches: send it here.
		c.send(c.cur)
	}
	q := c.cur
	m := &q.msgs[q.n]
	buf := m.Buffers[0][:0]
	if len(b) > cap(buf) {
		buf = make([]byte, 0, len(b))
	}
	m.Buffers[0] = append(buf, b...)
	if n := uint64(len(b)); n > sendStats.largest.Load() {
		sendStats.largest.Store(n)
	}
	a := &q.addrs[q.n]
	a.IP, a.Port, a.Zone = append(a.IP[:0], ip...), port, zone
	m.Addr = a
	q.n++
	if !c.sending {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	return len(b), nil
}

// flusher sends each batch writers queued, until Close.
func (c *batchConn) flusher() {
	defer close(c.flushed)
	var last time.Time // when the flusher last sent
	for {
		select {
		case <-c.wake:
		case <-c.done:
			c.mu.Lock()
			c.send(c.cur)
			c.mu.Unlock()
			return
		}
		if batchYields > 0 && time.Since(last) < batchBusy {
			for range batchYields {
				runtime.Gosched()
			}
		}
		c.mu.Lock()
		for c.cur.n > 0 {
			b := c.cur
			c.cur, c.spare, c.sending = c.spare, b, true
			c.mu.Unlock()
			c.send(b)
			last = time.Now()
			c.mu.Lock()
			c.sending = false
			c.room.Broadcast()
		}
		c.mu.Unlock()
	}
}

// send sends b's datagrams and empties it. A datagram the kernel refuses
// is skipped so the rest of the batch still goes.
func (c *batchConn) send(b *batch) {
	for i := 0; i < b.n; {
		k, err := c.w.WriteBatch(b.msgs[i:b.n], 0)
		if k > 0 {
			sendStats.calls.Add(1)
			sendStats.datagrams.Add(uint64(k))
			i += k
			continue
		}
		// The first datagram left is refused (err says why): drop it.
		_ = err
		sendStats.dropped.Add(1)
		i++
	}
	for i := range b.n {
		b.msgs[i].Addr = nil
	}
	b.n = 0
}

// SetWriteDeadline does nothing: a write only queues, and the flusher's
// sendmmsg must not fail for a deadline one writer set (ice's mux sets one
// to abort a write whose context ended, which would drop every datagram
// of every link sent until it is cleared).
func (c *batchConn) SetWriteDeadline(time.Time) error { return nil }

// SetDeadline sets the read deadline only; see SetWriteDeadline.
func (c *batchConn) SetDeadline(t time.Time) error { return c.sock.SetReadDeadline(t) }

// Close sends what is queued and closes the socket.
func (c *batchConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.sock.Close()
	}
	c.closed = true
	c.room.Broadcast()
	c.mu.Unlock()
	close(c.done)
	<-c.flushed
	return c.sock.Close()
}

// batchPacketConn wraps the socket pion writes to in a batchConn.
func batchPacketConn(conn *net.UDPConn) net.PacketConn {
	return newBatchConn(conn, batchSize)
}
