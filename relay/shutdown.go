package relay

import (
	"context"
	"fmt"
	"time"

	"github.com/pexia-network/pexia/hop/onion"
)

// Graceful shutdown.
//
// A node that stops should not cut its clients' downloads mid-file, nor keep
// them waiting on a circuit that is about to vanish. Shutdown therefore
// refuses new work at once (new circuits get DESTROY, new streams get
// REFUSED), so clients build new circuits elsewhere, and lets the work under
// way finish within a drain time: each circuit is destroyed as soon as it is
// idle, and whatever is left when the drain time ends is destroyed then.
// "Idle" depends on what the node sees of a circuit: an exit sees its
// streams, so an exit circuit is idle when it has no open stream; a relay
// sees only cells, so a relayed circuit is idle when no cell crossed it for
// drainIdle; a circuit with neither role yet is idle. Destroyed circuits get
// DESTROY with reason finished towards the client (and, through the circuit's
// own teardown, towards the next hop).

const (
	// drainPoll is how often Shutdown looks for idle circuits.
	drainPoll = 100 * time.Millisecond
	// drainIdle is how long a relayed circuit must carry no cell to count
	// as idle.
	drainIdle = time.Second
	// closeWait bounds the wait for destroyed circuits to finish tearing
	// down.
	closeWait = 2 * time.Second
)

// Shutdown stops the node gracefully: it refuses new circuits and streams,
// destroys each open circuit once it is idle, and destroys the rest when ctx
// ends (the drain time). It then closes the node's outgoing links. The
// caller should stop accepting links first (close the signaling listener)
// and close the link listener afterwards. Shutdown returns nil when every
// circuit drained, or an error saying how many were cut when ctx ended.
func (n *Node) Shutdown(ctx context.Context) error {
	n.draining.Store(true)
	type activity struct {
		cells uint64
		since time.Time
	}
	seen := map[*circuit]activity{}
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	cut := 0
	for {
		now := time.Now()
		circs := n.circuits()
		if len(circs) == 0 {
			break
		}
		for _, c := range circs {
			idle := false
			switch CircuitRole(c.role.Load()) {
			case RoleExit:
				idle = c.streams.Load() == 0
			case RoleRelay:
				cells := c.cells.Load()
				if a, ok := seen[c]; !ok || a.cells != cells {
					seen[c] = activity{cells, now}
				}
				idle = now.Sub(seen[c].since) >= drainIdle
			default:
				idle = true
			}
			if idle {
				c.shutdown()
			}
		}
		select {
		case <-tick.C:
			continue
		case <-ctx.Done():
		}
		for _, c := range n.circuits() {
			if c.shutdown() {
				cut++
			}
		}
		break
	}
	wait := time.NewTimer(closeWait)
	defer wait.Stop()
	for len(n.circuits()) > 0 {
		select {
		case <-wait.C:
			n.cfg.Logf("node: %d circuits still closing after %v", len(n.circuits()), closeWait)
			n.Close()
			return n.cutErr(cut)
		case <-tick.C:
		}
	}
	n.Close()
	return n.cutErr(cut)
}

func (n *Node) cutErr(cut int) error {
	if cut > 0 {
		return fmt.Errorf("relay: shutdown: drain time over, %d busy circuits destroyed", cut)
	}
	return nil
}

// Draining reports whether Shutdown has been called.
func (n *Node) Draining() bool { return n.draining.Load() }

// circuits returns the circuits registered now.
func (n *Node) circuits() []*circuit {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*circuit, 0, len(n.circs))
	for c := range n.circs {
		out = append(out, c)
	}
	return out
}

// admit registers a circuit that sent CREATE, unless the node is shutting
// down or has NodeConfig.MaxCircuits open; a refused circuit is counted and
// marked so its teardown does not count it again.
func (n *Node) admit(c *circuit) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case n.draining.Load():
		n.cfg.Stats.circuitRefused(RefuseShutdown)
	case n.cfg.MaxCircuits > 0 && len(n.circs) >= n.cfg.MaxCircuits:
		n.cfg.Stats.circuitRefused(RefuseLimit)
	default:
		n.circs[c] = struct{}{}
		return true
	}
	c.refused = true
	return false
}

// closed unregisters a circuit that ended and counts it: as destroyed if it
// was created, as a failed handshake if it never got that far.
func (n *Node) closed(c *circuit) {
	n.mu.Lock()
	delete(n.circs, c)
	n.mu.Unlock()
	switch {
	case c.live.Load():
		cause := CausePeerClosed
		if v := c.cause.Load(); v > 0 {
			cause = DestroyCause(v - 1)
		}
		n.cfg.Stats.circuitDestroyed(CircuitRole(c.role.Load()), cause)
	case c.timedOut:
		n.cfg.Stats.circuitRefused(RefuseTimeout)
	case !c.refused:
		n.cfg.Stats.circuitRefused(RefuseHandshake)
	}
}

// end records why the circuit ends; the first cause wins.
func (c *circuit) end(cause DestroyCause) { c.cause.CompareAndSwap(0, uint32(cause)+1) }

// malformed ends the circuit for a bad cell.
func (c *circuit) malformed() {
	c.n.cfg.Stats.cellMalformed()
	c.end(CauseMalformed)
}

// setRole records what the circuit does here; it is set once, by the
// circuit's own goroutine, after the circuit is live.
func (c *circuit) setRole(r CircuitRole) {
	c.role.Store(uint32(r))
	c.n.cfg.Stats.circuitRole(r)
}

// shutdown destroys the circuit for a node shutdown: DESTROY (reason
// finished) to the client's side, then closing that channel ends the
// circuit's read loop, whose teardown destroys the part past this node. It
// reports whether this call did it.
func (c *circuit) shutdown() bool {
	if !c.stopping.CompareAndSwap(false, true) {
		return false
	}
	c.end(CauseShutdown)
	c.destroyPrev(c.id, onion.ReasonFinished)
	c.prev.Close()
	return true
}
