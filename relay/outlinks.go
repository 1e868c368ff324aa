package relay

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/hop/wire"
)

// Links to next hops.
//
// A relay extends circuits only to registered nodes (NodeConfig.LookupNode),
// so a client cannot make it dial an address of its choosing: not its
// loopback, not a private network, not a port it wants probed. The
// registry entry, not the EXTEND, is what the relay trusts: the EXTEND's
// URL and certificate pin must equal the entry's, and the node is dialled
// at that URL with that pin. The Noise key stays between the client and
// the next hop (the relay cannot see which key the client's handshake
// used); a client that names the wrong key only fails its own handshake.
//
// Outgoing links are kept per node identity (on-chain address) and
// shared by every circuit to that node. There are at most MaxOutLinks; each
// counts the circuits it carries (and the EXTENDs waiting for it), and is
// closed OutLinkIdle after its last circuit ended. When the table is full
// the link idle longest is closed to make room; if every link is busy the
// EXTEND is refused with reason resource.
//
// relay does not import wallet: LookupNode is a function the node's owner
// supplies (pexia-node reads the Registry contract through wallet/dir),
// the same way payments cross the boundary through Payee.

// Defaults for outgoing links (NodeConfig).
const (
	DefaultMaxOutLinks = 256
	DefaultOutLinkIdle = time.Minute
)

// errOutLinksFull is returned by acquireLink when every outgoing link
// carries circuits.
var errOutLinksFull = errors.New("relay: every outgoing link is busy")

// outLink is a link to a next hop; its fields other than those set at
// creation are guarded by Node.mu.
type outLink struct {
	node  onion.Address
	url   string
	pin   link.Pin
	ready chan struct{} // closed when the dial has finished
	lk    *link.Link    // set before ready closes; nil if the dial failed
	err   error         // set before ready closes

	users    int         // circuits and EXTENDs using the link
	idleFrom time.Time   // when users fell to zero
	idle     *time.Timer // closes the link OutLinkIdle after users fell to zero
	gone     bool        // removed from Node.out
}

// dead reports whether the link cannot carry more circuits; n.mu held.
func (o *outLink) dead() bool {
	select {
	case <-o.ready:
	default:
		return false
	}
	if o.lk == nil {
		return true
	}
	select {
	case <-o.lk.Done():
		return true
	default:
		return false
	}
}

// acquireLink returns a link to the registered node info, dialling one if
// there is none, and counts a user of it; the caller calls releaseLink
// when the circuit is done with it.
func (n *Node) acquireLink(ctx context.Context, info wire.HopInfo) (*outLink, error) {
	n.mu.Lock()
	o := n.out[info.Address]
	if o != nil && (o.url != info.URL || o.pin != info.Pin || o.dead()) {
		n.removeLinkLocked(o)
		o = nil
	}
	if o == nil {
		if max := n.cfg.MaxOutLinks; max > 0 && len(n.out) >= max && !n.evictLocked() {
			n.mu.Unlock()
			return nil, errOutLinksFull
		}
		o = &outLink{node: info.Address, url: info.URL, pin: info.Pin, ready: make(chan struct{})}
		n.out[info.Address] = o
		o.users++
		n.mu.Unlock()
		lk, err := n.cfg.DialLink(ctx, info.URL, info.Pin)
		n.mu.Lock()
		o.lk, o.err = lk, err
		close(o.ready)
		if err != nil {
			n.removeLinkLocked(o)
		}
		n.mu.Unlock()
		if err != nil {
			n.releaseLink(o)
			return nil, err
		}
		n.cfg.Stats.linkUp()
		if !n.goOwned(func() {
			select {
			case <-lk.Done():
			case <-n.life.Done(): // Close closes the link
			}
			n.cfg.Stats.linkDown()
			n.mu.Lock()
			n.removeLinkLocked(o)
			n.mu.Unlock()
		}) {
			n.cfg.Stats.linkDown()
			lk.Close()
			n.releaseLink(o)
			return nil, net.ErrClosed
		}
		return o, nil
	}
	o.users++
	if o.idle != nil {
		o.idle.Stop()
		o.idle = nil
	}
	n.mu.Unlock()
	select {
	case <-o.ready:
	case <-ctx.Done():
		n.releaseLink(o)
		return nil, ctx.Err()
	}
	if o.err != nil {
		n.releaseLink(o)
		return nil, o.err
	}
	return o, nil
}

// releaseLink counts a user of o gone. A link without users is closed
// after OutLinkIdle, or at once if it was removed from the table.
func (n *Node) releaseLink(o *outLink) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if o.users--; o.users > 0 {
		return
	}
	if o.gone {
		n.closeOutLinkLocked(o)
		return
	}
	o.idleFrom = time.Now()
	o.idle = time.AfterFunc(n.cfg.OutLinkIdle, func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		if o.users == 0 && !o.gone {
			n.removeLinkLocked(o)
		}
	})
}

// evictLocked closes the link idle longest to make room; it reports
// whether there was one. n.mu held.
func (n *Node) evictLocked() bool {
	var oldest *outLink
	for _, o := range n.out {
		if o.users == 0 && (oldest == nil || o.idleFrom.Before(oldest.idleFrom)) {
			oldest = o
		}
	}
	if oldest == nil {
		return false
	}
	n.removeLinkLocked(oldest)
	return true
}

// removeLinkLocked takes o out of the table and closes it if no circuit
// uses it; otherwise its last user's releaseLink does. n.mu held.
func (n *Node) removeLinkLocked(o *outLink) {
	if o.gone {
		return
	}
	o.gone = true
	if n.out[o.node] == o {
		delete(n.out, o.node)
	}
	if o.idle != nil {
		o.idle.Stop()
		o.idle = nil
	}
	if o.users == 0 {
		n.closeOutLinkLocked(o)
	}
}

// closeOutLinkLocked closes o's link, if the dial made one, without
// waiting for its teardown; n.mu is held.
func (n *Node) closeOutLinkLocked(o *outLink) {
	if o.lk == nil {
		return
	}
	if !n.goOwnedLocked(func() { o.lk.Close() }) {
		n.unclosed = append(n.unclosed, o.lk) // Close closes it
	}
}

// closeOutLinks closes every outgoing link (Node.Close).
func (n *Node) closeOutLinks() []*link.Link {
	n.mu.Lock()
	defer n.mu.Unlock()
	var lks []*link.Link
	for _, o := range n.out {
		o.gone = true
		delete(n.out, o.node)
		if o.idle != nil {
			o.idle.Stop()
			o.idle = nil
		}
		select {
		case <-o.ready:
			if o.lk != nil {
				lks = append(lks, o.lk)
			}
		default:
		}
	}
	return lks
}

// lookupNext checks the node an EXTEND names against the registry and
// returns its entry, or the reason to refuse the EXTEND with.
func (n *Node) lookupNext(ctx context.Context, node onion.Address, url string, pin link.Pin) (wire.HopInfo, onion.Reason) {
	if n.cfg.LookupNode == nil {
		n.cfg.Logf("circuit: EXTEND refused: this node has no registry to check next hops against")
		return wire.HopInfo{}, onion.ReasonUnregistered
	}
	info, ok, err := n.cfg.LookupNode(ctx, node)
	switch {
	case err != nil:
		n.cfg.Logf("circuit: EXTEND: registry: %v", err)
		return wire.HopInfo{}, onion.ReasonInternal
	case !ok, info.Address != node, info.URL != url, info.Pin != pin:
		// Not logged with the URL: the node keeps no record of where
		// circuits go.
		return wire.HopInfo{}, onion.ReasonUnregistered
	}
	return info, onion.ReasonNone
}
