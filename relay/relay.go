package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/hop/stream"
	"github.com/pexia-network/pexia/hop/wire"
)

// Relaying: a circuit through this node, from the CREATE that opens it to
// its teardown. The node answers CREATE with its half of the handshake,
// takes its own layer off each forward cell, passes on the cells that are
// not for it (to the next hop, after EXTEND) and adds its layer to those
// coming back. The cells that are for it are EXTEND, PAY, PADDING, PING,
// SENDME and END; DATA makes it the circuit's exit (exit.go).

// circuit is one circuit through this node.
type circuit struct {
	n        *Node
	prev     link.Channel
	cellSize int
	hs       *onion.HopState

	bmu   sync.Mutex       // orders backward cells: Backward/Originate and the write to prev
	prevW *wire.CellWriter // to prev; guarded by bmu
	nextW *wire.CellWriter // to next; used by serveCircuit's goroutine

	pay PayeeSession // nil for a free node

	// omu guards next, nextID, out, mux and closing between the goroutine
	// that serves the circuit (the only one that sets them) and close,
	// which may run on another (Node.Close, the backward goroutine).
	omu     sync.Mutex
	closing bool

	next link.Channel // set once after EXTEND
	// nextID is the circuit's ID on the link to the next hop, a fresh one
	// (so relays on a path see unrelated IDs); set with next.
	nextID uint32
	out    *outLink // the link next is on; released when the circuit closes
	mux    *stream.Mux
	done   chan struct{}
	once   sync.Once

	// The send window towards the client (window.go).
	down downWindow

	// Constant-rate cells towards the client, when the client asked.
	bpad     atomic.Pointer[wire.Padder]
	bpadOnce sync.Once

	// The datagram lane (lane.go): set when the client asked for it and
	// the link from prev has one; the links' lane goroutines read the
	// pointers.
	prevLk *link.Link
	lane   bool
	// pack: the client asked for DATAGRAMS frames (wire.FeaturePack); set
	// before the circuit can become an exit.
	pack     bool
	laneNext atomic.Pointer[link.Link] // next's link, once extended, if it has a lane
	laneMux  atomic.Pointer[stream.Mux]
	quiet    stream.QuietFlows // the exit's flows on the lane

	// For statistics and Shutdown (shutdown.go).
	id       uint32        // circuit ID towards prev
	live     atomic.Bool   // CREATED was sent
	refused  bool          // refused by admit; set before any other goroutine sees c
	timedOut bool          // sent no first cell in time; set like refused
	role     atomic.Uint32 // CircuitRole
	cause    atomic.Uint32 // DestroyCause+1, once known
	cells    atomic.Uint64 // cells read from either side
	streams  atomic.Int32  // exit streams being served
	stopping atomic.Bool   // Shutdown destroyed it
}

// serveCircuit serves the circuit a peer opened channel prev for. Until
// its first cell has been read, the channel holds one cell-sized buffer
// and counts as pending on its link (ls).
func (n *Node) serveCircuit(ctx context.Context, prev link.Channel, ls *linkState) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := &circuit{n: n, prev: prev, done: make(chan struct{})}
	defer c.close(onion.ReasonFinished)
	first := make([]byte, onion.MaxCellSize)
	m, ok := n.readFirstCell(prev, first)
	n.firstCellDone(ls)
	if !ok {
		c.timedOut = m < 0
		return
	}
	cell, err := onion.DecodeCell(first[:m])
	if err != nil || cell.Cmd != onion.LinkCreate {
		n.cfg.Logf("circuit: first cell is not CREATE (%v)", err)
		return
	}
	c.cellSize = m
	c.prevW = wire.NewCellWriter(prev, m, &n.bufs)
	c.down.init(m)
	c.id = cell.CircID
	start := time.Now()
	if !n.admit(c) {
		c.destroyPrev(cell.CircID, onion.ReasonResource)
		return
	}
	cr, err := onion.DecodeCreate(cell.Body)
	if err != nil {
		return
	}
	resp, hello, err := onion.NodeHandshake(n.cfg.Address, n.cfg.Key, m, cr.Handshake)
	if err != nil {
		n.cfg.Logf("circuit: handshake: %v", err)
		return
	}
	var terms []byte
	if n.cfg.Payee != nil {
		c.pay = n.cfg.Payee()
		terms = c.pay.Terms().Encode()
	}
	if want, asked := wire.HelloFeatures(hello); asked {
		var grant byte
		if want&wire.FeatureLane != 0 && ls.lk != nil && ls.lk.HasLane() {
			grant |= wire.FeatureLane
		}
		if want&wire.FeaturePack != 0 {
			grant |= wire.FeaturePack
		}
		terms = wire.AppendFeatures(terms, grant)
		c.lane = grant&wire.FeatureLane != 0
		c.pack = grant&wire.FeaturePack != 0
	}
	reply, hs, err := resp.Reply(terms)
	if err != nil {
		return
	}
	c.hs = hs
	body, err := onion.Created{Handshake: reply}.Encode(m)
	if err != nil {
		return
	}
	if err := c.writePrev(cell.CircID, onion.LinkCreated, body); err != nil {
		return
	}
	c.live.Store(true)
	n.cfg.Stats.circuitCreated(time.Since(start))
	circID := cell.CircID
	if c.lane && !c.startLane(ls.lk) {
		return // the peer reused a circuit ID on the link
	}
	// A message holds one or more cells; what goes on to the next hop is
	// written as the message is used up (docs/PROTOCOL.md 2.3). The
	// message buffer is the circuit's, allocated now it exists.
	rd := wire.NewCellReader(prev, m, make([]byte, link.MaxMessageSize))
	rd.Idle = c.flushNext
	for {
		raw, err := rd.Next()
		if err != nil {
			if errors.Is(err, onion.ErrMalformed) {
				n.cfg.Logf("circuit: %v", err)
				c.malformed()
			}
			return
		}
		c.cells.Add(1)
		m := len(raw)
		cell, err := onion.DecodeCell(raw)
		if err != nil {
			c.malformed()
			return
		}
		switch cell.Cmd {
		case onion.LinkPadding:
			n.cfg.Stats.cellDropped()
			continue
		case onion.LinkDestroy:
			return
		case onion.LinkRelay, onion.LinkRelayEarly:
		default:
			c.malformed()
			return
		}
		if c.pay != nil {
			c.pay.Carry(m)
			switch c.pay.State() {
			case MeterThrottle:
				time.Sleep(throttleDelay)
			case MeterDrop:
				n.cfg.Logf("circuit: dropped for lack of payment")
				c.end(CauseUnpaid)
				c.destroyPrev(circID, onion.ReasonUnpaid)
				return
			}
		}
		mine, cmd, payload, next, err := c.hs.Forward(cell.Body)
		if err != nil {
			n.cfg.Logf("circuit: %v", err)
			c.malformed()
			return
		}
		if !mine {
			if c.next == nil {
				c.malformed()
				return
			}
			out, err := c.nextW.Next(c.nextID, cell.Cmd)
			if err != nil {
				c.end(CauseNextClosed)
				return
			}
			copy(out[onion.HeaderLen:], next)
			continue
		}
		if err := c.flushNext(); err != nil {
			return
		}
		if n.cfg.Observe != nil {
			n.cfg.Observe(cmd, payload)
		}
		if err := c.handle(ctx, circID, cell.Cmd, cmd, payload); err != nil {
			if err == io.EOF {
				c.end(CauseFinished)
			} else {
				c.end(CauseMalformed)
			}
			n.cfg.Logf("circuit: %v: %v", cmd, err)
			return
		}
	}
}

func (c *circuit) handle(ctx context.Context, circID uint32, lc onion.LinkCmd, cmd onion.RelayCmd, payload []byte) error {
	switch cmd {
	case onion.RelayExtend:
		if lc != onion.LinkRelayEarly {
			return errors.New("EXTEND outside RELAY_EARLY")
		}
		if c.next != nil || c.mux != nil {
			return errors.New("circuit already extended or carrying streams")
		}
		ext, err := onion.DecodeExtend(payload)
		if err != nil {
			return err
		}
		return c.extend(ctx, circID, ext)
	case onion.RelayData:
		if !c.n.cfg.Exit {
			return errors.New("DATA at a node that is not an exit")
		}
		if c.next != nil {
			return errors.New("DATA for a middle hop")
		}
		if c.mux == nil {
			if err := c.startExit(ctx, circID); err != nil {
				return err
			}
		}
		return c.mux.Deliver(payload)
	case onion.RelayPay:
		if c.pay == nil {
			return nil // a free node ignores payments
		}
		p, err := onion.DecodePay(payload)
		if err != nil {
			return err
		}
		next, err := c.pay.Accept(ctx, p.Ticket)
		if err != nil {
			// A bad payment earns nothing; the meter drops the circuit if
			// good ones do not follow.
			c.n.cfg.Logf("circuit: payment refused: %v", err)
		}
		paid, err := onion.Paid{Receipt: wire.EncodeCommit(next)}.Encode()
		if err != nil {
			return err
		}
		return c.originate(circID, onion.RelayPaid, paid)
	case onion.RelayPadding:
		// The last hop pads towards the client when asked to.
		if rate, ok := wire.DecodePaddingRequest(payload); ok && c.next == nil {
			c.startBackwardPadding(circID, rate)
		}
		return nil
	case onion.RelayPing:
		if len(payload) > onion.MaxPingPayload {
			return fmt.Errorf("PING of %d bytes", len(payload))
		}
		return c.originate(circID, onion.RelayPong, payload)
	case onion.RelaySendme:
		s, err := onion.DecodeSendme(payload)
		if err != nil {
			return err
		}
		c.down.sendme(s.Digest, s.Arrived)
		return nil
	case onion.RelayEnd:
		return io.EOF
	}
	return fmt.Errorf("unexpected relay command %v", cmd)
}

// extend dials the next node, creates the circuit there with the client's
// handshake, and answers EXTENDED with its reply. Cells from next are
// passed back, with this hop's layer added, by a goroutine.
func (c *circuit) extend(ctx context.Context, circID uint32, ext onion.Extend) error {
	var pin link.Pin
	if len(ext.Fingerprint) != len(pin) {
		return fmt.Errorf("EXTEND fingerprint of %d bytes", len(ext.Fingerprint))
	}
	copy(pin[:], ext.Fingerprint)
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	info, reason := c.n.lookupNext(dctx, ext.Node, ext.URL, pin)
	if reason != onion.ReasonNone {
		return c.originate(circID, onion.RelayTruncated, onion.EncodeReason(reason))
	}
	o, err := c.n.acquireLink(dctx, info)
	if errors.Is(err, errOutLinksFull) {
		c.n.cfg.Logf("circuit: %v", err)
		return c.originate(circID, onion.RelayTruncated, onion.EncodeReason(onion.ReasonResource))
	}
	if err != nil {
		return c.originate(circID, onion.RelayTruncated, onion.EncodeReason(onion.ReasonConnectFailed))
	}
	kept := false
	defer func() {
		if !kept {
			c.n.releaseLink(o)
		}
	}()
	ch, err := o.lk.Open(dctx, "c")
	if err != nil {
		return c.originate(circID, onion.RelayTruncated, onion.EncodeReason(onion.ReasonConnectFailed))
	}
	ch = c.n.cfg.Stats.countChannel(ch)
	if c.n.cfg.Tap != nil {
		ch = c.n.cfg.Tap(ch)
	}
	body, err := onion.Create{HType: ext.HType, Handshake: ext.Handshake}.Encode(c.cellSize)
	if err != nil {
		ch.Close()
		return err
	}
	nextID, ok := c.pickNextID(o.lk)
	if !ok {
		ch.Close()
		return c.originate(circID, onion.RelayTruncated, onion.EncodeReason(onion.ReasonResource))
	}
	laneKept := false
	defer func() {
		if !laneKept && c.lane {
			o.lk.HandleLane(nextID, nil)
		}
	}()
	out := make([]byte, c.cellSize)
	onion.PutHeader(out, nextID, onion.LinkCreate)
	copy(out[onion.HeaderLen:], body)
	if _, err := ch.Write(out); err != nil {
		ch.Close()
		return c.originate(circID, onion.RelayTruncated, onion.EncodeReason(onion.ReasonConnectFailed))
	}
	rd := wire.NewCellReader(ch, c.cellSize, make([]byte, link.MaxMessageSize))
	raw, err := rd.Next()
	if err != nil {
		ch.Close()
		return c.originate(circID, onion.RelayTruncated, onion.EncodeReason(onion.ReasonConnectFailed))
	}
	cell, err := onion.DecodeCell(raw)
	if err != nil || cell.Cmd != onion.LinkCreated {
		ch.Close()
		return c.originate(circID, onion.RelayTruncated, onion.EncodeReason(onion.ReasonProtocol))
	}
	created, err := onion.DecodeCreated(cell.Body)
	if err != nil {
		ch.Close()
		return err
	}
	c.omu.Lock()
	if c.closing {
		c.omu.Unlock()
		ch.Close()
		return net.ErrClosed
	}
	c.nextW = wire.NewCellWriter(ch, c.cellSize, &c.n.bufs)
	c.next, c.nextID = ch, nextID
	c.out, kept = o, true // released by close
	c.omu.Unlock()
	laneKept = true // removed by close
	if c.lane && o.lk.HasLane() {
		c.laneNext.Store(o.lk)
	}
	c.hs.SetNext(true)
	c.setRole(RoleRelay)
	c.n.cfg.Stats.extended(time.Since(start))
	rd.Idle = c.flushPrev
	if !c.n.goOwned(func() { c.backward(circID, rd) }) {
		return net.ErrClosed // c.close closes next
	}
	p, err := onion.Extended{Handshake: created.Handshake}.Encode()
	if err != nil {
		return err
	}
	return c.originate(circID, onion.RelayExtended, p)
}

// backward relays cells from the next hop towards the client; rd passes
// on the cells of each message from next as one message.
func (c *circuit) backward(circID uint32, rd *wire.CellReader) {
	defer c.close(onion.ReasonDestroyed)
	defer c.end(CauseNextClosed)
	for {
		raw, err := rd.Next()
		if err != nil {
			return
		}
		c.cells.Add(1)
		m := len(raw)
		cell, err := onion.DecodeCell(raw)
		if err != nil {
			return
		}
		switch cell.Cmd {
		case onion.LinkRelay:
		case onion.LinkDestroy:
			return
		default:
			c.n.cfg.Stats.cellDropped()
			continue
		}
		if c.pay != nil {
			c.pay.Carry(m)
			c.throttle()
		}
		c.bmu.Lock()
		body, err := c.hs.Backward(cell.Body)
		var out []byte
		if err == nil {
			out, err = c.prevW.Next(circID, onion.LinkRelay)
		}
		if err == nil {
			copy(out[onion.HeaderLen:], body)
		}
		c.bmu.Unlock()
		if err != nil {
			return
		}
	}
}

func (c *circuit) originate(circID uint32, cmd onion.RelayCmd, payload []byte) error {
	if p := c.bpad.Load(); p != nil && !p.Take(c.done) {
		return errCircuitClosed
	}
	if cmd == onion.RelayData && c.pay != nil {
		c.throttle()
	}
	c.bmu.Lock()
	defer c.bmu.Unlock()
	out, err := c.prevW.Next(circID, onion.LinkRelay)
	if err != nil {
		return err
	}
	if err := c.hs.OriginateInto(out[onion.HeaderLen:], cmd, payload); err != nil {
		c.prevW.Undo()
		return err
	}
	c.down.originated(c.hs.SentDigest())
	if c.pay != nil {
		c.pay.Carry(len(out))
	}
	if cmd == onion.RelayData && c.bpad.Load() == nil {
		// The exit's stream layer flushes after a run (flushPrev);
		// constant-rate cells leave one by one, each in its slot.
		return nil
	}
	return c.prevW.Flush()
}

// flushPrev writes the cells gathered for the previous hop.
func (c *circuit) flushPrev() error {
	c.bmu.Lock()
	defer c.bmu.Unlock()
	return c.prevW.Flush()
}

// flushNext writes the cells gathered for the next hop; only the goroutine
// reading from prev calls it.
func (c *circuit) flushNext() error {
	if c.nextW == nil {
		return nil
	}
	if err := c.nextW.Flush(); err != nil {
		c.end(CauseNextClosed)
		return err
	}
	return nil
}

// throttleDelay is the pause per cell of a circuit behind on payment.
const throttleDelay = 20 * time.Millisecond

// throttle pauses a cell towards the client while the circuit is behind on
// payment, so downloads slow down as well as uploads. Payment replies are
// never held back: they are how the client catches up.
func (c *circuit) throttle() {
	if c.pay.State() == MeterThrottle {
		select {
		case <-time.After(throttleDelay):
		case <-c.done:
		}
	}
}

// destroyPrev tells the previous hop the circuit is gone, and why.
func (c *circuit) destroyPrev(circID uint32, reason onion.Reason) {
	body, err := onion.Destroy{Reason: reason}.Encode(c.cellSize)
	if err != nil {
		return
	}
	c.writePrev(circID, onion.LinkDestroy, body)
}

func (c *circuit) writePrev(circID uint32, cmd onion.LinkCmd, body []byte) error {
	c.bmu.Lock()
	defer c.bmu.Unlock()
	return c.writePrevLocked(circID, cmd, body)
}

// writePrevLocked writes a cell to prev at once, behind the cells gathered
// before it.
func (c *circuit) writePrevLocked(circID uint32, cmd onion.LinkCmd, body []byte) error {
	out, err := c.prevW.Next(circID, cmd)
	if err != nil {
		return err
	}
	copy(out[onion.HeaderLen:], body)
	return c.prevW.Flush()
}

func (c *circuit) close(reason onion.Reason) {
	c.once.Do(func() {
		close(c.done)
		c.n.closed(c)
		c.omu.Lock()
		c.closing = true
		mux, next, nextID, o := c.mux, c.next, c.nextID, c.out
		c.omu.Unlock()
		if mux != nil {
			mux.Close(errors.New("circuit closed"))
		}
		if next != nil {
			if body, err := (onion.Destroy{Reason: reason}).Encode(c.cellSize); err == nil {
				out := make([]byte, c.cellSize)
				onion.PutHeader(out, nextID, onion.LinkDestroy)
				copy(out[onion.HeaderLen:], body)
				next.Write(out)
			}
			next.Close()
		}
		c.stopLane(o, nextID)
		if o != nil {
			c.n.releaseLink(o)
		}
		c.prev.Close()
	})
}

// errCircuitClosed is returned when a cell waits for a padding slot and
// the circuit closes first.
var errCircuitClosed = errors.New("relay: circuit closed")

// startBackwardPadding turns on constant-rate cells from this exit towards
// the client, at the client's request.
func (c *circuit) startBackwardPadding(circID uint32, rate int) {
	c.bpadOnce.Do(func() {
		p := wire.NewPadder(rate, func() error {
			return c.originate(circID, onion.RelayPadding, nil)
		})
		c.bpad.Store(p)
		c.n.goOwned(func() { p.Run(c.done) })
	})
}
