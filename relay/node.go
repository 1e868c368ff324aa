package relay

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/hop/wire"
	"github.com/pexia-network/pexia/internal/logger"
)

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
	LookupNode func(ctx context.Context, node onion.Address) (info wire.HopInfo, ok bool, err error)
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
	// ListenICMP opens the unprivileged ping socket ("udp4" or "udp6"
	// ICMP, as golang.org/x/net/icmp.ListenPacket opens it) an "icmp"
	// stream's echo requests leave from, one per stream. The default,
	// ListenPing, opens one in the node's network namespace; the kernel allows it only if
	// net.ipv4.ping_group_range (which covers IPv6 too) contains the
	// node's group, and otherwise the error wraps ErrPingNotPermitted
	// (logged once) and icmp streams are refused as unsupported.
	ListenICMP func(network string) (net.PacketConn, error)
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
	Tap func(link.Channel) link.Channel
	// Logf logs a formatted line; nil is silent.
	Logf logger.Logf
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

	pingErrOnce sync.Once // the first failure to open a ping socket is logged
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
	if cfg.ListenICMP == nil {
		cfg.ListenICMP = ListenPing
	}
	if cfg.Policy == nil {
		cfg.Policy = DefaultExitPolicy()
	}
	cfg.Logf = logger.OrDiscard(cfg.Logf)
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
	ls := &linkState{lk: lk}
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
