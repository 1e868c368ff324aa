package relay

import (
	"sync/atomic"
	"time"

	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/hop/stream"
)

// Node statistics.
//
// NodeStats holds plain atomic counters that the node updates as it works;
// whoever exports them (pexia-node's Prometheus collector) reads a
// Snapshot. relay therefore needs no metrics library, keeps no global state,
// and a nil *NodeStats is valid everywhere and counts nothing, so nodes in
// tests need not set one. Every update is one atomic add: cheap enough for
// the per-cell path.

// CircuitRole is what a circuit does at this node.
type CircuitRole uint8

// Circuit roles. A circuit is pending from CREATE until it is extended
// (this node relays it) or carries its first stream (this node is its
// exit).
const (
	RolePending CircuitRole = iota
	RoleRelay
	RoleExit
	numRoles
)

var roleNames = [numRoles]string{"pending", "relay", "exit"}

// String returns the role's metric label.
func (r CircuitRole) String() string {
	if r < numRoles {
		return roleNames[r]
	}
	return "unknown"
}

// DestroyCause says why a circuit through the node ended.
type DestroyCause uint8

// Destroy causes.
const (
	// CausePeerClosed: the previous hop closed the channel, sent DESTROY or
	// its link failed.
	CausePeerClosed DestroyCause = iota
	// CauseFinished: the client ended the circuit (END).
	CauseFinished
	// CauseNextClosed: the next hop closed or destroyed the circuit, or
	// could not be reached.
	CauseNextClosed
	// CauseUnpaid: the client fell too far behind on payment.
	CauseUnpaid
	// CauseMalformed: a malformed, unauthenticated or unexpected cell.
	CauseMalformed
	// CauseShutdown: the node is shutting down.
	CauseShutdown
	numCauses
)

var causeNames = [numCauses]string{"peer_closed", "finished", "next_closed", "unpaid", "malformed", "shutdown"}

// String returns the cause's metric label.
func (c DestroyCause) String() string {
	if c < numCauses {
		return causeNames[c]
	}
	return "unknown"
}

// RefuseCause says why a node refused a CREATE.
type RefuseCause uint8

// Refuse causes.
const (
	RefuseHandshake RefuseCause = iota // not a CREATE, or the handshake failed
	RefuseLimit                        // NodeConfig.MaxCircuits circuits are open
	RefuseShutdown                     // the node is shutting down
	RefuseTimeout                      // no CREATE within NodeConfig.FirstCellTimeout
	RefuseChannels                     // a channel beyond its link's caps (limits.go)
	numRefuse
)

var refuseNames = [numRefuse]string{"handshake", "limit", "shutdown", "timeout", "channels"}

// String returns the cause's metric label.
func (c RefuseCause) String() string {
	if c < numRefuse {
		return refuseNames[c]
	}
	return "unknown"
}

// HandshakeKind says which latency a handshake histogram measures.
type HandshakeKind uint8

// Handshake kinds.
const (
	// HandshakeCreate: from reading a CREATE to writing CREATED (the node's
	// key exchange and payment terms).
	HandshakeCreate HandshakeKind = iota
	// HandshakeExtend: from reading an EXTEND to the next hop's CREATED
	// (link set-up, when there is no link yet, and the next hop's key
	// exchange).
	HandshakeExtend
	numHandshakes
)

var handshakeNames = [numHandshakes]string{"create", "extend"}

// String returns the kind's metric label.
func (k HandshakeKind) String() string {
	if k < numHandshakes {
		return handshakeNames[k]
	}
	return "unknown"
}

// latencyBounds are the upper bounds, in seconds, of the handshake
// histogram buckets: a CREATE takes about a millisecond, an EXTEND that
// sets up a link hundreds.
var latencyBounds = [...]float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type histogram struct {
	counts [len(latencyBounds) + 1]atomic.Uint64 // the last: above every bound
	sum    atomic.Int64                          // nanoseconds
}

func (h *histogram) observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(latencyBounds) && s > latencyBounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

// NodeStats counts what a node does. Set NodeConfig.Stats to one; the
// zero value is ready, and all methods are safe for concurrent use.
type NodeStats struct {
	circuitsCreated   atomic.Uint64
	circuitsActive    [numRoles]atomic.Int64
	circuitsTotal     [numRoles]atomic.Uint64
	circuitsRefused   [numRefuse]atomic.Uint64
	circuitsDestroyed [numCauses]atomic.Uint64

	streamsActive  atomic.Int64
	streamsTotal   atomic.Uint64
	streamsRefused [256]atomic.Uint64 // by stream.Reason

	bytesIn, bytesOut atomic.Uint64
	cellsDropped      atomic.Uint64
	dgDropBack        atomic.Uint64
	dgDropFwd         atomic.Uint64
	cellsMalformed    atomic.Uint64

	handshakes [numHandshakes]histogram

	linksActive  atomic.Int64
	linksTotal   atomic.Uint64
	linksRefused atomic.Uint64
}

// Histogram is a snapshot of a latency histogram.
type Histogram struct {
	// Bounds are the buckets' upper bounds in seconds, from 0.5 ms to 10 s.
	Bounds []float64
	// Counts has one count per bucket, not cumulative; the last entry,
	// one past Bounds, counts observations above every bound.
	Counts []uint64
	Count  uint64  // all observations
	Sum    float64 // seconds
}

// NodeSnapshot is a copy of a node's counters at one moment. The maps have
// an entry for every label value, zero or not.
type NodeSnapshot struct {
	CircuitsCreated   uint64 // CREATEs answered with CREATED
	CircuitsActive    map[CircuitRole]int64
	CircuitsTotal     map[CircuitRole]uint64 // circuits that took the role (relay, exit)
	CircuitsRefused   map[RefuseCause]uint64
	CircuitsDestroyed map[DestroyCause]uint64

	StreamsActive  int64
	StreamsTotal   uint64                   // streams connected at the exit
	StreamsRefused map[stream.Reason]uint64 // only reasons that occurred

	BytesIn, BytesOut uint64 // cell bytes read from and written to links
	CellsDropped      uint64 // cells discarded without effect (padding, stray commands)
	CellsMalformed    uint64 // cells that failed to decode or authenticate
	// DatagramsDroppedBack counts datagrams of exit UDP flows dropped on
	// the way back to the client, because the circuit could not take
	// more (the flow's queue was full); DatagramsDroppedForward those
	// from the client dropped because the destination socket was not
	// written in time. Counted when a flow ends.
	DatagramsDroppedBack, DatagramsDroppedForward uint64

	Handshakes map[HandshakeKind]Histogram

	LinksActive  int64
	LinksTotal   uint64
	LinksRefused uint64 // links closed at once: their peer had NodeConfig.MaxLinksPerPeer
}

// Snapshot copies the counters.
func (s *NodeStats) Snapshot() NodeSnapshot {
	snap := NodeSnapshot{
		CircuitsActive:    map[CircuitRole]int64{},
		CircuitsTotal:     map[CircuitRole]uint64{},
		CircuitsRefused:   map[RefuseCause]uint64{},
		CircuitsDestroyed: map[DestroyCause]uint64{},
		StreamsRefused:    map[stream.Reason]uint64{},
		Handshakes:        map[HandshakeKind]Histogram{},
	}
	if s == nil {
		return snap
	}
	snap.CircuitsCreated = s.circuitsCreated.Load()
	for r := range numRoles {
		snap.CircuitsActive[r] = s.circuitsActive[r].Load()
		if r != RolePending {
			snap.CircuitsTotal[r] = s.circuitsTotal[r].Load()
		}
	}
	for c := range numRefuse {
		snap.CircuitsRefused[c] = s.circuitsRefused[c].Load()
	}
	for c := range numCauses {
		snap.CircuitsDestroyed[c] = s.circuitsDestroyed[c].Load()
	}
	snap.StreamsActive = s.streamsActive.Load()
	snap.StreamsTotal = s.streamsTotal.Load()
	for r := range s.streamsRefused {
		if v := s.streamsRefused[r].Load(); v > 0 {
			snap.StreamsRefused[stream.Reason(r)] = v
		}
	}
	snap.BytesIn, snap.BytesOut = s.bytesIn.Load(), s.bytesOut.Load()
	snap.CellsDropped, snap.CellsMalformed = s.cellsDropped.Load(), s.cellsMalformed.Load()
	snap.DatagramsDroppedBack, snap.DatagramsDroppedForward = s.dgDropBack.Load(), s.dgDropFwd.Load()
	for k := range numHandshakes {
		h := &s.handshakes[k]
		out := Histogram{Bounds: append([]float64(nil), latencyBounds[:]...), Counts: make([]uint64, len(h.counts))}
		for i := range h.counts {
			out.Counts[i] = h.counts[i].Load()
			out.Count += out.Counts[i]
		}
		out.Sum = time.Duration(h.sum.Load()).Seconds()
		snap.Handshakes[k] = out
	}
	snap.LinksActive, snap.LinksTotal, snap.LinksRefused = s.linksActive.Load(), s.linksTotal.Load(), s.linksRefused.Load()
	return snap
}

// The node's update points. All are nil-safe.

func (s *NodeStats) circuitCreated(d time.Duration) {
	if s == nil {
		return
	}
	s.circuitsCreated.Add(1)
	s.circuitsActive[RolePending].Add(1)
	s.handshakes[HandshakeCreate].observe(d)
}

func (s *NodeStats) circuitRefused(c RefuseCause) {
	if s != nil {
		s.circuitsRefused[c].Add(1)
	}
}

// circuitRole moves an active circuit from pending to role.
func (s *NodeStats) circuitRole(role CircuitRole) {
	if s == nil {
		return
	}
	s.circuitsActive[RolePending].Add(-1)
	s.circuitsActive[role].Add(1)
	s.circuitsTotal[role].Add(1)
}

func (s *NodeStats) circuitDestroyed(role CircuitRole, c DestroyCause) {
	if s == nil {
		return
	}
	s.circuitsActive[role].Add(-1)
	s.circuitsDestroyed[c].Add(1)
}

func (s *NodeStats) extended(d time.Duration) {
	if s != nil {
		s.handshakes[HandshakeExtend].observe(d)
	}
}

func (s *NodeStats) streamOpened() {
	if s != nil {
		s.streamsTotal.Add(1)
		s.streamsActive.Add(1)
	}
}

func (s *NodeStats) streamClosed() {
	if s != nil {
		s.streamsActive.Add(-1)
	}
}

// flowEnded counts what an exit udp or icmp flow dropped.
func (s *NodeStats) flowEnded(f stream.FlowStats) {
	if s != nil {
		s.dgDropBack.Add(f.DroppedOut)
		s.dgDropFwd.Add(f.DroppedIn)
	}
}

func (s *NodeStats) streamRefused(r stream.Reason) {
	if s != nil {
		s.streamsRefused[r].Add(1)
	}
}

func (s *NodeStats) cellDropped() {
	if s != nil {
		s.cellsDropped.Add(1)
	}
}

func (s *NodeStats) cellMalformed() {
	if s != nil {
		s.cellsMalformed.Add(1)
	}
}

func (s *NodeStats) linkUp() {
	if s != nil {
		s.linksTotal.Add(1)
		s.linksActive.Add(1)
	}
}

func (s *NodeStats) linkRefused() {
	if s != nil {
		s.linksRefused.Add(1)
	}
}

func (s *NodeStats) linkDown() {
	if s != nil {
		s.linksActive.Add(-1)
	}
}

// countChannel counts the bytes of every message read from and written to
// ch; with nil stats it returns ch itself.
func (s *NodeStats) countChannel(ch link.Channel) link.Channel {
	if s == nil {
		return ch
	}
	return countedChannel{ch, s}
}

type countedChannel struct {
	link.Channel
	s *NodeStats
}

func (c countedChannel) Read(p []byte) (int, error) {
	n, err := c.Channel.Read(p)
	if n > 0 {
		c.s.bytesIn.Add(uint64(n))
	}
	return n, err
}

func (c countedChannel) Write(p []byte) (int, error) {
	n, err := c.Channel.Write(p)
	if n > 0 {
		c.s.bytesOut.Add(uint64(n))
	}
	return n, err
}
