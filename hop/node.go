package hop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/hop/stream"
)

// Logf logs a formatted line; nil is silent.
type Logf func(format string, args ...any)

// NodeConfig configures the relay and exit logic of a node.
type NodeConfig struct {
	// Address is the node's on-chain address, bound into every handshake.
	Address onion.Address
	// Key is the node's static Noise key (its public half is in the registry).
	Key onion.KeyPair
	// Exit lets the node serve streams when it is the last hop.
	Exit bool
	// Policy filters exit connections by the address actually dialled
	// (names are resolved first, with Resolve); nil means
	// DefaultExitPolicy. Whatever the policy, the exit refuses its own
	// addresses (loopback, every address of its interfaces, OwnAddrs)
	// unless a rule names them: a wildcard such as "accept *:*" does not
	// reach the exit's own services (see ExitPolicy.Names).
	Policy *ExitPolicy
	// OwnAddrs are addresses of the exit that are not on its interfaces,
	// such as the public address of a NAT in front of it; they are refused
	// like the interfaces' own.
	OwnAddrs []netip.Addr
	// Resolve resolves the names of stream destinations at the exit
	// (default the system resolver).
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
	// Stats, if set, counts what the node does (see NodeStats).
	Stats *NodeStats
	// MaxCircuits bounds the circuits open through the node; a CREATE
	// beyond it gets DESTROY with reason resource. Zero: DefaultMaxCircuits;
	// negative: no bound.
	MaxCircuits int
	// FirstCellTimeout is how long a channel a peer opened may stay
	// silent: a channel that has not sent a valid CREATE by then is
	// closed (default DefaultFirstCellTimeout).
	FirstCellTimeout time.Duration
	// MaxPendingPerLink bounds the channels of one link that have not
	// sent CREATE yet; a channel beyond it is closed at once. Zero:
	// DefaultMaxPendingPerLink; negative: no bound.
	MaxPendingPerLink int
	// MaxChannelsPerLink bounds the channels open on one link, circuits
	// and channels awaiting CREATE together; a channel beyond it is closed
	// at once. Zero: DefaultMaxChannelsPerLink; negative: no bound.
	MaxChannelsPerLink int
	// MaxLinksPerPeer bounds the links served at once from one peer
	// address (an IPv4 address, or an IPv6 /64); a link beyond it is
	// closed at once. Zero: DefaultMaxLinksPerPeer; negative: no bound.
	MaxLinksPerPeer int
	// MaxStreams bounds the streams open at once on one exit circuit
	// (default stream.DefaultMaxStreams).
	MaxStreams int
	// LookupNode returns the registry entry of the node an EXTEND names
	// (its on-chain address); ok is false when the node is not
	// registered. The node extends a circuit only to a registered node
	// whose URL and TLS pin are the ones the EXTEND gives, and refuses
	// anything else with TRUNCATED, reason unregistered, without dialling
	// it. Nil: the node extends no circuit (it can still be an entry or an
	// exit). pexia-node reads the on-chain Registry (wallet/dir).
	LookupNode func(ctx context.Context, node onion.Address) (info HopInfo, ok bool, err error)
	// DialLink opens links for EXTEND (default link.Dial with a zero DialConfig).
	DialLink func(ctx context.Context, url string, pin link.Pin) (*link.Link, error)
	// MaxOutLinks bounds the links the node keeps to next hops. When all
	// carry circuits, a further EXTEND to a new node is refused with
	// reason resource; otherwise the link idle longest is closed to make
	// room. Zero: DefaultMaxOutLinks; negative: no bound.
	MaxOutLinks int
	// OutLinkIdle is how long a link to a next hop is kept after its last
	// circuit ended (default DefaultOutLinkIdle).
	OutLinkIdle time.Duration
	// DNSServer is the resolver ("host:port") the exit forwards "dns"
	// streams to over TCP; default the first nameserver of
	// /etc/resolv.conf.
	DNSServer string
	// Dialer makes the exit's connections (default a net.Dialer with a 10 s timeout).
	Dialer func(ctx context.Context, network, address string) (net.Conn, error)
	// Payee, if set, opens a payment session for each circuit: its terms
	// go to the client in the handshake, PAY cells are credited to it, and
	// a circuit that falls behind is throttled and then dropped. Nil serves
	// for free.
	Payee func() PayeeSession
	// Observe, if set, sees every relay cell this node recognizes as its
	// own (tests use it to prove what a hop learns).
	Observe func(cmd onion.RelayCmd, payload []byte)
	// Tap, if set, wraps every circuit channel the node reads and writes,
	// towards the client and towards the next hop (tests use it to record
	// every byte a node handles).
	Tap  func(link.Channel) link.Channel
	Logf Logf
}

// Node runs the relay and exit side of circuits over the links it serves.
type Node struct {
	cfg NodeConfig

	mu       sync.Mutex
	out      map[onion.Address]*outLink // links to next hops, by node (outlinks.go); guarded by mu
	circs    map[*circuit]struct{}      // open circuits; guarded by mu
	peers    map[netip.Prefix]int       // links served per peer (limits.go); guarded by mu
	draining atomic.Bool                // Shutdown was called

	// The node owns every goroutine it starts (per link, per circuit, per
	// stream, per outgoing link): each is counted in wg, and Close ends
	// them (life ends, the served links close) and waits for them.
	life    context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup
	closing bool                    // Close was called; guarded by mu
	served  map[*link.Link]struct{} // links ServeLink serves; guarded by mu
	// unclosed are outgoing links released while Close waited; it closes
	// them last. Guarded by mu.
	unclosed []*link.Link

	bufs sync.Pool // message buffers of the circuits' cellWriters
}

// NewNode returns a node; feed it links with ServeLink.
func NewNode(cfg NodeConfig) *Node {
	if cfg.DialLink == nil {
		cfg.DialLink = func(ctx context.Context, url string, pin link.Pin) (*link.Link, error) {
			return link.Dial(ctx, url, pin, link.DialConfig{})
		}
	}
	if cfg.Dialer == nil {
		d := &net.Dialer{Timeout: 10 * time.Second}
		cfg.Dialer = d.DialContext
	}
	if cfg.Resolve == nil {
		cfg.Resolve = defaultResolve
	}
	if cfg.Policy == nil {
		cfg.Policy = DefaultExitPolicy()
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.FirstCellTimeout <= 0 {
		cfg.FirstCellTimeout = DefaultFirstCellTimeout
	}
	cfg.MaxCircuits = limit(cfg.MaxCircuits, DefaultMaxCircuits)
	cfg.MaxPendingPerLink = limit(cfg.MaxPendingPerLink, DefaultMaxPendingPerLink)
	cfg.MaxChannelsPerLink = limit(cfg.MaxChannelsPerLink, DefaultMaxChannelsPerLink)
	cfg.MaxLinksPerPeer = limit(cfg.MaxLinksPerPeer, DefaultMaxLinksPerPeer)
	cfg.MaxOutLinks = limit(cfg.MaxOutLinks, DefaultMaxOutLinks)
	if cfg.OutLinkIdle <= 0 {
		cfg.OutLinkIdle = DefaultOutLinkIdle
	}
	n := &Node{cfg: cfg, out: map[onion.Address]*outLink{}, circs: map[*circuit]struct{}{}, peers: map[netip.Prefix]int{},
		served: map[*link.Link]struct{}{}}
	n.life, n.stop = context.WithCancel(context.Background())
	return n
}

// goOwned runs f on a goroutine that Close waits for; it reports false,
// running nothing, once Close was called.
func (n *Node) goOwned(f func()) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.goOwnedLocked(f)
}

// goOwnedLocked is goOwned with n.mu held.
func (n *Node) goOwnedLocked(f func()) bool {
	if n.closing {
		return false
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
	return true
}

// bound returns ctx ended early when the node closes.
func (n *Node) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(n.life, cancel)
	return ctx, func() { stop(); cancel() }
}

// Serve accepts links from l and serves them until ctx ends or l closes.
func (n *Node) Serve(ctx context.Context, l *link.Listener) error {
	ctx, cancel := n.bound(ctx)
	defer cancel()
	for {
		lk, err := l.Accept(ctx)
		if err != nil {
			return err
		}
		if !n.goOwned(func() { n.ServeLink(ctx, lk) }) {
			lk.Close()
			return net.ErrClosed
		}
	}
}

// ServeLink serves every circuit a peer opens on lk (one data channel
// each), within the node's limits (limits.go): a link from a peer that has
// MaxLinksPerPeer links already is closed at once.
func (n *Node) ServeLink(ctx context.Context, lk *link.Link) {
	n.mu.Lock()
	if n.closing {
		n.mu.Unlock()
		lk.Close()
		return
	}
	n.served[lk] = struct{}{}
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.served, lk)
		n.mu.Unlock()
	}()
	ctx, cancel := n.bound(ctx)
	defer cancel()
	if peer, ok := peerKey(lk.RemoteAddr()); ok {
		if !n.addPeerLink(peer) {
			n.cfg.Logf("link: %d links from %v already, closing another", n.cfg.MaxLinksPerPeer, peer)
			n.cfg.Stats.linkRefused()
			lk.Close()
			return
		}
		defer n.dropPeerLink(peer)
	}
	n.cfg.Stats.linkUp()
	defer n.cfg.Stats.linkDown()
	ls := new(linkState)
	for {
		ch, err := lk.AcceptChannel(ctx)
		if err != nil {
			return
		}
		if !n.openChannel(ls) {
			n.cfg.Stats.circuitRefused(RefuseChannels)
			ch.Close()
			continue
		}
		ch = n.cfg.Stats.countChannel(ch)
		if n.cfg.Tap != nil {
			ch = n.cfg.Tap(ch)
		}
		if !n.goOwned(func() {
			defer n.closeChannel(ls)
			n.serveCircuit(ctx, ch, ls)
		}) {
			ch.Close()
			n.closeChannel(ls)
			return
		}
	}
}

// Close stops the node: it closes the links it serves and its outgoing
// links, which ends every circuit, and returns once every goroutine the
// node started has ended. ServeLink and Serve return.
func (n *Node) Close() {
	n.mu.Lock()
	n.closing = true
	served := make([]*link.Link, 0, len(n.served))
	for lk := range n.served {
		served = append(served, lk)
	}
	n.mu.Unlock()
	n.stop()
	for _, lk := range served {
		lk.Close()
	}
	for _, lk := range n.closeOutLinks() {
		lk.Close()
	}
	for _, c := range n.circuits() {
		c.close(onion.ReasonFinished)
	}
	n.wg.Wait()
	n.mu.Lock()
	rest := n.unclosed
	n.unclosed = nil
	n.mu.Unlock()
	for _, lk := range rest {
		lk.Close()
	}
}

// circuit is one circuit through this node.
type circuit struct {
	n        *Node
	prev     link.Channel
	cellSize int
	hs       *onion.HopState

	bmu   sync.Mutex  // orders backward cells: Backward/Originate and the write to prev
	prevW *cellWriter // to prev; guarded by bmu
	nextW *cellWriter // to next; used by serveCircuit's goroutine

	pay  PayeeSession // nil for a free node
	next link.Channel // set once after EXTEND
	out  *outLink     // the link next is on; released when the circuit closes
	mux  *stream.Mux
	done chan struct{}
	once sync.Once

	// Constant-rate cells towards the client, when the client asked.
	bpad     atomic.Pointer[padder]
	bpadOnce sync.Once

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
	c.prevW = newCellWriter(prev, m, &n.bufs)
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
	resp, _, err := onion.NodeHandshake(n.cfg.Address, n.cfg.Key, m, cr.Handshake)
	if err != nil {
		n.cfg.Logf("circuit: handshake: %v", err)
		return
	}
	var terms []byte
	if n.cfg.Payee != nil {
		c.pay = n.cfg.Payee()
		terms = c.pay.Terms().encode()
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
	// A message holds one or more cells; what goes on to the next hop is
	// written as the message is used up (docs/PROTOCOL.md 2.3). The
	// message buffer is the circuit's, allocated now it exists.
	rd := newCellReader(prev, m, make([]byte, link.MaxMessageSize))
	rd.idle = c.flushNext
	for {
		raw, err := rd.next()
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
			out, err := c.nextW.next(circID, cell.Cmd)
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
		paid, err := onion.Paid{Receipt: encodeCommit(next)}.Encode()
		if err != nil {
			return err
		}
		return c.originate(circID, onion.RelayPaid, paid)
	case onion.RelayPadding:
		// The last hop pads towards the client when asked to.
		if rate, ok := decodePaddingRequest(payload); ok && c.next == nil {
			c.startBackwardPadding(circID, rate)
		}
		return nil
	case onion.RelayPing:
		if len(payload) > onion.MaxPingPayload {
			return fmt.Errorf("PING of %d bytes", len(payload))
		}
		return c.originate(circID, onion.RelayPong, payload)
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
	out := make([]byte, c.cellSize)
	onion.PutHeader(out, circID, onion.LinkCreate)
	copy(out[onion.HeaderLen:], body)
	if _, err := ch.Write(out); err != nil {
		ch.Close()
		return c.originate(circID, onion.RelayTruncated, onion.EncodeReason(onion.ReasonConnectFailed))
	}
	rd := newCellReader(ch, c.cellSize, make([]byte, link.MaxMessageSize))
	raw, err := rd.next()
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
	c.nextW = newCellWriter(ch, c.cellSize, &c.n.bufs)
	c.next = ch
	c.out, kept = o, true // released by close
	c.hs.SetNext(true)
	c.setRole(RoleRelay)
	c.n.cfg.Stats.extended(time.Since(start))
	rd.idle = c.flushPrev
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
func (c *circuit) backward(circID uint32, rd *cellReader) {
	defer c.close(onion.ReasonDestroyed)
	defer c.end(CauseNextClosed)
	for {
		raw, err := rd.next()
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
			out, err = c.prevW.next(circID, onion.LinkRelay)
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
	if p := c.bpad.Load(); p != nil && !p.take(c.done) {
		return ErrCircuitClosed
	}
	if cmd == onion.RelayData && c.pay != nil {
		c.throttle()
	}
	c.bmu.Lock()
	defer c.bmu.Unlock()
	out, err := c.prevW.next(circID, onion.LinkRelay)
	if err != nil {
		return err
	}
	if err := c.hs.OriginateInto(out[onion.HeaderLen:], cmd, payload); err != nil {
		c.prevW.undo()
		return err
	}
	if c.pay != nil {
		c.pay.Carry(len(out))
	}
	if cmd == onion.RelayData && c.bpad.Load() == nil {
		// The exit's stream layer flushes after a run (flushPrev);
		// constant-rate cells leave one by one, each in its slot.
		return nil
	}
	return c.prevW.flush()
}

// flushPrev writes the cells gathered for the previous hop.
func (c *circuit) flushPrev() error {
	c.bmu.Lock()
	defer c.bmu.Unlock()
	return c.prevW.flush()
}

// flushNext writes the cells gathered for the next hop; only the goroutine
// reading from prev calls it.
func (c *circuit) flushNext() error {
	if c.nextW == nil {
		return nil
	}
	if err := c.nextW.flush(); err != nil {
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
	out, err := c.prevW.next(circID, cmd)
	if err != nil {
		return err
	}
	copy(out[onion.HeaderLen:], body)
	return c.prevW.flush()
}

func (c *circuit) close(reason onion.Reason) {
	c.once.Do(func() {
		close(c.done)
		c.n.closed(c)
		if c.mux != nil {
			c.mux.Close(errors.New("circuit closed"))
		}
		if c.next != nil {
			if body, err := (onion.Destroy{Reason: reason}).Encode(c.cellSize); err == nil {
				out := make([]byte, c.cellSize)
				onion.PutHeader(out, c.id, onion.LinkDestroy) // next uses the same circuit ID
				copy(out[onion.HeaderLen:], body)
				c.next.Write(out)
			}
			c.next.Close()
		}
		if c.out != nil {
			c.n.releaseLink(c.out)
		}
		c.prev.Close()
	})
}

// startExit makes this hop the circuit's exit: a stream mux whose frames
// ride in DATA cells to and from the client.
func (c *circuit) startExit(ctx context.Context, circID uint32) error {
	mux, err := stream.New(stream.Config{Role: stream.RoleServer, MaxFrame: c.hs.MaxPayload(), MaxStreams: c.n.cfg.MaxStreams, Flush: c.flushPrev}, func(frame []byte) error {
		return c.originate(circID, onion.RelayData, frame)
	})
	if err != nil {
		return err
	}
	c.mux = mux
	c.setRole(RoleExit)
	c.n.goOwned(func() {
		for {
			req, err := mux.Accept(ctx)
			if err != nil {
				return
			}
			c.streams.Add(1)
			if !c.n.goOwned(func() {
				defer c.streams.Add(-1)
				c.n.exit(ctx, req)
			}) {
				c.streams.Add(-1)
				req.Refuse(stream.ReasonResources)
				return
			}
		}
	})
	return nil
}

// exit connects one stream to its destination and splices them.
func (n *Node) exit(ctx context.Context, req *stream.Request) {
	network := req.Network
	if n.draining.Load() {
		n.refuse(req, stream.ReasonResources)
		return
	}
	if network == "dns" {
		n.exitDNS(ctx, req)
		return
	}
	if network != "tcp" && network != "udp" {
		n.refuse(req, stream.ReasonUnsupported)
		return
	}
	host, portStr, err := net.SplitHostPort(req.Address)
	port, perr := strconv.Atoi(portStr)
	if err != nil || perr != nil || port <= 0 || port > 65535 {
		n.refuse(req, stream.ReasonPolicy)
		return
	}
	// The dial ends early if the client withdraws the request.
	dctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(req.Context(), cancel)
	dst, reason := n.dialExit(dctx, network, host, uint16(port))
	stop()
	cancel()
	if dst == nil {
		n.refuse(req, reason)
		return
	}
	src, err := req.Accept()
	if err != nil {
		dst.Close()
		return
	}
	n.cfg.Stats.streamOpened()
	defer n.cfg.Stats.streamClosed()
	splice(ctx, src, dst)
}

// refuse refuses a stream and counts why.
func (n *Node) refuse(req *stream.Request, reason stream.Reason) {
	n.cfg.Stats.streamRefused(reason)
	req.Refuse(reason)
}

// splice copies both ways, passing half-closes on, until both directions
// end or ctx (the circuit's) does.
func splice(ctx context.Context, a, b net.Conn) {
	stop := context.AfterFunc(ctx, func() {
		a.Close()
		b.Close()
	})
	defer stop()
	var wg sync.WaitGroup
	cp := func(dst, src net.Conn) {
		defer wg.Done()
		io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		} else {
			dst.Close()
		}
	}
	wg.Add(2)
	go cp(a, b)
	go cp(b, a)
	wg.Wait()
	a.Close()
	b.Close()
}

// exitDNS resolves names at the exit: a "dns" stream carries DNS messages
// with the 2-byte length prefix of DNS over TCP, so it is spliced to the
// exit's resolver over TCP as it is. The stream's address is ignored: the
// client never chooses the exit's resolver.
func (n *Node) exitDNS(ctx context.Context, req *stream.Request) {
	server := n.cfg.DNSServer
	if server == "" {
		server = systemResolver()
	}
	if server == "" {
		n.refuse(req, stream.ReasonDNS)
		return
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	dst, err := n.cfg.Dialer(dctx, "tcp", server)
	cancel()
	if err != nil {
		n.refuse(req, stream.ReasonDNS)
		return
	}
	src, err := req.Accept()
	if err != nil {
		dst.Close()
		return
	}
	n.cfg.Stats.streamOpened()
	defer n.cfg.Stats.streamClosed()
	splice(ctx, src, dst)
}

// systemResolver returns the first nameserver of /etc/resolv.conf as host:53.
func systemResolver() string {
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			return net.JoinHostPort(f[1], "53")
		}
	}
	return ""
}
