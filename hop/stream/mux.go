package stream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pexia-network/pexia/internal/icmperr"
)

// Role says which end of a circuit a Mux serves.
type Role uint8

// Roles.
const (
	// RoleClient opens streams (Dial).
	RoleClient Role = 1
	// RoleServer accepts streams (Accept); it is the exit.
	RoleServer Role = 2
)

// Defaults for Config fields left zero, and protocol constants.
const (
	DefaultMaxFrame      = 4000      // bytes per frame, about a circuit cell's payload
	DefaultStreamWindow  = 256 << 10 // per-stream receive window
	DefaultCircuitWindow = 2 << 20   // circuit-wide receive window
	DefaultMaxStreams    = 1024      // streams open at once
	DefaultAcceptBacklog = 256       // requests waiting for Accept
	DefaultDatagramQueue = 128       // datagrams queued per flow and direction
	// DefaultDatagramQueueBytes bounds the bytes queued per flow and
	// direction (see Config.DatagramQueueBytes for the reasoning).
	DefaultDatagramQueueBytes = 256 << 10
	// DefaultDatagramBytes bounds the bytes of datagrams queued per Mux and
	// direction (see Config.DatagramBytes).
	DefaultDatagramBytes = 2 << 20
	// InitialCircuitWindow is the circuit-level credit each side has before
	// the peer's first WINDOW(0); CircuitWindow may not be smaller.
	InitialCircuitWindow = 64 << 10
	// MaxWindow is the largest StreamWindow or CircuitWindow accepted.
	MaxWindow = 1 << 30
)

// datagramOverhead is charged per queued datagram against the byte
// limits, so empty datagrams cost memory too.
const datagramOverhead = 64

// Config configures a Mux. Zero fields take the defaults above, except Role,
// which is required. Both ends of a circuit should use the same MaxFrame.
type Config struct {
	// Role is RoleClient (opens streams) or RoleServer (accepts them).
	Role Role
	// MaxFrame is the largest frame sent or accepted, normally the
	// circuit's cell payload size. MinFrame..MaxFrameLimit.
	MaxFrame int
	// StreamWindow is the receive window of each stream in bytes: the most
	// unread data one stream can hold. 1..MaxWindow.
	StreamWindow int
	// CircuitWindow is the receive window of the whole circuit in bytes,
	// shared by all streams. InitialCircuitWindow..MaxWindow. Keep it
	// several times StreamWindow: unread data of stalled streams holds
	// circuit credit, so CircuitWindow/StreamWindow stalled streams stop
	// the circuit.
	CircuitWindow int
	// MaxStreams bounds the streams open at once (including requests not
	// yet answered). Further opens are refused with ReasonResources.
	MaxStreams int
	// AcceptBacklog bounds the requests waiting for Accept (server only).
	AcceptBacklog int
	// DatagramQueue bounds the datagrams queued per udp flow and direction;
	// datagrams beyond it are dropped and counted.
	DatagramQueue int
	// DatagramQueueBytes bounds the bytes (payload plus 64 bytes of
	// bookkeeping per datagram) queued per udp flow and direction; a
	// datagram that does not fit is dropped and counted. At least MaxFrame.
	// The default, max(256 KiB, 2*MaxFrame), holds about 180 datagrams of
	// a 1500-byte MTU: 40 ms at 50 Mbit/s, as long as a jitter buffer
	// waits. A queue is where a flow's excess waits for its turn, so
	// under overload every queued byte is delay for that flow alone;
	// UDP applications (QUIC, WebRTC, games) react to loss, not to delay.
	DatagramQueueBytes int
	// DatagramBytes bounds the bytes of datagrams queued on the whole Mux
	// per direction (default max(2 MiB, DatagramQueueBytes), the size of a
	// circuit's stream window at the exit): eight flows can fill their
	// queues before it applies. When a datagram would exceed it, the flow
	// holding the most bytes loses its oldest datagram (or, if that is the
	// writing flow itself, the new one is dropped), so flows that queue
	// little never pay for those that flood. At least DatagramQueueBytes.
	DatagramBytes int
	// Flush, if set, lets send hold frames back to pass several on to the
	// circuit together: the sending goroutine calls Flush after a run of
	// frames, as soon as it has nothing more to send at once (before it
	// waits for data, credit or a wake-up), so a frame is held only while
	// the next one is being made. An error from Flush closes the Mux.
	Flush func() error
	// Gate, if set, is asked before each DATA, DATAGRAM or FIN frame
	// whether the circuit can take one now: it returns nil if so, or else
	// a channel that is signalled when it may (the circuit's send window
	// closed). Control frames (OPEN, OPENED, REFUSED, RST and WINDOW)
	// never wait for it, so they overtake the data waiting there, and the
	// streams' turns (one frame each) apply to what passes the gate:
	// while it is closed, datagrams wait in their bounded queues, where
	// the flow holding most loses first. Gate is called without the Mux's
	// lock, from the sending goroutine only.
	Gate func() <-chan struct{}
	// PackDatagrams lets the Mux send DATAGRAMS frames, which carry
	// several queued datagrams in one frame (pack.go). Set it only when
	// the peer understands them: a Mux always accepts them, but one built
	// before they existed fails the circuit on the first.
	PackDatagrams bool
}

func (c *Config) normalize() error {
	if c.Role != RoleClient && c.Role != RoleServer {
		return fmt.Errorf("stream: invalid role %d", c.Role)
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.MaxFrame, DefaultMaxFrame)
	def(&c.StreamWindow, DefaultStreamWindow)
	def(&c.CircuitWindow, DefaultCircuitWindow)
	def(&c.MaxStreams, DefaultMaxStreams)
	def(&c.AcceptBacklog, DefaultAcceptBacklog)
	def(&c.DatagramQueue, DefaultDatagramQueue)
	def(&c.DatagramQueueBytes, max(DefaultDatagramQueueBytes, 2*c.MaxFrame))
	def(&c.DatagramBytes, max(DefaultDatagramBytes, c.DatagramQueueBytes))
	switch {
	case c.MaxFrame < MinFrame || c.MaxFrame > MaxFrameLimit:
		return fmt.Errorf("stream: MaxFrame %d out of range [%d, %d]", c.MaxFrame, MinFrame, MaxFrameLimit)
	case c.StreamWindow < 1 || c.StreamWindow > MaxWindow:
		return fmt.Errorf("stream: StreamWindow %d out of range [1, %d]", c.StreamWindow, MaxWindow)
	case c.CircuitWindow < InitialCircuitWindow || c.CircuitWindow > MaxWindow:
		return fmt.Errorf("stream: CircuitWindow %d out of range [%d, %d]", c.CircuitWindow, InitialCircuitWindow, MaxWindow)
	case c.MaxStreams < 1 || c.AcceptBacklog < 1 || c.DatagramQueue < 1:
		return errors.New("stream: MaxStreams, AcceptBacklog and DatagramQueue must be positive")
	case c.DatagramQueueBytes < c.MaxFrame:
		return fmt.Errorf("stream: DatagramQueueBytes %d is less than MaxFrame %d", c.DatagramQueueBytes, c.MaxFrame)
	case c.DatagramBytes < c.DatagramQueueBytes:
		return fmt.Errorf("stream: DatagramBytes %d is less than DatagramQueueBytes %d", c.DatagramBytes, c.DatagramQueueBytes)
	}
	return nil
}

// Stats are counters of a Mux.
type Stats struct {
	Streams             int    // streams currently open (including unanswered requests)
	FramesSent          uint64 // frames passed to send
	FramesReceived      uint64 // frames accepted by Deliver
	BytesSent           uint64 // frame bytes passed to send
	BytesReceived       uint64 // frame bytes accepted by Deliver
	DatagramsDroppedIn  uint64 // incoming datagrams dropped because a queue was full
	DatagramsDroppedOut uint64 // outgoing datagrams dropped because a queue was full
	DatagramBytesIn     int    // bytes of received datagrams not yet read, overhead included
	DatagramBytesOut    int    // bytes of datagrams waiting to be sent, overhead included
}

// FlowStats are the counters of one udp or icmp flow. Datagram counts are
// since the flow opened; the queue sizes are now.
type FlowStats struct {
	ID      uint32
	Kind    Kind   // KindUDP or KindICMP
	Address string // the destination, as given to Dial
	// Sent counts datagrams passed to the circuit; DroppedOut those
	// written but dropped because the flow's queue (or the circuit's) was
	// full.
	Sent, DroppedOut uint64
	// Received counts datagrams that arrived and were queued for Read;
	// DroppedIn those that arrived and were dropped because the reader was
	// behind.
	Received, DroppedIn uint64
	// QueuedOut and QueuedIn are the bytes waiting in the flow's queues,
	// with 64 bytes of bookkeeping per datagram.
	QueuedOut, QueuedIn int
	// PeerDroppedOut and PeerDroppedIn are, on the client, the exit's
	// counts as it last reported them (DROPPED frames, within 250 ms):
	// datagrams towards the client it dropped, and datagrams from the
	// client it dropped because its side of the flow was behind.
	PeerDroppedOut, PeerDroppedIn uint64
}

// ctrl is a queued control frame. WINDOW entries carry no amount: the
// credit accumulated when the frame is finally encoded is sent, so one
// queued WINDOW per stream (and one for the circuit) suffices.
type ctrl struct {
	typ    byte
	id     uint32
	s      *Stream // OPEN, stream WINDOW; nil for the circuit WINDOW
	reason Reason
	window uint32
	icmp   icmperr.Error // ICMP
}

// Mux multiplexes streams over one circuit. All methods are safe for
// concurrent use, except that Deliver must be called by one goroutine at a
// time, in the order frames arrived.
type Mux struct {
	cfg        Config
	send       func([]byte) error
	maxPayload int
	ctrlLimit  int
	dgInLimit  int
	dgOutLimit int

	done       chan struct{} // closed by Close
	senderDone chan struct{} // closed when the sending goroutine exits
	kick       chan struct{} // wakes the sending goroutine
	ctx        context.Context
	cancel     context.CancelCauseFunc

	mu      sync.Mutex
	closed  bool
	err     error
	streams map[uint32]*Stream
	nextID  uint64 // client: next stream ID to open
	lastID  uint32 // server: highest stream ID the peer opened

	ctrlq   fifo[ctrl]
	ready   fifo[*Stream] // tcp and dns streams with DATA or a FIN to send
	readyDg fifo[*Stream] // udp and icmp flows with datagrams or a FIN to send
	relRun  int           // reliable frames sent or DATA received since the last datagram frame
	dataIn  time.Time     // when the last DATA frame arrived
	held    bool          // datagrams are held for the reliable class's turn (see reliableTurnLocked)
	now     func() time.Time

	connSend    int64 // circuit credit for sending DATA
	connRecv    int64 // circuit credit the peer still has
	connPend    int64 // consumed, not yet returned to the peer
	connWinSent bool  // a circuit WINDOW is queued

	acceptq    fifo[*Request]
	acceptWait waitq

	dgInBytes  int           // bytes of all streams' dgIn, overhead included
	dgOutBytes int           // bytes of all streams' dgOut, overhead included
	dgDropOut  atomic.Uint64 // Stats.DatagramsDroppedOut, counted without the lock
	free       [][]byte      // receive chunk buffers for reuse
	stats      Stats
}

// New returns a Mux that sends frames with send and starts its sending
// goroutine. send is called from that goroutine only, one frame at a time;
// it must not retain the slice after returning, and it should block while
// the circuit cannot take more (that is where fairness applies). An error
// from send closes the Mux. send should return promptly once the circuit is
// torn down, so the goroutine can end. New sends a circuit WINDOW frame at
// once when CircuitWindow exceeds InitialCircuitWindow.
func New(cfg Config, send func(frame []byte) error) (*Mux, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	if send == nil {
		return nil, errors.New("stream: nil send function")
	}
	m := &Mux{
		cfg:        cfg,
		send:       send,
		maxPayload: cfg.MaxFrame - HeaderLen,
		ctrlLimit:  4*cfg.MaxStreams + 1024,
		dgInLimit:  cfg.DatagramBytes,
		dgOutLimit: cfg.DatagramBytes,
		done:       make(chan struct{}),
		senderDone: make(chan struct{}),
		kick:       make(chan struct{}, 1),
		streams:    make(map[uint32]*Stream),
		nextID:     1,
		connSend:   InitialCircuitWindow,
		connRecv:   InitialCircuitWindow,
		now:        time.Now,
	}
	m.ctx, m.cancel = context.WithCancelCause(context.Background())
	if extra := int64(cfg.CircuitWindow - InitialCircuitWindow); extra > 0 {
		m.connPend = extra
		m.connWinSent = true
		m.ctrlq.push(ctrl{typ: frameWindow})
	}
	go m.sendLoop()
	return m, nil
}

// Role returns the role the Mux was configured with.
func (m *Mux) Role() Role { return m.cfg.Role }

// MaxDatagram returns the largest datagram a udp or icmp flow can carry.
func (m *Mux) MaxDatagram() int { return m.maxPayload }

// Done returns a channel that is closed when the Mux is closed.
func (m *Mux) Done() <-chan struct{} { return m.done }

// Err returns nil while the Mux is open, then the error (wrapping
// ErrCircuitClosed) that its streams get.
func (m *Mux) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// Stats returns a snapshot of the counters.
func (m *Mux) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.Streams = len(m.streams)
	s.DatagramBytesIn, s.DatagramBytesOut = m.dgInBytes, m.dgOutBytes
	s.DatagramsDroppedOut = m.dgDropOut.Load()
	return s
}

// Flows returns the counters of the udp and icmp flows open on the Mux,
// by ID.
func (m *Mux) Flows() []FlowStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []FlowStats
	for _, s := range m.streams {
		if s.kind.datagram() && s.state == stateOpen {
			out = append(out, s.flowStatsLocked())
		}
	}
	slices.SortFunc(out, func(a, b FlowStats) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Close closes the Mux and every stream on it: blocked and later calls
// return an error wrapping ErrCircuitClosed and cause (if not nil). It sends
// nothing; closing the circuit is the caller's business. Close is
// idempotent and always returns nil.
func (m *Mux) Close(cause error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closeLocked(cause)
	return nil
}

func (m *Mux) closeLocked(cause error) {
	if m.closed {
		return
	}
	m.closed = true
	m.err = circuitClosed(cause)
	for _, s := range m.streams {
		if s.err == nil {
			s.err = m.err
		}
		s.inMap = false
		s.discardLocked()
		s.wakeLocked()
		if s.req != nil {
			s.req.cancel(m.err)
		}
	}
	m.streams = nil
	m.ctrlq.reset()
	m.ready.reset()
	m.readyDg.reset()
	for m.acceptq.len() > 0 {
		r := m.acceptq.pop()
		r.cancel(m.err)
	}
	m.acceptWait.broadcast()
	m.free = nil
	m.cancel(m.err)
	close(m.done)
}

// kickSender wakes the sending goroutine.
func (m *Mux) kickSender() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

func (m *Mux) queueCtrl(c ctrl) {
	m.ctrlq.push(c)
	m.kickSender()
}

// schedule puts s on the round-robin list of its class (reliable streams
// or datagram flows) with something to send.
func (m *Mux) schedule(s *Stream) {
	if !s.inReady && !m.closed {
		s.inReady = true
		m.readyList(s).push(s)
		m.kickSender()
	}
}

// readyList returns the round-robin list of s's class.
func (m *Mux) readyList(s *Stream) *fifo[*Stream] {
	if s.kind.datagram() {
		return &m.readyDg
	}
	return &m.ready
}

func (m *Mux) sendLoop() {
	defer close(m.senderDone)
	buf := make([]byte, m.cfg.MaxFrame)
	unflushed := false // frames passed to send since the last Flush
	for {
		gate := m.gate()
		m.mu.Lock()
		n := 0
		for !m.closed {
			if n = m.nextFrameLocked(buf, gate == nil); n > 0 {
				break
			}
			m.mu.Unlock()
			if unflushed {
				unflushed = false
				if err := m.cfg.Flush(); err != nil {
					m.Close(fmt.Errorf("send: %w", err))
					return
				}
				// Sending may have taken a while: look again before
				// waiting.
				gate = m.gate()
				m.mu.Lock()
				continue
			}
			var hold *time.Timer
			var held <-chan time.Time
			if d := m.holdFor(); d > 0 {
				hold = time.NewTimer(d)
				held = hold.C
			}
			select {
			case <-m.kick:
			case <-gate:
			case <-m.done:
			case <-held:
			}
			if hold != nil {
				hold.Stop()
			}
			gate = m.gate()
			m.mu.Lock()
		}
		if m.closed {
			m.mu.Unlock()
			return
		}
		m.stats.FramesSent++
		m.stats.BytesSent += uint64(n)
		m.mu.Unlock()
		if err := m.send(buf[:n]); err != nil {
			m.Close(fmt.Errorf("send: %w", err))
			return
		}
		unflushed = m.cfg.Flush != nil
	}
}

// gate asks Config.Gate whether a data frame may go now (nil if so).
func (m *Mux) gate() <-chan struct{} {
	if m.cfg.Gate == nil {
		return nil
	}
	return m.cfg.Gate()
}

// nextFrameLocked encodes the next frame to send into buf and returns its
// length, or 0 when there is nothing to send now. Without data, only
// control frames are taken.
func (m *Mux) nextFrameLocked(buf []byte, data bool) int {
	m.held = false
	for m.ctrlq.len() > 0 {
		if n := m.encodeCtrlLocked(buf, m.ctrlq.pop()); n > 0 {
			return n
		}
	}
	if !data {
		return 0
	}
	// Two classes share the cells: the reliable streams and the datagram
	// flows. While both have something to send, datagrams get one frame
	// in every ReliablePerDatagram+1; a class alone gets every frame.
	if m.readyDg.len() > 0 && m.relRun >= ReliablePerDatagram {
		if n := m.takeDatagramLocked(buf); n > 0 {
			return n
		}
	}
	if n := m.takeReliableLocked(buf); n > 0 {
		m.relRun = min(m.relRun+1, ReliablePerDatagram)
		return n
	}
	if m.readyDg.len() > 0 && m.receivingLocked() {
		m.held = true
		return 0
	}
	return m.takeDatagramLocked(buf)
}

// DataHold is how long after a DATA frame arrived the reliable class
// counts as busy on the way in: while it is, and a datagram flow has
// datagrams waiting, the flows send at most one frame for every
// ReliablePerDatagram DATA frames that arrive. Cells cost the relays of a
// circuit the same work whichever way they go, so on a path whose relays
// are short of CPU a flood going up takes its cells from a download
// coming down, and fair turns in one direction cannot help the other. A
// download running at full speed brings a DATA frame every few ms; one
// slower than a frame every DataHold does not hold datagrams back at all,
// a datagram waits at most DataHold for it, and only flows that queue
// more than a frame's worth are held.
const DataHold = 10 * time.Millisecond

// receivingLocked reports whether datagrams wait for DATA frames to come
// in: more than a frame's worth of datagrams is queued (the flows offer
// more than the circuit takes; a flow that sends a datagram at a time is
// never held), fewer than ReliablePerDatagram DATA frames arrived since
// the last datagram frame, and the last less than DataHold ago.
func (m *Mux) receivingLocked() bool {
	return m.dgOutBytes > m.cfg.MaxFrame && m.relRun < ReliablePerDatagram &&
		!m.dataIn.IsZero() && m.now().Sub(m.dataIn) < DataHold
}

// holdFor returns how long the sending goroutine may sleep before held
// datagrams may go, 0 if none are held.
func (m *Mux) holdFor() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.held {
		return 0
	}
	return max(DataHold-m.now().Sub(m.dataIn), time.Millisecond)
}

// ReliablePerDatagram is how many frames the reliable streams (tcp, dns)
// send for every frame of datagrams while both classes have something to
// send: datagrams then get at most a third of the circuit's cells, and
// every cell when no reliable stream has data that can go. A reliable
// stream is congestion controlled end to end (its sender's TCP backs off
// when the tunnel's queue delays its data), a udp flow usually is not, so
// with equal turns a flood holds half the cells whatever TCP does, and a
// download whose credit and acknowledgements share the path gets less.
const ReliablePerDatagram = 2

// takeReliableLocked takes the next frame of the reliable streams, round
// robin: each ready stream gets one frame per turn. It returns 0 when none
// can send now.
func (m *Mux) takeReliableLocked(buf []byte) int {
	n, _ := takeTurnLocked(&m.ready, buf)
	return n
}

// takeTurnLocked gives the streams of q their turns, round robin, until
// one yields a frame into buf: it returns the frame's length and its
// stream, or 0 when none can send now. A stream with more to send goes
// back to the end of q.
func takeTurnLocked(q *fifo[*Stream], buf []byte) (int, *Stream) {
	for range q.len() {
		s := q.pop()
		s.inReady = false
		n, more := s.takeFrameLocked(buf)
		if more {
			s.inReady = true
			q.push(s)
		}
		if n > 0 {
			return n, s
		}
	}
	return 0, nil
}

// takeDatagramLocked takes the next frame of the datagram flows, round
// robin (packed with the datagrams of the flows next in turn when the peer
// understands it). It returns 0 when none has a datagram or FIN to send.
func (m *Mux) takeDatagramLocked(buf []byte) int {
	n, s := takeTurnLocked(&m.readyDg, buf)
	if n == 0 {
		return 0
	}
	m.relRun = 0
	if buf[0] == frameDatagram && m.cfg.PackDatagrams {
		return m.packLocked(buf[:m.cfg.MaxFrame], n, s)
	}
	return n
}

func (m *Mux) encodeCtrlLocked(buf []byte, c ctrl) int {
	switch c.typ {
	case frameWindow:
		if c.s == nil {
			inc := m.connPend
			m.connWinSent = false
			if inc == 0 {
				return 0
			}
			m.connPend = 0
			m.connRecv += inc
			return encodeU32(buf, frameWindow, 0, uint32(inc))
		}
		s := c.s
		inc := s.recvPend
		s.winQueued = false
		if inc == 0 || s.err != nil || s.remoteFin || !s.inMap {
			return 0
		}
		s.recvPend = 0
		s.recvWin += inc
		return encodeU32(buf, frameWindow, s.id, uint32(inc))
	case frameOpen:
		return encodeOpen(buf, c.id, c.s.kind, c.window, c.s.addr)
	case frameOpened:
		return encodeU32(buf, frameOpened, c.id, c.window)
	case frameRefused, frameRst:
		return encodeReason(buf, c.typ, c.id, c.reason)
	case frameICMP, frameDropped:
		if !c.s.inMap || c.s.err != nil {
			return 0
		}
		if c.typ == frameICMP {
			return encodeICMP(buf, c.id, c.icmp)
		}
		return encodeDropped(buf, c.id, c.s.dgDropOut.Load(), c.s.dgDropIn)
	}
	return 0
}

// returnConnCreditLocked records n consumed (or discarded) bytes of circuit
// credit and queues a circuit WINDOW once half the window is due.
func (m *Mux) returnConnCreditLocked(n int) {
	if n <= 0 || m.closed {
		return
	}
	m.connPend += int64(n)
	if !m.connWinSent && m.connPend >= int64(m.cfg.CircuitWindow/2) {
		m.connWinSent = true
		m.queueCtrl(ctrl{typ: frameWindow})
	}
}

// Streams returns how many streams are open or opening.
func (m *Mux) Streams() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.streams)
}

func (m *Mux) removeLocked(s *Stream) {
	if s.inMap {
		delete(m.streams, s.id)
		s.inMap = false
	}
}

// resetLocked aborts s locally with reason: RST to the peer (if the stream
// is still known to it), buffers dropped, waiters woken.
func (m *Mux) resetLocked(s *Stream, reason Reason) {
	if s.err == nil {
		s.err = &ResetError{Reason: reason}
	}
	if s.inMap {
		m.queueCtrl(ctrl{typ: frameRst, id: s.id, reason: reason})
		m.removeLocked(s)
	}
	s.discardLocked()
	s.wakeLocked()
	if s.req != nil {
		s.req.cancel(s.err)
	}
}

// closedIDLocked reports whether id belongs to a stream that was opened
// and is gone, as opposed to one that never existed.
func (m *Mux) closedIDLocked(id uint32) bool {
	if id%2 == 0 {
		return false
	}
	if m.cfg.Role == RoleClient {
		return uint64(id) < m.nextID
	}
	return id <= m.lastID
}

// Deliver processes one frame received from the peer. It must be called by
// one goroutine at a time, in arrival order; it does not retain frame and
// never blocks on the network. A malformed or unexpected frame returns an
// error wrapping ErrProtocol and closes the Mux; after the Mux is closed,
// Deliver returns its error.
func (m *Mux) Deliver(frame []byte) error {
	f, perr := parseFrame(frame, m.cfg.MaxFrame)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return m.err
	}
	err := perr
	if err == nil {
		m.stats.FramesReceived++
		m.stats.BytesReceived += uint64(len(frame))
		err = m.handleLocked(&f)
	}
	if err != nil {
		m.closeLocked(err)
		return err
	}
	return nil
}

func (m *Mux) handleLocked(f *frame) error {
	if f.typ == frameDatagrams {
		var err error
		eachPacked(f.payload, func(id uint32, d []byte) {
			if err == nil {
				err = m.handleLocked(&frame{typ: frameDatagram, id: id, payload: d})
			}
		})
		return err
	}
	if f.typ == frameWindow && f.id == 0 {
		if m.connSend+int64(f.window) > maxCredit {
			return protoErr("circuit WINDOW overflows the credit")
		}
		m.connSend += int64(f.window)
		if m.ready.len() > 0 {
			m.kickSender()
		}
		return nil
	}
	if f.id == 0 {
		return protoErr("%s on stream 0", frameName(f.typ))
	}
	if f.typ == frameOpen {
		return m.handleOpenLocked(f)
	}
	if (f.typ == frameOpened || f.typ == frameRefused) && m.cfg.Role != RoleClient {
		return protoErr("%s sent to the server", frameName(f.typ))
	}
	s := m.streams[f.id]
	if s == nil {
		if !m.closedIDLocked(f.id) {
			return protoErr("%s for stream %d that was never opened", frameName(f.typ), f.id)
		}
		// A late frame for a closed stream. DATA spent circuit credit,
		// which has to be returned.
		if f.typ == frameData {
			if int64(len(f.payload)) > m.connRecv {
				return protoErr("DATA exceeds the circuit window")
			}
			m.connRecv -= int64(len(f.payload))
			m.returnConnCreditLocked(len(f.payload))
		}
		return nil
	}
	switch f.typ {
	case frameOpened, frameRefused:
		if s.state != stateOpening {
			return protoErr("%s for stream %d that is not opening", frameName(f.typ), f.id)
		}
		if f.typ == frameOpened {
			s.state = stateOpen
			s.sendCredit = int64(f.window)
		} else {
			s.err = &RefusedError{Reason: f.reason}
			m.removeLocked(s)
		}
		s.openWait.broadcast()
		return nil
	case frameRst:
		s.err = &ResetError{Reason: f.reason, Remote: true}
		if s.state == statePending { // withdrawn before Accept: free the backlog slot
			m.acceptq.removeFunc(func(r *Request) bool { return r.s == s })
		}
		m.removeLocked(s)
		s.discardLocked()
		s.wakeLocked()
		if s.req != nil {
			s.req.cancel(s.err)
		}
		return nil
	}
	if s.state != stateOpen {
		return protoErr("%s for stream %d before it was opened", frameName(f.typ), f.id)
	}
	if f.typ == frameICMP || f.typ == frameDropped {
		return m.handleNoticeLocked(s, f)
	}
	if f.typ != frameFin && (s.kind.datagram()) != (f.typ == frameDatagram) {
		return protoErr("%s on a %s stream", frameName(f.typ), s.kind)
	}
	switch f.typ {
	case frameData:
		return m.handleDataLocked(s, f.payload)
	case frameDatagram:
		if s.remoteFin {
			return protoErr("DATAGRAM after FIN on stream %d", s.id)
		}
		cost := len(f.payload) + datagramOverhead
		if !m.roomInLocked(s, cost) {
			s.dgDropIn++
			s.dropped()
			m.stats.DatagramsDroppedIn++
			return nil
		}
		m.dgInBytes += cost
		s.dgInQ += cost
		s.dgRecv++
		s.dgIn.push(append([]byte(nil), f.payload...))
		s.rwait.broadcast()
		return nil
	case frameFin:
		if s.remoteFin {
			return protoErr("second FIN on stream %d", s.id)
		}
		s.remoteFin = true
		if s.kind.datagram() {
			// FIN closes a datagram flow in both directions.
			m.removeLocked(s)
			s.discardSendLocked()
			s.finSent = true // the flow is gone; no FIN back
			s.wakeLocked()
			return nil
		}
		s.rwait.broadcast()
		s.maybeRemoveLocked()
		return nil
	case frameWindow:
		if s.sendCredit+int64(f.window) > maxCredit {
			return protoErr("WINDOW overflows the credit of stream %d", s.id)
		}
		s.sendCredit += int64(f.window)
		if len(s.wbuf) > 0 {
			m.schedule(s)
		}
		return nil
	}
	return protoErr("unexpected %s", frameName(f.typ))
}

func (m *Mux) handleDataLocked(s *Stream, p []byte) error {
	if s.remoteFin {
		return protoErr("DATA after FIN on stream %d", s.id)
	}
	n := int64(len(p))
	if n > m.connRecv {
		return protoErr("DATA exceeds the circuit window")
	}
	if n > s.recvWin {
		return protoErr("DATA exceeds the window of stream %d", s.id)
	}
	m.connRecv -= n
	s.recvWin -= n
	m.dataIn = m.now()
	if m.relRun < ReliablePerDatagram {
		m.relRun++
		if m.held && m.relRun == ReliablePerDatagram {
			m.kickSender()
		}
	}
	if s.readClosed {
		// Data for a stream the application closed: like TCP, answer
		// with a reset.
		m.returnConnCreditLocked(len(p))
		if m.ctrlq.len() > m.ctrlLimit {
			return protoErr("control queue overflow")
		}
		m.resetLocked(s, ReasonClosed)
		return nil
	}
	s.appendLocked(p)
	s.rwait.broadcast()
	return nil
}

func (m *Mux) handleOpenLocked(f *frame) error {
	if m.cfg.Role != RoleServer {
		return protoErr("OPEN sent to the client")
	}
	if f.id%2 == 0 || f.id <= m.lastID {
		return protoErr("OPEN with stream ID %d after %d", f.id, m.lastID)
	}
	m.lastID = f.id
	refuse := func(r Reason) error {
		if m.ctrlq.len() > m.ctrlLimit {
			return protoErr("control queue overflow")
		}
		m.queueCtrl(ctrl{typ: frameRefused, id: f.id, reason: r})
		return nil
	}
	if !f.kind.valid() {
		return refuse(ReasonUnsupported)
	}
	if len(m.streams) >= m.cfg.MaxStreams || m.acceptq.len() >= m.cfg.AcceptBacklog {
		return refuse(ReasonResources)
	}
	s := newStream(m, f.id, f.kind, string(f.addr))
	s.state = statePending
	s.sendCredit = int64(f.window)
	r := &Request{Network: f.kind.Network(), Address: s.addr, s: s}
	r.ctx, r.cancel = context.WithCancelCause(m.ctx)
	s.req = r
	s.inMap = true
	m.streams[s.id] = s
	m.acceptq.push(r)
	m.acceptWait.broadcast()
	return nil
}

// Dial opens a stream to address through the exit and waits for the exit's
// answer. network is "tcp" (also "tcp4", "tcp6"), "udp" (also "udp4",
// "udp6"), "dns" or "icmp"; address is "host:port" (for "icmp" an IP
// address alone), at most MaxAddressLen bytes.
// The returned net.Conn is a *Stream. A refusal returns a *RefusedError;
// when ctx ends first, the open is withdrawn (RST with ReasonCanceled) and
// ctx's error is returned.
func (m *Mux) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	s, err := m.DialStream(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// DialStream is Dial returning the concrete *Stream.
func (m *Mux) DialStream(ctx context.Context, network, address string) (*Stream, error) {
	kind, ok := kindOf(network)
	if !ok {
		return nil, &net.OpError{Op: "dial", Net: network, Err: net.UnknownNetworkError(network)}
	}
	if len(address) == 0 || len(address) > MaxAddressLen {
		return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("stream: address length %d not in [1, %d]", len(address), MaxAddressLen)}
	}
	// An icmp address is an IP alone, which the exit checks.
	if _, _, err := net.SplitHostPort(address); err != nil && kind != KindICMP {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	if m.cfg.Role != RoleClient {
		return nil, ErrWrongRole
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.openLocked(kind, address)
	if err != nil {
		return nil, err
	}
	for s.state == stateOpening && s.err == nil {
		ch := s.openWait.wait()
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		case <-m.done:
		}
		m.mu.Lock()
		if s.state == stateOpening && s.err == nil {
			if m.closed {
				s.err = m.err
			} else if err := ctx.Err(); err != nil {
				m.resetLocked(s, ReasonCanceled)
				return nil, err
			}
		}
	}
	if s.err != nil {
		return nil, s.err
	}
	return s, nil
}

// openLocked allocates a stream ID and queues the OPEN.
func (m *Mux) openLocked(kind Kind, address string) (*Stream, error) {
	if m.closed {
		return nil, m.err
	}
	if len(m.streams) >= m.cfg.MaxStreams || m.nextID > 1<<32-1 {
		return nil, ErrTooManyStreams
	}
	s := newStream(m, uint32(m.nextID), kind, address)
	m.nextID += 2
	s.state = stateOpening
	s.inMap = true
	m.streams[s.id] = s
	m.queueCtrl(ctrl{typ: frameOpen, id: s.id, s: s, window: uint32(s.recvWin)})
	return s, nil
}

// Accept waits for the next stream the client opens. The Request must be
// answered with Accept or Refuse; until then it counts against MaxStreams
// and the client waits. Accept fails with ErrWrongRole on a client Mux, with
// ctx's error, or with an error wrapping ErrCircuitClosed.
func (m *Mux) Accept(ctx context.Context) (*Request, error) {
	if m.cfg.Role != RoleServer {
		return nil, ErrWrongRole
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		for m.acceptq.len() > 0 {
			r := m.acceptq.pop()
			if r.s.err == nil { // else withdrawn by the client
				return r, nil
			}
		}
		if m.closed {
			return nil, m.err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ch := m.acceptWait.wait()
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		case <-m.done:
		}
		m.mu.Lock()
	}
}

// Request is a stream the client asked the exit to open.
type Request struct {
	// Network is "tcp", "udp", "dns" or "icmp".
	Network string
	// Address is the destination "host:port" as the client sent it; it is
	// not validated beyond being 1..255 bytes.
	Address string

	s        *Stream
	ctx      context.Context
	cancel   context.CancelCauseFunc
	answered bool // guarded by Mux.mu
}

// ID returns the stream ID.
func (r *Request) ID() uint32 { return r.s.id }

// Kind returns the stream kind.
func (r *Request) Kind() Kind { return r.s.kind }

// Context returns a context that is canceled when the request is answered,
// withdrawn by the client, or the Mux closes; use it to bound the dial to
// the destination. context.Cause tells which.
func (r *Request) Context() context.Context { return r.ctx }

// Accept tells the client that the destination is connected and returns
// the stream (a *Stream). It fails if the request was already answered,
// was withdrawn by the client (a *ResetError) or the Mux closed.
func (r *Request) Accept() (net.Conn, error) {
	s := r.s
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.answered {
		return nil, ErrAnswered
	}
	r.answered = true
	s.req = nil
	r.cancel(nil)
	if s.err != nil {
		return nil, s.err
	}
	s.state = stateOpen
	m.queueCtrl(ctrl{typ: frameOpened, id: s.id, window: uint32(s.recvWin)})
	return s, nil
}

// Refuse tells the client that the stream will not be opened, with reason.
// It fails only if the request was already answered; refusing a withdrawn
// request or after the Mux closed does nothing.
func (r *Request) Refuse(reason Reason) error {
	s := r.s
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.answered {
		return ErrAnswered
	}
	r.answered = true
	s.req = nil
	r.cancel(nil)
	if s.err != nil {
		return nil
	}
	s.err = &RefusedError{Reason: reason}
	if s.inMap {
		m.queueCtrl(ctrl{typ: frameRefused, id: s.id, reason: reason})
		m.removeLocked(s)
	}
	return nil
}
