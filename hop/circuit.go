package hop

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/hop/stream"
	"github.com/pexia-network/pexia/hop/wire"
)

// HopInfo is what the client needs to reach and authenticate one node, as
// published in the registry. The type is wire.HopInfo, which a node also
// uses to check the next hops it extends circuits to.
type HopInfo = wire.HopInfo

// TruncatedError is returned by Build when a hop could not extend the
// circuit: Hop (0 is the entry) answered the EXTEND with TRUNCATED for
// Reason (onion.ReasonUnregistered: the next node is not in the registry
// with the URL and pin the client gave; onion.ReasonResource: the hop has
// no room for another link; onion.ReasonConnectFailed: it could not reach
// the node).
type TruncatedError struct {
	Hop    int
	Reason onion.Reason
}

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("hop %d refused to extend the circuit: %v", e.Hop, e.Reason)
}

// ErrCircuitClosed is returned by a closed circuit.
var ErrCircuitClosed = errors.New("hop: circuit closed")

// Circuit is a built circuit: streams opened on it leave at its last hop.
type Circuit struct {
	hops   []HopInfo
	lk     *link.Link // closed with the circuit; nil for a shared link
	link   *link.Link // the link to the first hop, owned or shared
	ch     link.Channel
	rd     *wire.CellReader // used by build, then by the read goroutine
	circID uint32
	cc     *onion.ClientCircuit
	mux    *stream.Mux
	smu    sync.Mutex       // orders Seal with the channel write
	w      *wire.CellWriter // guarded by smu
	done   chan struct{}
	// ctx ends with the circuit (stop is called by fail): the context of
	// the circuit's own waits, such as a payment held by the budget.
	ctx      context.Context
	stop     context.CancelFunc
	once     sync.Once
	err      error
	observer func(hop int, cmd onion.RelayCmd, payload []byte)

	payer Payer
	pays  []*payState // per hop; nil entries for free hops
	kick  chan struct{}
	pad   *wire.Padder // constant-rate schedule; nil without padding

	// The datagram lane (lane.go): wantLane asks every hop for it during
	// build; lane is set when all granted it and the link has one.
	wantLane, lane bool
	// wantPack asks every hop for packed datagram cells; pack is set when
	// the last hop granted it.
	wantPack, pack                bool
	laneUp, laneDown, laneDropped atomic.Uint64
	quiet                         stream.QuietFlows

	cellsUp, cellsDown atomic.Uint64 // cellsUp is written under smu
	// Liveness (watchdog): when the last cell, and the last cell for the
	// streams, arrived, in nanoseconds since the Unix epoch.
	lastRecv, lastData atomic.Int64

	// Acknowledgements (watchdog.go): a PING carries the count of cells
	// sent up to and including it, and the exit's PONG echoes it.
	pinged  atomic.Uint64 // count carried by the last PING; written under smu
	acked   atomic.Uint64 // highest count the exit acknowledged; written by read
	ackedAt atomic.Int64  // when acked last moved (Unix ns)
	ackWake chan struct{} // signalled when acked moves
	winSize atomic.Uint64 // the send window, cells: win.Size()
	backlog uint64        // cells that may arrive ahead of a PONG
	amu     sync.Mutex
	win     *wire.Window  // sized by the PINGs' round trips; guarded by amu
	probes  []probe       // PINGs not yet answered, oldest first; guarded by amu
	exitRTT time.Duration // latest PING to PONG; guarded by amu

	// Acknowledgements to the exit (watchdog.go): the cells received from
	// the last hop, and the Digest of the latest one to acknowledge with a
	// SENDME, which ackLoop sends.
	fromExit  uint64 // read goroutine only
	kmu       sync.Mutex
	sendmeDue bool
	sendmeD   onion.Digest // guarded by kmu
	sendmeAt  uint64       // when that cell arrived (sendmeClock); guarded by kmu
	sendmeK   chan struct{}
}

// probe is a PING in flight.
type probe struct {
	n    uint64    // cells it acknowledges
	at   time.Time // when it left
	down uint64    // cells received when it left
}

// payState is the client's payment state for one hop.
type payState struct {
	sess     PayerSession
	mu       sync.Mutex
	commit   [32]byte
	inflight bool      // a PAY is out and its PAID not back
	sentAt   time.Time // when the PAY in flight left
	rtt      time.Duration
	paid     *big.Int // sum of the payments sent
}

// The client's receive windows, for what the exit sends it (downloads).
// Credit returns to the exit only after the data has crossed every hop and
// been read, so a stream moves at most one window per round trip of the
// whole circuit, queues on the relays included: 1 MiB is 84 Mbit/s at
// 100 ms, and what a busy 2-core machine needs to keep one hop at the
// speed of its link (the stream package's default 256 KiB held one hop on
// loopback to about 0.6 of that). The circuit window stays 8 stream
// windows, so 7 streams whose readers stalled still leave the circuit
// usable. This is the client's own memory (at most 8 MiB per circuit);
// exits keep the stream package's defaults, which bound what each circuit
// may hold at a node.
const (
	clientStreamWindow  = 1 << 20
	clientCircuitWindow = 8 << 20
)

// BuildConfig configures Build.
type BuildConfig struct {
	// CellSize is the circuit's fixed cell size (default onion.DefaultCellSize).
	CellSize int
	// Link returns a link to the first hop (default link.Dial). The
	// circuit closes the link when it ends, unless SharedLink is set (the
	// link then belongs to whoever hands it out, and may carry other
	// circuits).
	Link       func(ctx context.Context, h HopInfo) (*link.Link, error)
	SharedLink bool
	// Payer opens a payment session for each hop that announces terms;
	// nil pays nobody (nodes that charge will drop the circuit).
	Payer Payer
	// PaddingRate, if positive, makes the circuit carry exactly this many
	// cells per second each way, padding the gaps (see padding.go); it
	// also caps the circuit's throughput at that rate. At most
	// MaxPaddingRate.
	PaddingRate int
	// DatagramLane sends udp and icmp datagrams on the links' datagram
	// lane (docs/PROTOCOL.md 2.9) when every hop grants it, instead of the
	// circuit's reliable channel. It is off by default: on a path that
	// loses no packets the lane drops datagrams the reliable channel
	// carries (it sends nothing beyond 64 KiB unacknowledged), and a
	// lossy link carrying TCP too still holds it up, since both share the
	// link's SCTP association; relays also learn which cells are
	// datagrams. It pays where a link loses packets and carries mostly
	// datagrams (a call, a game): there a lost packet no longer holds up
	// every later cell.
	DatagramLane bool
	// NoDatagramPacking stops the circuit from asking its exit for packed
	// datagram cells (wire.FeaturePack), so every datagram takes a cell of
	// its own each way, as with exits that predate packing.
	NoDatagramPacking bool
	// StallTimeout is how long a circuit may stay silent while the client
	// waits for an answer (a PING it sent when a cell went unanswered)
	// before it fails with ErrStalled (default DefaultStallTimeout); see
	// watchdog.
	StallTimeout time.Duration
}

// Build builds a circuit through hops by telescoping: CREATE to the first
// hop, then EXTEND through the circuit so far for each further hop, each
// with its own Noise NK handshake against the hop's registered key.
func Build(ctx context.Context, hops []HopInfo, cfg BuildConfig) (*Circuit, error) {
	if len(hops) == 0 || len(hops) > onion.MaxHops {
		return nil, fmt.Errorf("hop: %d hops, want 1..%d", len(hops), onion.MaxHops)
	}
	if cfg.CellSize == 0 {
		cfg.CellSize = onion.DefaultCellSize
	}
	if cfg.Link == nil {
		cfg.Link = func(ctx context.Context, h HopInfo) (*link.Link, error) {
			return link.Dial(ctx, h.URL, h.Pin, link.DialConfig{})
		}
	}
	lk, err := cfg.Link(ctx, hops[0])
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err() // given up on, not the node's failure
	}
	if err != nil {
		return nil, &HopError{Hop: 0, Node: hops[0].Address, Err: fmt.Errorf("hop: link to first hop: %w", err)}
	}
	owned := lk
	if cfg.SharedLink {
		owned = nil
	}
	ch, err := lk.Open(ctx, "c")
	if err != nil {
		if owned != nil {
			owned.Close()
		}
		return nil, &HopError{Hop: 0, Node: hops[0].Address, Err: fmt.Errorf("hop: open circuit channel: %w", err)}
	}
	cc, err := onion.NewClientCircuit(cfg.CellSize)
	if err != nil {
		ch.Close()
		if owned != nil {
			owned.Close()
		}
		return nil, err
	}
	var id [4]byte
	rand.Read(id[:])
	c := &Circuit{hops: hops, lk: owned, link: lk, ch: ch, wantLane: cfg.PaddingRate == 0 && cfg.DatagramLane && lk.HasLane(), wantPack: !cfg.NoDatagramPacking, circID: binary.BigEndian.Uint32(id[:]) | 1, cc: cc, done: make(chan struct{}),
		payer: cfg.Payer, pays: make([]*payState, len(hops)), kick: make(chan struct{}, 1), ackWake: make(chan struct{}, 1), sendmeK: make(chan struct{}, 1),
		rd: wire.NewCellReader(ch, cfg.CellSize, make([]byte, link.MaxMessageSize)),
		w:  wire.NewCellWriter(ch, cfg.CellSize, nil)}
	c.ctx, c.stop = context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, func() { ch.Close() })
	defer stop()
	if err := c.build(); err != nil {
		c.stop()
		ch.Close()
		if owned != nil {
			owned.Close()
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if cfg.PaddingRate > 0 {
		c.pad = c.clientPadder(cfg.PaddingRate)
	}
	c.win = wire.NewWindow(wire.CircuitWindowConfig(cfg.CellSize, sendWindowBytes))
	c.winSize.Store(c.win.Size())
	c.backlog = uint64(2 * clientCircuitWindow / cfg.CellSize)
	c.mux, err = stream.New(stream.Config{
		Role:          stream.RoleClient,
		MaxFrame:      cc.MaxPayload(),
		StreamWindow:  clientStreamWindow,
		CircuitWindow: clientCircuitWindow,
		Flush:         c.flush,
		Gate:          c.gate,
		PackDatagrams: c.pack,
	}, c.sendFrame)
	if err != nil {
		ch.Close()
		if owned != nil {
			owned.Close()
		}
		return nil, err
	}
	if c.lane && !lk.HandleLane(c.circID, c.laneRead) {
		c.lane = false // another circuit on a shared link has the ID
	}
	c.lastRecv.Store(time.Now().UnixNano())
	c.ackedAt.Store(time.Now().UnixNano())
	go c.read()
	go c.payLoop()
	go c.ackLoop()
	go c.watchdog(cfg.StallTimeout)
	if cfg.PaddingRate > 0 {
		if err := c.startPadding(cfg.PaddingRate); err != nil {
			c.fail(err)
			return nil, err
		}
	}
	return c, nil
}

func (c *Circuit) build() error {
	cellSize := c.cc.CellSize()
	var want byte
	if c.wantLane {
		want |= wire.FeatureLane
	}
	if c.wantPack {
		want |= wire.FeaturePack
	}
	hello := wire.ClientHello(want)
	lane := c.wantLane
	for k, h := range c.hops {
		init, msg, err := onion.ClientHandshake(h.Address, h.NoiseKey, cellSize, hello)
		if err != nil {
			return err
		}
		var reply []byte
		if k == 0 {
			body, err := onion.Create{HType: onion.HandshakeNK, Handshake: msg}.Encode(cellSize)
			if err != nil {
				return err
			}
			if err := c.write(onion.LinkCreate, body); err != nil {
				return err
			}
			raw, err := c.rd.Next()
			if err != nil {
				return &HopError{Hop: 0, Node: h.Address, Err: fmt.Errorf("hop: CREATED from hop 0: %w", err)}
			}
			cell, err := onion.DecodeCell(raw)
			if err != nil || cell.Cmd != onion.LinkCreated {
				return fmt.Errorf("hop: hop 0 answered %v (%v), want CREATED", cell.Cmd, err)
			}
			created, err := onion.DecodeCreated(cell.Body)
			if err != nil {
				return err
			}
			reply = created.Handshake
		} else {
			ext, err := onion.Extend{Node: h.Address, URL: h.URL, Fingerprint: h.Pin[:], HType: onion.HandshakeNK, Handshake: msg}.Encode()
			if err != nil {
				return err
			}
			if err := c.send(k-1, onion.LinkRelayEarly, onion.RelayExtend, ext); err != nil {
				return err
			}
			hop, cmd, payload, err := c.readRelay()
			if err != nil {
				return fmt.Errorf("hop: extending to hop %d: %w", k, err)
			}
			if hop == k-1 && cmd == onion.RelayTruncated {
				r, err := onion.DecodeReason(payload)
				if err != nil {
					return err
				}
				return &HopError{Hop: k, Node: h.Address, Err: fmt.Errorf("hop: extending to hop %d: %w", k, &TruncatedError{Hop: hop, Reason: r})}
			}
			if hop != k-1 || cmd != onion.RelayExtended {
				return fmt.Errorf("hop: extending to hop %d: hop %d answered %v", k, hop, cmd)
			}
			e, err := onion.DecodeExtended(payload)
			if err != nil {
				return err
			}
			reply = e.Handshake
		}
		keys, replyPayload, err := init.Finish(reply)
		if err != nil {
			return fmt.Errorf("hop: handshake with hop %d: %w", k, err)
		}
		termsBytes, granted := wire.SplitReply(replyPayload)
		lane = lane && granted&wire.FeatureLane != 0
		c.pack = c.wantPack && granted&wire.FeaturePack != 0 // the last hop's answer counts
		if terms, ok := wire.DecodeTerms(termsBytes); ok && c.payer != nil {
			sess, err := c.payer(k, h.Address, terms)
			if errors.Is(err, ErrTermsRefused) {
				return &RefusedError{Hop: k, Node: h.Address, Err: err}
			}
			if err != nil {
				return fmt.Errorf("hop: pay hop %d: %w", k, err)
			}
			c.pays[k] = &payState{sess: sess, commit: terms.Commit}
		}
		if err := c.cc.AddHop(keys); err != nil {
			return err
		}
	}
	c.lane = lane
	return nil
}

func (c *Circuit) write(cmd onion.LinkCmd, body []byte) error {
	out := make([]byte, onion.HeaderLen+len(body))
	if err := onion.PutHeader(out, c.circID, cmd); err != nil {
		return err
	}
	copy(out[onion.HeaderLen:], body)
	_, err := c.ch.Write(out)
	return err
}

// send seals payload for hop and writes it at once, behind any cells queue
// gathered.
func (c *Circuit) send(hop int, lc onion.LinkCmd, cmd onion.RelayCmd, payload []byte) error {
	if c.pad != nil && !c.pad.Take(c.done) {
		return ErrCircuitClosed
	}
	c.smu.Lock()
	defer c.smu.Unlock()
	if err := c.queueLocked(hop, lc, cmd, payload); err != nil {
		return err
	}
	return c.w.Flush()
}

// queue seals payload for hop into the message being gathered, which
// flush (or a full message, or the next send) writes: the stream layer
// queues its frames and flushes when it has no more ready
// (docs/PROTOCOL.md 2.3). With padding, every cell leaves on its own, in
// its slot. queue carries the stream layer's frames, whose data waits in
// the stream layer while the send window is closed (gate), and asks for an
// acknowledgement every half window or 24 cells (watchdog.go). Control
// cells (PING, PAY, SENDME) go through send and never wait for the window,
// so they overtake the data waiting there.
func (c *Circuit) queue(hop int, lc onion.LinkCmd, cmd onion.RelayCmd, payload []byte) error {
	if c.pad != nil {
		if err := c.send(hop, lc, cmd, payload); err != nil {
			return err
		}
	} else {
		c.smu.Lock()
		err := c.queueLocked(hop, lc, cmd, payload)
		c.smu.Unlock()
		if err != nil {
			return err
		}
	}
	if c.cellsUp.Load()-c.pinged.Load() >= pingEvery(c.winSize.Load()) {
		return c.probe(false)
	}
	return nil
}

// gate is the stream layer's Config.Gate: nil while fewer than the send
// window's cells are unacknowledged, else the channel that acknowledgements
// signal. A closed window is always covered by a PING, written at once
// with the cells gathered before it, whose answer opens it again.
func (c *Circuit) gate() <-chan struct{} {
	if c.cellsUp.Load()-c.acked.Load() < c.winSize.Load() {
		return nil
	}
	c.amu.Lock()
	c.win.Closed()
	c.amu.Unlock()
	if c.cellsUp.Load() > c.pinged.Load() {
		if err := c.probe(true); err != nil {
			c.fail(err)
		}
	}
	return c.ackWake
}

// probe seals a PING for the last hop carrying the count of cells sent up
// to and including it; the PONG acknowledges them all (cells reach the
// exit in order). With now set it is written at once, else with the cells
// gathered.
func (c *Circuit) probe(now bool) error {
	if c.pad != nil && !c.pad.Take(c.done) {
		return ErrCircuitClosed
	}
	c.smu.Lock()
	defer c.smu.Unlock()
	n := c.cellsUp.Load() + 1
	var p [8]byte
	binary.BigEndian.PutUint64(p[:], n)
	if err := c.queueLocked(len(c.hops)-1, onion.LinkRelay, onion.RelayPing, p[:]); err != nil {
		return err
	}
	c.pinged.Store(n)
	c.amu.Lock()
	c.probes = append(c.probes, probe{n: n, at: time.Now(), down: c.cellsDown.Load()})
	c.amu.Unlock()
	if now || c.pad != nil {
		return c.w.Flush()
	}
	return nil
}

// acknowledged records the exit's PONG for the first n cells.
func (c *Circuit) acknowledged(n uint64) {
	if n <= c.acked.Load() || n > c.pinged.Load() {
		return // stale, or not a count this client sent
	}
	now := time.Now()
	c.amu.Lock()
	for len(c.probes) > 0 && c.probes[0].n <= n {
		if c.probes[0].n == n {
			c.exitRTT = now.Sub(c.probes[0].at)
			c.win.Ack(n, c.cellsUp.Load(), c.exitRTT, now)
			c.winSize.Store(c.win.Size())
		}
		c.probes = c.probes[1:]
	}
	c.amu.Unlock()
	c.acked.Store(n)
	c.ackedAt.Store(now.UnixNano())
	select {
	case c.ackWake <- struct{}{}:
	default:
	}
}

// oldestProbe returns the oldest unanswered PING.
func (c *Circuit) oldestProbe() (probe, bool) {
	c.amu.Lock()
	defer c.amu.Unlock()
	if len(c.probes) == 0 {
		return probe{}, false
	}
	return c.probes[0], true
}

// queueLocked seals a cell into the writer. Sealing and writing happen in
// one order, under smu, so the hops' counters match.
func (c *Circuit) queueLocked(hop int, lc onion.LinkCmd, cmd onion.RelayCmd, payload []byte) error {
	select {
	case <-c.done:
		return ErrCircuitClosed
	default:
	}
	cell, err := c.w.Next(c.circID, lc)
	if err != nil {
		return err
	}
	if err := c.cc.SealInto(cell[onion.HeaderLen:], hop, cmd, payload); err != nil {
		c.w.Undo()
		return err
	}
	c.cellsUp.Add(1)
	c.carry(len(cell))
	return nil
}

// flush writes the cells queue gathered.
func (c *Circuit) flush() error {
	c.smu.Lock()
	defer c.smu.Unlock()
	return c.w.Flush()
}

// carry charges a cell to every paid hop and wakes the payer if one is due.
func (c *Circuit) carry(n int) {
	due := false
	for _, p := range c.pays {
		if p != nil {
			p.sess.Carry(n)
			due = due || p.sess.Due().Sign() > 0
		}
	}
	if due {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

// payLoop pays each hop what it is due, one payment in flight per hop.
func (c *Circuit) payLoop() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	ctx := c.ctx // a payment waiting on the budget ends with the circuit
	for {
		for k, p := range c.pays {
			if p == nil {
				continue
			}
			p.mu.Lock()
			busy, commit := p.inflight, p.commit
			p.mu.Unlock()
			due := p.sess.Due()
			if busy || due.Sign() == 0 {
				continue
			}
			blob, err := p.sess.Pay(ctx, commit, due)
			if err != nil {
				c.fail(fmt.Errorf("hop: pay hop %d: %w", k, err))
				return
			}
			body, err := onion.Pay{Ticket: blob}.Encode()
			if err != nil {
				c.fail(err)
				return
			}
			p.mu.Lock()
			p.inflight = true
			p.sentAt = time.Now()
			if p.paid == nil {
				p.paid = new(big.Int)
			}
			p.paid.Add(p.paid, due)
			p.mu.Unlock()
			if err := c.send(k, onion.LinkRelay, onion.RelayPay, body); err != nil {
				c.fail(err)
				return
			}
		}
		select {
		case <-c.done:
			return
		case <-c.kick:
		case <-t.C:
		}
	}
}

// readRelay returns the next relay cell, opened; its payload is valid until
// the next call.
func (c *Circuit) readRelay() (int, onion.RelayCmd, []byte, error) {
	for {
		raw, err := c.rd.Next()
		if err != nil {
			return 0, 0, nil, err
		}
		c.lastRecv.Store(time.Now().UnixNano())
		cell, err := onion.DecodeCell(raw)
		if err != nil {
			return 0, 0, nil, err
		}
		switch cell.Cmd {
		case onion.LinkPadding:
			continue
		case onion.LinkDestroy:
			if d, err := onion.DecodeDestroy(cell.Body); err == nil && d.Reason == onion.ReasonUnpaid {
				return 0, 0, nil, ErrUnpaid
			}
			return 0, 0, nil, fmt.Errorf("%w: destroyed by the first hop", ErrCircuitClosed)
		case onion.LinkRelay:
			return c.cc.Open(cell.Body)
		default:
			return 0, 0, nil, fmt.Errorf("hop: unexpected %v cell", cell.Cmd)
		}
	}
}

// read delivers cells from the circuit until it fails.
func (c *Circuit) read() {
	last := len(c.hops) - 1
	for {
		hop, cmd, payload, err := c.readRelay()
		if err != nil {
			// A channel the first hop closed (EOF) may be any hop's
			// doing; any other error is the link to the first hop failing
			// or the cells on it making no sense: the first hop's fault.
			if !errors.Is(err, io.EOF) {
				err = &HopError{Hop: 0, Node: c.hops[0].Address, Err: err}
			}
			c.fail(err)
			return
		}
		if c.observer != nil {
			c.observer(hop, cmd, payload)
		}
		c.cellsDown.Add(1)
		c.carry(c.cc.CellSize())
		if hop == last {
			// The exit's window towards the client opens with the
			// SENDMEs for every SendmeEvery-th of its cells.
			if c.fromExit++; c.fromExit%wire.SendmeEvery == 0 {
				c.sendmeFor(c.cc.ReceivedDigest(), sendmeClock())
			}
		}
		switch {
		case cmd == onion.RelayData && hop == last:
			c.lastData.Store(time.Now().UnixNano())
			if err := c.mux.Deliver(payload); err != nil {
				c.fail(err)
				return
			}
		case cmd == onion.RelayTruncated || cmd == onion.RelayEnd:
			c.fail(fmt.Errorf("%w: hop %d ended it", ErrCircuitClosed, hop))
			return
		case cmd == onion.RelayPaid:
			if p := c.pays[hop]; p != nil {
				paid, err := onion.DecodePaid(payload)
				if err != nil {
					c.fail(err)
					return
				}
				commit, ok := wire.DecodeCommit(paid.Receipt)
				p.mu.Lock()
				if ok {
					p.commit = commit
				}
				p.inflight = false
				if !p.sentAt.IsZero() {
					p.rtt = time.Since(p.sentAt)
				}
				p.mu.Unlock()
				select {
				case c.kick <- struct{}{}:
				default:
				}
			}
		case cmd == onion.RelayPadding:
		case cmd == onion.RelayPong && hop == last:
			if len(payload) == 8 {
				c.acknowledged(binary.BigEndian.Uint64(payload))
			}
		default:
			c.fail(fmt.Errorf("hop: unexpected %v from hop %d", cmd, hop))
			return
		}
	}
}

// sendmeFor has ackLoop send a SENDME for the cell with Digest d (and so
// for every cell of the exit before it), which arrived at at.
func (c *Circuit) sendmeFor(d onion.Digest, at uint64) {
	c.kmu.Lock()
	c.sendmeD, c.sendmeAt, c.sendmeDue = d, at, true
	c.kmu.Unlock()
	select {
	case c.sendmeK <- struct{}{}:
	default:
	}
}

// sendmeClockBase anchors the clock a SENDME's Arrived is read on.
var sendmeClockBase = time.Now()

// sendmeClock returns the time on the monotonic clock SENDMEs carry
// (onion.Sendme.Arrived), in nanoseconds, never 0. Only its differences
// mean anything: the exit compares them with when it sent the cells, so a
// SENDME that waits behind this client's own upload on the way back does
// not look to the exit like a queue on its way here.
func sendmeClock() uint64 { return uint64(time.Since(sendmeClockBase)) + 1 }

// ackLoop sends the SENDMEs the read goroutine asks for, so that reading
// never waits for a write (or, with padding, for a slot). When it falls
// behind, it acknowledges the latest cell only, which covers the others.
func (c *Circuit) ackLoop() {
	last := len(c.hops) - 1
	for {
		select {
		case <-c.done:
			return
		case <-c.sendmeK:
		}
		c.kmu.Lock()
		d, at, due := c.sendmeD, c.sendmeAt, c.sendmeDue
		c.sendmeDue = false
		c.kmu.Unlock()
		if !due {
			continue
		}
		if err := c.send(last, onion.LinkRelay, onion.RelaySendme, onion.Sendme{Digest: d, Arrived: at}.Encode()); err != nil {
			c.fail(err)
			return
		}
	}
}

func (c *Circuit) fail(err error) {
	c.once.Do(func() {
		c.err = err // read only after done is closed
		close(c.done)
		c.stop()
		c.ch.Close() // unblocks a send stuck in Write
		if c.lane {
			c.link.HandleLane(c.circID, nil)
		}
		if c.mux != nil {
			c.mux.Close(fmt.Errorf("%w: %v", ErrCircuitClosed, err))
		}
		if c.lk != nil {
			c.lk.Close()
		}
	})
}

// Dial opens a stream ("tcp" or "udp") to address through the circuit's exit.
func (c *Circuit) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	return c.mux.Dial(ctx, network, address)
}

// Len is the number of hops.
func (c *Circuit) Len() int { return len(c.hops) }

// Done is closed when the circuit fails or is closed; Err then says why.
func (c *Circuit) Done() <-chan struct{} { return c.done }

// Err is why the circuit ended, nil while it is up.
func (c *Circuit) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Close tears the circuit down; its streams get ErrCircuitClosed.
func (c *Circuit) Close() error {
	c.fail(ErrCircuitClosed)
	return nil
}
