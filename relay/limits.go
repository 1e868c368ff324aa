package relay

import (
	"net"
	"net/netip"
	"time"

	"github.com/pexia-network/pexia/hop/link"
)

// Resource limits.
//
// Everything a peer can make a node hold is bounded, and nothing is held
// for a peer that has not proved it is building a circuit:
//
//   - links: at most MaxLinksPerPeer at once from one address (an IPv4
//     address, or an IPv6 /64, the block one subscriber usually gets);
//   - channels: at most MaxChannelsPerLink open on one link, of which at
//     most MaxPendingPerLink may still wait for their first cell;
//   - a channel waiting for its first cell holds a goroutine and one
//     cell-sized buffer (not a message buffer), and is closed when no
//     valid CREATE came within FirstCellTimeout;
//   - circuits: at most MaxCircuits in all, and the message buffers of a
//     circuit are allocated only once its CREATE is valid and admitted.
//
// With the defaults one address can make a node hold at most
// DefaultMaxLinksPerPeer × DefaultMaxPendingPerLink silent channels, each
// for DefaultFirstCellTimeout.

// Default limits of a node (NodeConfig).
const (
	DefaultMaxCircuits        = 2048
	DefaultFirstCellTimeout   = 5 * time.Second
	DefaultMaxPendingPerLink  = 32
	DefaultMaxChannelsPerLink = 1024
	DefaultMaxLinksPerPeer    = 32
)

// limit returns v, def when v is zero, and no bound (0) when v is
// negative.
func limit(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// linkState counts what one served link holds; guarded by Node.mu.
type linkState struct {
	lk      *link.Link
	open    int // channels being served (pending included)
	pending int // channels that have not sent their first cell
}

// peerKey is what links are counted by: the peer's IPv4 address or its
// IPv6 /64. ok is false when the address is not known.
func peerKey(a net.Addr) (netip.Prefix, bool) {
	ua, ok := a.(*net.UDPAddr)
	if !ok || ua == nil {
		return netip.Prefix{}, false
	}
	ip := ua.AddrPort().Addr().Unmap().WithZone("")
	if !ip.IsValid() {
		return netip.Prefix{}, false
	}
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, err := ip.Prefix(bits)
	return p, err == nil
}

// addPeerLink counts a link from peer, unless the peer has its share.
func (n *Node) addPeerLink(peer netip.Prefix) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if max := n.cfg.MaxLinksPerPeer; max > 0 && n.peers[peer] >= max {
		return false
	}
	n.peers[peer]++
	return true
}

func (n *Node) dropPeerLink(peer netip.Prefix) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.peers[peer]--; n.peers[peer] <= 0 {
		delete(n.peers, peer)
	}
}

// openChannel counts a channel the peer opened on a link, unless the link
// has its share of channels or of channels awaiting CREATE.
func (n *Node) openChannel(ls *linkState) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if max := n.cfg.MaxChannelsPerLink; max > 0 && ls.open >= max {
		return false
	}
	if max := n.cfg.MaxPendingPerLink; max > 0 && ls.pending >= max {
		return false
	}
	ls.open++
	ls.pending++
	return true
}

// firstCellDone marks a channel's first cell as read (or given up on).
func (n *Node) firstCellDone(ls *linkState) {
	n.mu.Lock()
	ls.pending--
	n.mu.Unlock()
}

func (n *Node) closeChannel(ls *linkState) {
	n.mu.Lock()
	ls.open--
	n.mu.Unlock()
}

// readFirstCell reads a channel's first message into a cell-sized buffer
// and closes the channel if none came within FirstCellTimeout. It returns
// the message's length and whether there is one; the length is -1 when
// the deadline closed the channel.
func (n *Node) readFirstCell(ch link.Channel, buf []byte) (int, bool) {
	timer := time.AfterFunc(n.cfg.FirstCellTimeout, func() { ch.Close() })
	m, err := ch.Read(buf)
	if !timer.Stop() {
		n.cfg.Logf("circuit: no CREATE within %v", n.cfg.FirstCellTimeout)
		return -1, false
	}
	if err != nil {
		return 0, false
	}
	return m, true
}
