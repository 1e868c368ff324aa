package stream

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pexia-network/pexia/internal/icmperr"
)

type streamState uint8

const (
	stateOpening streamState = iota + 1 // client: OPEN queued, waiting for OPENED or REFUSED
	statePending                        // server: OPEN received, waiting for Request.Accept or Refuse
	stateOpen                           // data may flow
)

// errFlowClosed is returned by Write on a udp flow the peer closed.
var errFlowClosed = fmt.Errorf("stream: flow closed by peer: %w", net.ErrClosed)

// chunk is a piece of received, unread stream data: buf[off:].
type chunk struct {
	buf []byte
	off int
}

// Stream is one stream or datagram flow on a Mux. It implements net.Conn;
// see the package documentation for the semantics of each kind. All methods
// are safe for concurrent use; concurrent Writes are serialized.
type Stream struct {
	m    *Mux
	id   uint32
	kind Kind
	addr string

	wmu      sync.Mutex // serializes Write
	rdl, wdl *deadline

	// Guarded by m.mu.
	state    streamState
	inMap    bool     // in m.streams: frames for it are expected
	req      *Request // server: the request, until answered
	err      error    // terminal: refused, reset, circuit closed
	closed   bool     // Close or Reset was called
	openWait waitq

	rq         fifo[chunk] // unread data
	rlen       int         // bytes in rq
	recvWin    int64       // DATA bytes the peer may still send
	recvPend   int64       // bytes consumed and not yet returned to the peer
	winQueued  bool        // a WINDOW for this stream is queued
	remoteFin  bool        // peer sent FIN
	readClosed bool        // Close was called: incoming data is answered with RST
	dgIn       fifo[[]byte]
	dgInQ      int // bytes in dgIn, overhead included
	rwait      waitq

	sendCredit int64  // DATA bytes we may still send
	wbuf       []byte // data of the Write in progress, not yet framed
	finQueued  bool
	finSent    bool
	dgOut      fifo[[]byte]
	dgOutAt    fifo[time.Time] // when each datagram of dgOut was written
	dgOutQ     int             // bytes in dgOut, overhead included
	inReady    bool            // on m.ready
	wwait      waitq

	// udp flow counters, in datagrams (see FlowStats)
	dgSent, dgRecv, dgDropIn uint64
	dgDropOut                atomic.Uint64
	dgFull                   atomic.Bool // drop further datagrams without the lock; see dgqueue.go

	notices        fifo[icmperr.Error] // client: ICMP errors for Read (icmp.go)
	peerDropped    [2]uint64           // client: the exit's last DROPPED counts
	dropTimerArmed atomic.Bool         // server: a DROPPED frame is due (icmp.go)
}

func newStream(m *Mux, id uint32, kind Kind, addr string) *Stream {
	return &Stream{
		m:       m,
		id:      id,
		kind:    kind,
		addr:    addr,
		recvWin: int64(m.cfg.StreamWindow),
		rdl:     newDeadline(),
		wdl:     newDeadline(),
	}
}

// ID returns the stream ID.
func (s *Stream) ID() uint32 { return s.id }

// Kind returns the stream kind.
func (s *Stream) Kind() Kind { return s.kind }

// Address returns the destination address the stream was opened to.
func (s *Stream) Address() string { return s.addr }

// Addr is the net.Addr of a stream end.
type Addr struct {
	Net     string // "tcp", "udp", "dns", "icmp", or "stream" for LocalAddr
	Address string
}

// Network returns a.Net.
func (a Addr) Network() string { return a.Net }

// String returns a.Address.
func (a Addr) String() string { return a.Address }

// LocalAddr returns the stream's own address: network "stream" and the
// stream ID.
func (s *Stream) LocalAddr() net.Addr {
	return Addr{Net: "stream", Address: "stream-" + strconv.FormatUint(uint64(s.id), 10)}
}

// RemoteAddr returns the destination the stream was opened to.
func (s *Stream) RemoteAddr() net.Addr { return Addr{Net: s.kind.Network(), Address: s.addr} }

// Read reads stream data, or one datagram on a udp flow (truncated to
// len(p)). On a udp or icmp flow it returns an *icmperr.Error, once, for each
// ICMP error the exit reported, and the flow stays open. It returns io.EOF
// after the peer's FIN, a *ResetError after a reset, an error wrapping
// ErrCircuitClosed once the Mux closed, os.ErrDeadlineExceeded after the
// read deadline and net.ErrClosed after Close.
func (s *Stream) Read(p []byte) (int, error) {
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		switch {
		case s.closed:
			return 0, net.ErrClosed
		case s.err != nil:
			return 0, s.err
		case isClosed(s.rdl.wait()):
			return 0, os.ErrDeadlineExceeded
		}
		if s.kind.datagram() {
			if err := s.popNoticeLocked(); err != nil {
				return 0, err
			}
			if s.dgIn.len() > 0 {
				return copy(p, s.popInLocked()), nil
			}
		} else {
			if len(p) == 0 {
				return 0, nil
			}
			if s.rlen > 0 {
				n := s.copyOutLocked(p)
				s.consumedLocked(n)
				return n, nil
			}
		}
		if s.remoteFin {
			return 0, io.EOF
		}
		if m.closed {
			return 0, m.err
		}
		ch, dl := s.rwait.wait(), s.rdl.wait()
		m.mu.Unlock()
		select {
		case <-ch:
		case <-dl:
		case <-m.done:
		}
		m.mu.Lock()
	}
}

// Write writes b to the stream, blocking until all of it has been framed
// for sending (flow-control credit permitting) or the write deadline
// passes; on a deadline it returns the bytes already taken and
// os.ErrDeadlineExceeded. On a udp flow it queues b as one datagram and
// never blocks; a datagram that finds the queue full is dropped (counted in
// Stats and FlowStats) and still reported as written, as UDP would.
func (s *Stream) Write(b []byte) (int, error) {
	if s.kind.datagram() {
		return s.writeDatagram(b)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := s.writeErrLocked(); err != nil {
		return 0, err
	}
	if isClosed(s.wdl.wait()) {
		return 0, os.ErrDeadlineExceeded
	}
	if len(b) == 0 {
		return 0, nil
	}
	s.wbuf = b
	m.schedule(s)
	var err error
	for len(s.wbuf) > 0 {
		if err = s.writeErrLocked(); err != nil {
			break
		}
		ch, dl := s.wwait.wait(), s.wdl.wait()
		if isClosed(dl) {
			err = os.ErrDeadlineExceeded
			break
		}
		m.mu.Unlock()
		select {
		case <-ch:
		case <-dl:
		case <-m.done:
		}
		m.mu.Lock()
	}
	n := len(b) - len(s.wbuf)
	s.wbuf = nil
	return n, err
}

// ReadFrom reads readFromFrames full frames at a time (a circuit of
// 4096-byte cells carries that many in one message), or fewer if they
// would take more than readFromMax bytes.
const (
	readFromFrames = 16
	readFromMax    = 256 << 10
)

// ReadFrom writes what it reads from r to the stream until r reports
// io.EOF (not passed on) or an error, and returns the bytes written. It
// reads a whole number of frames' worth at a time, so that bulk data
// leaves in full frames, and a circuit packs them into full cells and
// messages; io.Copy to a Stream uses it. On a udp flow it is plain io.Copy:
// every read is one datagram, as with Write.
func (s *Stream) ReadFrom(r io.Reader) (int64, error) {
	if s.kind.datagram() {
		return io.Copy(struct{ io.Writer }{s}, r)
	}
	frames := max(1, min(readFromFrames, readFromMax/s.m.maxPayload))
	buf := make([]byte, frames*s.m.maxPayload)
	var n int64
	for {
		k, rerr := r.Read(buf)
		if k > 0 {
			w, werr := s.Write(buf[:k])
			n += int64(w)
			if werr != nil {
				return n, werr
			}
		}
		switch {
		case rerr == io.EOF:
			return n, nil
		case rerr != nil:
			return n, rerr
		}
	}
}

func (s *Stream) writeDatagram(b []byte) (int, error) {
	m := s.m
	if len(b) > m.maxPayload {
		return 0, ErrDatagramTooLarge
	}
	if s.dgFull.Load() && !isClosed(s.wdl.wait()) {
		s.droppedOut()
		return len(b), nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := s.writeErrLocked(); err != nil {
		return 0, err
	}
	if isClosed(s.wdl.wait()) {
		return 0, os.ErrDeadlineExceeded
	}
	cost := len(b) + datagramOverhead
	if !m.roomOutLocked(s, cost) {
		s.droppedOut()
		s.dgFull.Store(true)
		return len(b), nil
	}
	s.dgOut.push(append(make([]byte, 0, len(b)), b...))
	s.dgOutAt.push(time.Now())
	s.dgOutQ += cost
	m.dgOutBytes += cost
	m.schedule(s)
	return len(b), nil
}

func (s *Stream) writeErrLocked() error {
	switch {
	case s.closed:
		return net.ErrClosed
	case s.err != nil:
		return s.err
	case s.finQueued:
		return ErrWriteClosed
	case s.kind.datagram() && s.remoteFin:
		return errFlowClosed
	case s.m.closed:
		return s.m.err
	}
	return nil
}

// CloseWrite half-closes the stream: the peer reads io.EOF after the data
// written so far, and can go on sending. A Write blocked at the time fails
// with ErrWriteClosed. Not supported on udp flows.
func (s *Stream) CloseWrite() error {
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case s.kind.datagram():
		return ErrNotSupported
	case s.closed:
		return net.ErrClosed
	case s.err != nil:
		return s.err
	case s.finQueued:
		return nil
	}
	s.finQueued = true
	s.wwait.broadcast()
	m.schedule(s)
	return nil
}

// Close closes the stream like closing a TCP socket: FIN is sent after the
// data already written; if unread data is pending, or the peer sends more
// later, the stream is reset with ReasonClosed instead. On a udp flow,
// queued datagrams are sent and then FIN closes the flow. Blocked Reads and
// Writes return net.ErrClosed. Close is idempotent.
func (s *Stream) Close() error {
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	defer s.wakeLocked()
	if s.err != nil {
		s.discardLocked()
		return nil
	}
	if s.kind.datagram() {
		s.discardRecvLocked()
		if !s.remoteFin && !s.finQueued {
			s.finQueued = true
			m.schedule(s)
		}
		m.removeLocked(s)
		return nil
	}
	s.readClosed = true
	if s.rlen > 0 {
		m.resetLocked(s, ReasonClosed)
		return nil
	}
	if !s.finQueued {
		s.finQueued = true
		m.schedule(s)
	}
	s.maybeRemoveLocked()
	return nil
}

// Reset aborts the stream in both directions: the peer's Reads and Writes
// fail with a *ResetError carrying reason, unread data is discarded, and
// local calls return net.ErrClosed.
func (s *Stream) Reset(reason Reason) error {
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	s.closed = true
	if s.err == nil {
		m.resetLocked(s, reason)
	}
	s.discardLocked()
	s.wakeLocked()
	return nil
}

// SetDeadline sets the read and write deadlines.
func (s *Stream) SetDeadline(t time.Time) error {
	s.rdl.set(t)
	s.wdl.set(t)
	return nil
}

// SetReadDeadline sets the deadline for Read; a zero t means none.
func (s *Stream) SetReadDeadline(t time.Time) error {
	s.rdl.set(t)
	return nil
}

// SetWriteDeadline sets the deadline for Write; a zero t means none.
func (s *Stream) SetWriteDeadline(t time.Time) error {
	s.wdl.set(t)
	return nil
}

// The methods below need s.m.mu held.

func (s *Stream) wakeLocked() {
	s.dgFull.Store(false)
	s.rwait.broadcast()
	s.wwait.broadcast()
	s.openWait.broadcast()
}

func (s *Stream) maybeRemoveLocked() {
	if s.finSent && s.remoteFin {
		s.m.removeLocked(s)
	}
}

// appendLocked queues received stream data, packing it into chunk buffers
// so that memory stays close to the data held, whatever the frame sizes.
func (s *Stream) appendLocked(p []byte) {
	m := s.m
	s.rlen += len(p)
	if s.rq.len() > 0 {
		c := s.rq.back()
		k := min(cap(c.buf)-len(c.buf), len(p))
		c.buf = append(c.buf, p[:k]...)
		p = p[k:]
	}
	if len(p) > 0 {
		var b []byte
		if n := len(m.free); n > 0 {
			b, m.free = m.free[n-1], m.free[:n-1]
		} else {
			b = make([]byte, 0, m.maxPayload)
		}
		s.rq.push(chunk{buf: append(b, p...)})
	}
}

func (s *Stream) putBufLocked(b []byte) {
	m := s.m
	if len(m.free) < 64 && cap(b) == m.maxPayload && !m.closed {
		m.free = append(m.free, b[:0])
	}
}

func (s *Stream) copyOutLocked(p []byte) int {
	n := 0
	for n < len(p) && s.rq.len() > 0 {
		c := s.rq.front()
		k := copy(p[n:], c.buf[c.off:])
		n += k
		c.off += k
		if c.off == len(c.buf) {
			s.putBufLocked(s.rq.pop().buf)
		}
	}
	s.rlen -= n
	return n
}

// consumedLocked returns credit for n bytes the application consumed.
func (s *Stream) consumedLocked(n int) {
	m := s.m
	s.recvPend += int64(n)
	if !s.winQueued && !s.remoteFin && s.inMap && s.recvPend >= max(1, int64(m.cfg.StreamWindow/2)) {
		s.winQueued = true
		m.queueCtrl(ctrl{typ: frameWindow, id: s.id, s: s})
	}
	m.returnConnCreditLocked(n)
}

// discardRecvLocked drops unread data and returns its circuit credit.
func (s *Stream) discardRecvLocked() {
	m := s.m
	n := s.rlen
	for s.rq.len() > 0 {
		s.putBufLocked(s.rq.pop().buf)
	}
	s.rq.reset()
	s.rlen = 0
	m.returnConnCreditLocked(n)
	for s.dgIn.len() > 0 {
		s.popInLocked()
	}
	s.dgIn.reset()
}

// discardLocked drops everything buffered in both directions. The data of
// a Write in progress (wbuf) is left to that Write, which finds the stream
// failed and reports how much was taken.
func (s *Stream) discardLocked() {
	s.discardRecvLocked()
	s.discardSendLocked()
}

// takeFrameLocked encodes the stream's next frame (DATA, DATAGRAM or FIN)
// into buf. It returns the frame length (0 if nothing can be sent now) and
// whether the stream should stay on the ready list.
func (s *Stream) takeFrameLocked(buf []byte) (n int, more bool) {
	m := s.m
	if s.err != nil {
		return 0, false
	}
	finDue := s.finQueued && !s.finSent
	if s.kind.datagram() {
		if s.dgOut.len() > 0 {
			s.dropStaleLocked(time.Now())
			d := s.popOutLocked()
			s.dgSent++
			putHeader(buf, frameDatagram, s.id)
			n = HeaderLen + copy(buf[HeaderLen:], d)
			return n, s.dgOut.len() > 0 || finDue
		}
	} else if len(s.wbuf) > 0 && !finDue && !s.finSent && !s.closed {
		if s.sendCredit <= 0 {
			return 0, false // back on the list when WINDOW arrives
		}
		if m.connSend <= 0 {
			return 0, true // waits for the circuit WINDOW
		}
		k := int(min(int64(len(s.wbuf)), int64(m.maxPayload), s.sendCredit, m.connSend))
		putHeader(buf, frameData, s.id)
		copy(buf[HeaderLen:], s.wbuf[:k])
		s.wbuf = s.wbuf[k:]
		s.sendCredit -= int64(k)
		m.connSend -= int64(k)
		if len(s.wbuf) == 0 {
			s.wbuf = nil
			s.wwait.broadcast()
		}
		return HeaderLen + k, (len(s.wbuf) > 0 && s.sendCredit > 0) || finDue
	}
	if finDue {
		s.finSent = true
		putHeader(buf, frameFin, s.id)
		s.maybeRemoveLocked()
		return HeaderLen, false
	}
	return 0, false
}
