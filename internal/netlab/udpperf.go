package netlab

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// UDP paced streams. A sender writes sequence-numbered datagrams at a
// fixed payload rate for a fixed time; the receiver counts each datagram
// once and reads from its kernel how many its socket buffer could not
// hold (SO_RXQ_OVFL), so that a loss can be told from a slow reader. Both
// ends are goroutines of this process with sockets in their hosts'
// namespaces, as for Bulk.

// UDPDirection says which end of a UDP stream sends.
type UDPDirection int

const (
	// UDPUp sends from the client host to the server host.
	UDPUp UDPDirection = iota
	// UDPDown sends from the server host back to the client host's
	// socket, after the client asked for it (so a NAT or a tunnel on the
	// way knows the flow), as a download does.
	UDPDown
)

func (d UDPDirection) String() string {
	if d == UDPDown {
		return "down"
	}
	return "up"
}

// UDPOptions configures a paced UDP stream.
type UDPOptions struct {
	Dir UDPDirection
	// Size is the payload bytes of each datagram (default 1200, at least
	// udpHeader).
	Size int
	// Mbps is the offered payload rate in megabits (10⁶ bits) per second.
	Mbps float64
	// Duration is how long the sender sends.
	Duration time.Duration
}

// UDPResult is what a paced UDP stream sent and what arrived.
type UDPResult struct {
	Dir         UDPDirection
	Size        int
	OfferedMbps float64
	// Sent counts datagrams the sender's kernel accepted; SendErrors the
	// writes it refused (a full queue, an ICMP error reported back).
	Sent, SendErrors uint64
	// Received counts distinct datagrams received, Duplicates the copies
	// beyond the first and Reordered those that came after a later one.
	Received, Duplicates, Reordered uint64
	// SocketDrops counts datagrams the receiving socket's kernel buffer
	// had no room for (SO_RXQ_OVFL): lost at the receiver, not on the way.
	SocketDrops uint64
	// SendStart and SendEnd bound the sender's writes; FirstRecv and
	// LastRecv the datagrams received.
	SendStart, SendEnd, FirstRecv, LastRecv time.Time
	// Client is the client socket's address, Server the server's (the
	// address the client sent to).
	Client, Server netip.AddrPort
}

// Lost is how many datagrams sent never arrived.
func (r UDPResult) Lost() uint64 {
	if r.Received >= r.Sent {
		return 0
	}
	return r.Sent - r.Received
}

// LossPct is Lost as a percentage of Sent.
func (r UDPResult) LossPct() float64 {
	if r.Sent == 0 {
		return 0
	}
	return 100 * float64(r.Lost()) / float64(r.Sent)
}

// SentMbps is the payload rate the sender achieved.
func (r UDPResult) SentMbps() float64 {
	el := r.SendEnd.Sub(r.SendStart)
	if el <= 0 {
		return 0
	}
	return float64(r.Sent) * float64(r.Size) * 8 / el.Seconds() / 1e6
}

// RecvMbps is the payload rate at the receiver, from the first datagram
// received to the last.
func (r UDPResult) RecvMbps() float64 {
	el := r.LastRecv.Sub(r.FirstRecv)
	if el <= 0 || r.Received < 2 {
		return 0
	}
	return float64(r.Received-1) * float64(r.Size) * 8 / el.Seconds() / 1e6
}

func (r UDPResult) String() string {
	return fmt.Sprintf("udp %s %d B at %.1f Mbit/s: sent %d (%.1f Mbit/s, %d refused), received %d (%.1f Mbit/s), lost %d (%.2f %%), %d reordered, %d duplicated, %d dropped by the receiving socket",
		r.Dir, r.Size, r.OfferedMbps, r.Sent, r.SentMbps(), r.SendErrors, r.Received, r.RecvMbps(), r.Lost(), r.LossPct(), r.Reordered, r.Duplicates, r.SocketDrops)
}

const (
	udpMagic  = 0x50585531 // "PXU1"
	udpHeader = 16         // magic (4), kind (4), sequence number (8)
	kindData  = 1
	kindStart = 2
	// udpSocketBuffer is the receive buffer asked for both ends: large
	// enough that a reader of this process keeps up with any rate a test
	// offers, so that losses are the path's.
	udpSocketBuffer = 8 << 20
	// udpQuiet is how long a receiver waits after the sender's end for
	// datagrams still on their way, counted from the last one.
	udpQuiet = time.Second
	// udpDrainLimit bounds that wait.
	udpDrainLimit = 10 * time.Second
	// udpStartLimit bounds how long a download waits for its first
	// datagram while asking for it.
	udpStartLimit = 15 * time.Second
)

// UDPRun is a paced UDP stream under way.
type UDPRun struct {
	opts           UDPOptions
	client, server *net.UDPConn
	clientAddr     netip.AddrPort
	serverAddr     netip.AddrPort

	sent, sendErrs atomic.Uint64
	received       atomic.Uint64
	sendEnded      chan struct{}
	done           chan struct{}

	mu  sync.Mutex
	res UDPResult
	err error
}

// StartUDP starts a paced UDP stream between a socket in client and one
// on server's dst address (server.Addr4() when dst is the zero Addr; an
// announced address or a tunnel's route picks the path). The stream runs
// until o.Duration has passed and the receiver has drained, or ctx ends.
func StartUDP(ctx context.Context, client, server *Host, dst netip.Addr, o UDPOptions) (*UDPRun, error) {
	if o.Size == 0 {
		o.Size = 1200
	}
	if o.Size < udpHeader || o.Size > 65000 || !(o.Mbps > 0) || math.IsInf(o.Mbps, 0) || o.Duration <= 0 {
		return nil, fmt.Errorf("netlab: udp: invalid options %+v", o)
	}
	if client == nil || server == nil {
		return nil, errors.New("netlab: udp: nil host")
	}
	if !dst.IsValid() {
		dst = server.addr4
	}
	var srv *net.UDPConn
	if err := server.Do(func() error {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, 0)))
		srv = c
		return err
	}); err != nil {
		return nil, fmt.Errorf("netlab: udp: listen in %s: %w", server.name, err)
	}
	target := netip.AddrPortFrom(dst, uint16(srv.LocalAddr().(*net.UDPAddr).Port))
	var cl *net.UDPConn
	if err := client.Do(func() error {
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(target))
		cl = c
		return err
	}); err != nil {
		srv.Close()
		return nil, fmt.Errorf("netlab: udp: dial %s from %s: %w", target, client.name, err)
	}
	for _, c := range []*net.UDPConn{srv, cl} {
		if err := tuneUDP(c); err != nil {
			srv.Close()
			cl.Close()
			return nil, fmt.Errorf("netlab: udp: %w", err)
		}
	}
	r := &UDPRun{opts: o, client: cl, server: srv, sendEnded: make(chan struct{}), done: make(chan struct{}),
		clientAddr: cl.LocalAddr().(*net.UDPAddr).AddrPort(), serverAddr: target}
	r.res = UDPResult{Dir: o.Dir, Size: o.Size, OfferedMbps: o.Mbps, Server: r.serverAddr, Client: r.clientAddr}
	go func() {
		defer close(r.done)
		err := r.run(ctx)
		cl.Close()
		srv.Close()
		r.mu.Lock()
		r.err = err
		r.mu.Unlock()
	}()
	return r, nil
}

// UDP runs a paced UDP stream (see StartUDP) to its end.
func UDP(ctx context.Context, client, server *Host, dst netip.Addr, o UDPOptions) (UDPResult, error) {
	r, err := StartUDP(ctx, client, server, dst, o)
	if err != nil {
		return UDPResult{}, err
	}
	return r.Wait()
}

// Client is the client socket's address (the flow's source).
func (r *UDPRun) Client() netip.AddrPort { return r.clientAddr }

// Server is the address the client sends to.
func (r *UDPRun) Server() netip.AddrPort { return r.serverAddr }

// Sent counts the datagrams sent so far.
func (r *UDPRun) Sent() uint64 { return r.sent.Load() }

// Received counts the distinct datagrams received so far.
func (r *UDPRun) Received() uint64 { return r.received.Load() }

// SendEnded is closed when the sender has stopped.
func (r *UDPRun) SendEnded() <-chan struct{} { return r.sendEnded }

// Wait waits for the end of the stream and returns its result; an error
// means no result.
func (r *UDPRun) Wait() (UDPResult, error) {
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.res, r.err
}

func (r *UDPRun) run(ctx context.Context) error {
	send, recv := r.client, r.server
	var sendTo *net.UDPAddr // nil: the socket is connected
	if r.opts.Dir == UDPDown {
		send, recv = r.server, r.client
		from, err := r.awaitStart(ctx)
		if err != nil {
			close(r.sendEnded)
			return err
		}
		sendTo = from
	}
	var rc receiver
	recvDone := make(chan error, 1)
	senderDone := make(chan struct{})
	go func() { recvDone <- rc.loop(ctx, recv, senderDone, &r.received) }()
	start, end := r.pace(ctx, send, sendTo)
	close(r.sendEnded)
	close(senderDone)
	rerr := <-recvDone
	r.mu.Lock()
	res := &r.res
	res.Sent, res.SendErrors = r.sent.Load(), r.sendErrs.Load()
	res.SendStart, res.SendEnd = start, end
	res.Received, res.Duplicates, res.Reordered = rc.distinct, rc.dups, rc.reordered
	res.SocketDrops = uint64(rc.overflow)
	res.FirstRecv, res.LastRecv = rc.first, rc.last
	r.mu.Unlock()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return rerr
}

// awaitStart waits at the server for the client's request for a download
// and returns where it came from; the client asks (ask) meanwhile.
func (r *UDPRun) awaitStart(ctx context.Context) (*net.UDPAddr, error) {
	asked := make(chan struct{})
	defer close(asked)
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			_, _ = r.client.Write(header(kindStart, 0, r.opts.Size))
			select {
			case <-asked:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	buf := make([]byte, 64<<10)
	defer r.server.SetReadDeadline(time.Time{})
	for limit := time.Now().Add(udpStartLimit); time.Now().Before(limit); {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		_ = r.server.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, from, err := r.server.ReadFromUDP(buf)
		if err != nil {
			continue // the deadline, or an ICMP error reported on the socket
		}
		if k, _, ok := parseHeader(buf[:n]); ok && k == kindStart {
			return from, nil
		}
	}
	return nil, fmt.Errorf("netlab: udp download: no request from the client within %v", udpStartLimit)
}

// pace sends the stream's datagrams on c (to "to" when not connected) at
// the offered rate: after each wake it sends the datagrams due by then, so
// a late wake sends a burst rather than lowering the rate.
func (r *UDPRun) pace(ctx context.Context, c *net.UDPConn, to *net.UDPAddr) (start, end time.Time) {
	o := r.opts
	perSec := o.Mbps * 1e6 / 8 / float64(o.Size)
	buf := make([]byte, o.Size)
	start = time.Now()
	var seq uint64
	for ctx.Err() == nil {
		el := time.Since(start)
		if el >= o.Duration {
			break
		}
		due := uint64(el.Seconds()*perSec) + 1
		for ; seq < due; seq++ {
			putHeader(buf, kindData, seq)
			var err error
			if to == nil {
				_, err = c.Write(buf)
			} else {
				_, err = c.WriteToUDP(buf, to)
			}
			if err != nil {
				r.sendErrs.Add(1)
				continue
			}
			r.sent.Add(1)
		}
		next := start.Add(time.Duration(float64(seq) / perSec * float64(time.Second)))
		if next.After(start.Add(o.Duration)) {
			next = start.Add(o.Duration)
		}
		if d := time.Until(next); d > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(d):
			}
		}
	}
	return start, time.Now()
}

// receiver counts a stream's datagrams.
type receiver struct {
	seen                      []uint64 // bitmap of sequence numbers
	distinct, dups, reordered uint64
	highest                   uint64
	any                       bool
	overflow                  uint32
	first, last               time.Time
}

func (rc *receiver) mark(seq uint64) {
	w := seq / 64
	if w >= 1<<26 {
		return // beyond any stream a test sends
	}
	for uint64(len(rc.seen)) <= w {
		rc.seen = append(rc.seen, 0)
	}
	bit := uint64(1) << (seq % 64)
	if rc.seen[w]&bit != 0 {
		rc.dups++
		return
	}
	rc.seen[w] |= bit
	rc.distinct++
	if rc.any && seq < rc.highest {
		rc.reordered++
	}
	if !rc.any || seq > rc.highest {
		rc.highest, rc.any = seq, true
	}
}

// loop reads c until the sender has ended (senderDone) and then no
// datagram came for udpQuiet, or udpDrainLimit has passed since.
func (rc *receiver) loop(ctx context.Context, c *net.UDPConn, senderDone <-chan struct{}, received *atomic.Uint64) error {
	buf := make([]byte, 64<<10)
	oob := make([]byte, 128)
	var drainUntil time.Time
	for ctx.Err() == nil {
		wait := 200 * time.Millisecond
		select {
		case <-senderDone:
			now := time.Now()
			if drainUntil.IsZero() {
				drainUntil = now.Add(udpDrainLimit)
			}
			quietEnd := now.Add(udpQuiet)
			if rc.any && rc.last.Add(udpQuiet).Before(quietEnd) {
				quietEnd = rc.last.Add(udpQuiet)
			}
			if !now.Before(quietEnd) || !now.Before(drainUntil) {
				return nil
			}
			wait = min(quietEnd.Sub(now), drainUntil.Sub(now))
		default:
		}
		_ = c.SetReadDeadline(time.Now().Add(wait))
		n, oobn, _, _, err := c.ReadMsgUDP(buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			continue // an ICMP error reported on the socket
		}
		if ov, ok := overflowCount(oob[:oobn]); ok {
			rc.overflow = ov
		}
		k, seq, ok := parseHeader(buf[:n])
		if !ok || k != kindData {
			continue
		}
		now := time.Now()
		if rc.first.IsZero() {
			rc.first = now
		}
		rc.last = now
		before := rc.distinct
		rc.mark(seq)
		if rc.distinct != before {
			received.Add(1)
		}
	}
	return nil
}

func putHeader(b []byte, kind uint32, seq uint64) {
	binary.BigEndian.PutUint32(b[0:4], udpMagic)
	binary.BigEndian.PutUint32(b[4:8], kind)
	binary.BigEndian.PutUint64(b[8:16], seq)
}

func header(kind uint32, seq uint64, size int) []byte {
	b := make([]byte, max(size, udpHeader))
	putHeader(b, kind, seq)
	return b
}

func parseHeader(b []byte) (kind uint32, seq uint64, ok bool) {
	if len(b) < udpHeader || binary.BigEndian.Uint32(b[0:4]) != udpMagic {
		return 0, 0, false
	}
	return binary.BigEndian.Uint32(b[4:8]), binary.BigEndian.Uint64(b[8:16]), true
}

// tuneUDP gives c large kernel buffers (beyond net.core.rmem_max, as
// root may) and turns on SO_RXQ_OVFL.
func tuneUDP(c *net.UDPConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		s := int(fd)
		for _, o := range [][2]int{{unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}, {unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}} {
			if unix.SetsockoptInt(s, unix.SOL_SOCKET, o[0], udpSocketBuffer) != nil {
				_ = unix.SetsockoptInt(s, unix.SOL_SOCKET, o[1], udpSocketBuffer)
			}
		}
		serr = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("SO_RXQ_OVFL: %w", serr)
	}
	return nil
}

// overflowCount reads the socket's drop counter from a SO_RXQ_OVFL
// control message.
func overflowCount(oob []byte) (uint32, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_RXQ_OVFL && len(m.Data) >= 4 {
			return binary.NativeEndian.Uint32(m.Data), true
		}
	}
	return 0, false
}

// UDPCapacity finds the payload rate the path from a client socket to
// server's dst carries in direction o.Dir: paced streams of o.Duration
// each, the first at o.Mbps, each next at twice the rate, until one loses
// more than a tenth of what it sent or the rate passes 64 times the first.
// The capacity is the highest rate a receiver saw in any of them: past the
// path's capacity, the received rate is what the path carries. It returns
// every step's result too.
func UDPCapacity(ctx context.Context, client, server *Host, dst netip.Addr, o UDPOptions) (float64, []UDPResult, error) {
	var (
		steps []UDPResult
		best  float64
	)
	first := o.Mbps
	for ; o.Mbps <= 64*first; o.Mbps *= 2 {
		r, err := UDP(ctx, client, server, dst, o)
		if err != nil {
			return 0, steps, fmt.Errorf("netlab: udp capacity at %.1f Mbit/s: %w", o.Mbps, err)
		}
		steps = append(steps, r)
		best = max(best, r.RecvMbps())
		if r.LossPct() > 10 {
			break
		}
	}
	if best <= 0 {
		return 0, steps, errors.New("netlab: udp capacity: nothing received")
	}
	return best, steps, nil
}
