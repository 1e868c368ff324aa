package hop

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/internal/logger"
)

// Profile names a kind of circuit a client wants (hop count, country, price
// cap...). The Pool keeps one live circuit per profile.
type Profile struct {
	Name string
	Hops int
	// Avoid, set by the pool when it asks for a sample, lists the nodes
	// whose terms were refused lately (see RefusedError) and those that
	// just failed (see HopError): the selector should not pick them. A
	// sample that holds a refused one anyway is not built; one with a
	// failed node is (the selector may know no other).
	Avoid []onion.Address
}

// Selector picks the hops of a new circuit for a profile; it should return
// a fresh sample each time, so a rebuild avoids a hop that just failed.
type Selector func(ctx context.Context, p Profile) ([]HopInfo, error)

// A node whose terms were refused is avoided for RefuseFor; a build may
// meet at most maxRefusals such nodes before it gives up, on top of its
// ordinary attempts.
const (
	RefuseFor   = 10 * time.Minute
	maxRefusals = 8
)

// FailFor is how long a node that failed (a build could not reach or
// extend to it, or a circuit lost its link to it) is avoided. When the
// selector finds no circuit without the failed nodes (the network was
// down, say), it is asked once more with only the refused ones.
const FailFor = 2 * time.Minute

// Pool keeps a built circuit per profile, builds on first use, and rebuilds
// as soon as a circuit dies; streams opened after that go to the new one.
type Pool struct {
	sel   Selector
	build BuildConfig
	logf  logger.Logf

	// ctx ends when the pool closes, stopping the builds under way; wg
	// counts the goroutines the pool started (builds and watches), which
	// Close waits for.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// PayerFor, when set (before the first circuit), gives the payer of
	// each profile's circuits in place of the BuildConfig's.
	PayerFor func(Profile) Payer
	// NodeFailed, when set, hears of each node the pool starts to avoid
	// for having failed; NodeRefused of each node whose terms the payer
	// refused, with the payer's error (the pool avoids it for RefuseFor
	// unless ForgetRefusals comes first); Built of each circuit built. All
	// are set before the first circuit.
	NodeFailed  func(onion.Address)
	NodeRefused func(onion.Address, error)
	Built       func(*Circuit)

	mu       sync.Mutex
	closed   bool                        // guarded by mu
	circuits map[string]*poolEntry       // guarded by mu
	refused  map[onion.Address]time.Time // nodes whose terms were refused, and when; guarded by mu
	failed   map[onion.Address]time.Time // nodes that failed, and when; guarded by mu
}

type poolEntry struct {
	ready chan struct{} // closed when c or err is set
	p     Profile
	c     *Circuit
	err   error
	at    time.Time
	used  time.Time // last asked for; guarded by the pool's mu
}

// NewPool returns a pool building circuits with sel and cfg.
func NewPool(sel Selector, cfg BuildConfig, logf logger.Logf) *Pool {
	ctx, cancel := context.WithCancel(context.Background())
	return &Pool{sel: sel, build: cfg, logf: logger.OrDiscard(logf), ctx: ctx, cancel: cancel,
		circuits: map[string]*poolEntry{}, refused: map[onion.Address]time.Time{}, failed: map[onion.Address]time.Time{}}
}

// Circuit returns the live circuit for p, building one if needed. Callers
// that come while a build is under way wait for it.
func (pl *Pool) Circuit(ctx context.Context, p Profile) (*Circuit, error) {
	for attempt := 0; ; attempt++ {
		pl.mu.Lock()
		if pl.closed {
			pl.mu.Unlock()
			return nil, ErrCircuitClosed
		}
		e := pl.circuits[p.Name]
		if e != nil {
			select {
			case <-e.ready:
				if e.err == nil {
					select {
					case <-e.c.Done():
						delete(pl.circuits, p.Name) // dead: rebuild below
						e = nil
					default:
					}
				} else {
					delete(pl.circuits, p.Name) // failed build: try again
					e = nil
				}
			default:
			}
		}
		if e == nil {
			e = &poolEntry{ready: make(chan struct{}), p: p}
			pl.circuits[p.Name] = e
			e.used = time.Now()
			pl.wg.Add(1) // under mu, with closed false: Close waits for it
			pl.mu.Unlock()
			go func() {
				defer pl.wg.Done()
				pl.run(p, e)
			}()
		} else {
			e.used = time.Now() // under mu: CloseIdle sees the use
			pl.mu.Unlock()
		}
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.err == nil {
			return e.c, nil
		}
		if attempt >= 2 {
			return nil, e.err
		}
	}
}

// run builds a circuit for p, trying fresh samples for up to 3 attempts,
// and rebuilds ahead of time once the circuit dies. A sample with a node
// whose terms were refused does not use up an attempt (up to maxRefusals
// of them): the node is avoided and another sample drawn.
func (pl *Pool) run(p Profile, e *poolEntry) {
	ctx, cancel := context.WithTimeout(pl.ctx, 30*time.Second)
	defer cancel()
	var err error
	refusals := 0
	cfg := pl.build
	if pl.PayerFor != nil {
		cfg.Payer = pl.PayerFor(p)
	}
	for try := 0; try < 3; try++ {
		var hops []HopInfo
		q := p
		refused, failed := pl.avoid()
		q.Avoid = append(refused, failed...)
		if hops, err = pl.sel(ctx, q); err != nil && len(failed) > 0 {
			q.Avoid = refused
			hops, err = pl.sel(ctx, q)
		}
		if err != nil {
			continue
		}
		if i := slices.IndexFunc(hops, func(h HopInfo) bool { return slices.Contains(refused, h.Address) }); i >= 0 {
			err = fmt.Errorf("hop: the selector picked node %x, whose terms were refused", hops[i].Address[:])
			if refusals++; refusals <= maxRefusals {
				try--
			}
			continue
		}
		var c *Circuit
		start := time.Now()
		if c, err = Build(ctx, hops, cfg); err != nil {
			pl.logf("pool: build %s (%d hops): %v", p.Name, len(hops), err)
			pl.noteFailure(err)
			var re *RefusedError
			if errors.As(err, &re) {
				pl.refuse(re.Node)
				if pl.NodeRefused != nil {
					pl.NodeRefused(re.Node, re.Err)
				}
				if refusals++; refusals <= maxRefusals {
					try--
				}
			}
			continue
		}
		pl.logf("pool: built %s in %v", p.Name, time.Since(start).Round(time.Millisecond))
		if pl.Built != nil {
			pl.Built(c)
		}
		pl.mu.Lock()
		if pl.closed {
			pl.mu.Unlock()
			c.Close()
			err = ErrCircuitClosed
			break
		}
		// Under mu, so that Close either finds the circuit ready and closes
		// it, or comes before and is seen above.
		e.c = c
		e.at = time.Now()
		close(e.ready)
		pl.wg.Add(1)
		pl.mu.Unlock()
		go func() {
			defer pl.wg.Done()
			pl.watch(p, e)
		}()
		return
	}
	e.err = fmt.Errorf("hop: build %s circuit: %w", p.Name, err)
	e.at = time.Now()
	close(e.ready)
}

// refuse remembers that node's terms were refused.
func (pl *Pool) refuse(node onion.Address) {
	pl.mu.Lock()
	pl.refused[node] = time.Now()
	pl.mu.Unlock()
}

// ForgetRefusals forgets the nodes whose terms were refused, so the next
// build may use them again: the payer refused them for a reason that no
// longer holds (a budget that was spent and is raised).
func (pl *Pool) ForgetRefusals() {
	pl.mu.Lock()
	clear(pl.refused)
	pl.mu.Unlock()
}

// noteFailure remembers the node err blames (see HopError), if any.
func (pl *Pool) noteFailure(err error) {
	var he *HopError
	if !errors.As(err, &he) || pl.ctx.Err() != nil {
		return // not a node's failure, or the pool is closing
	}
	pl.mu.Lock()
	pl.failed[he.Node] = time.Now()
	pl.mu.Unlock()
	pl.logf("pool: avoiding node %x for %v: %v", he.Node[:], FailFor, he.Err)
	if pl.NodeFailed != nil {
		pl.NodeFailed(he.Node)
	}
}

// avoid lists the nodes refused within RefuseFor and those failed within
// FailFor (not counting the refused ones twice), forgetting older ones.
func (pl *Pool) avoid() (refused, failed []onion.Address) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for a, at := range pl.refused {
		if time.Since(at) > RefuseFor {
			delete(pl.refused, a)
			continue
		}
		refused = append(refused, a)
	}
	for a, at := range pl.failed {
		if time.Since(at) > FailFor {
			delete(pl.failed, a)
			continue
		}
		if _, ok := pl.refused[a]; !ok {
			failed = append(failed, a)
		}
	}
	return refused, failed
}

// Refused lists the nodes whose terms the pool's builds refused within
// RefuseFor.
func (pl *Pool) Refused() []onion.Address {
	r, _ := pl.avoid()
	return r
}

// Failed lists the nodes the pool avoids for having failed within
// FailFor.
func (pl *Pool) Failed() []onion.Address {
	_, f := pl.avoid()
	return f
}

// watch replaces e's circuit as soon as it dies, so the next stream finds a
// fresh one without waiting for a build.
func (pl *Pool) watch(p Profile, e *poolEntry) {
	<-e.c.Done()
	pl.mu.Lock()
	if pl.closed || pl.circuits[p.Name] != e {
		pl.mu.Unlock()
		return
	}
	pl.mu.Unlock()
	pl.logf("pool: %s circuit ended: %v", p.Name, e.c.Err())
	pl.noteFailure(e.c.Err())
	pl.mu.Lock()
	if pl.closed || pl.circuits[p.Name] != e {
		pl.mu.Unlock()
		return
	}
	ne := &poolEntry{ready: make(chan struct{}), p: p, used: e.used}
	pl.circuits[p.Name] = ne
	pl.mu.Unlock()
	pl.run(p, ne)
}

// PoolCircuit is a live circuit of the pool and the profile it serves.
type PoolCircuit struct {
	Profile Profile
	Circuit *Circuit
	// BuiltAt is when it was built, Used when a stream last asked for it.
	BuiltAt, Used time.Time
}

// Circuits lists the pool's live circuits, by profile name.
func (pl *Pool) Circuits() []PoolCircuit {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	var out []PoolCircuit
	for _, e := range pl.circuits {
		select {
		case <-e.ready:
		default:
			continue
		}
		if e.c == nil || e.c.Err() != nil {
			continue
		}
		out = append(out, PoolCircuit{Profile: e.p, Circuit: e.c, BuiltAt: e.at, Used: e.used})
	}
	slices.SortFunc(out, func(a, b PoolCircuit) int { return strings.Compare(a.Profile.Name, b.Profile.Name) })
	return out
}

// CloseIdle closes the circuits, except those keep holds for, that carry
// no stream and were not asked for within idle; it returns the profiles
// whose circuits it closed. A later stream for one builds a new circuit.
func (pl *Pool) CloseIdle(idle time.Duration, keep func(Profile) bool) []Profile {
	pl.mu.Lock()
	var closing []*poolEntry
	for name, e := range pl.circuits {
		select {
		case <-e.ready:
		default:
			continue // a build under way: someone is waiting for it
		}
		if keep != nil && keep(e.p) || time.Since(e.used) < idle {
			continue
		}
		if e.c != nil && e.c.Streams() > 0 {
			continue
		}
		delete(pl.circuits, name) // watch sees it gone and rebuilds nothing
		closing = append(closing, e)
	}
	pl.mu.Unlock()
	var out []Profile
	for _, e := range closing {
		if e.c != nil {
			e.c.Close()
			pl.logf("pool: closed %s circuit, unused for %v", e.p.Name, time.Since(e.used).Round(time.Second))
		}
		out = append(out, e.p)
	}
	return out
}

// Dial opens a stream to address through the circuit for p.
func (pl *Pool) Dial(ctx context.Context, p Profile, network, address string) (net.Conn, error) {
	c, err := pl.Circuit(ctx, p)
	if err != nil {
		return nil, err
	}
	return c.Dial(ctx, network, address)
}

// Close closes every circuit, stops the builds under way, and returns once
// every goroutine the pool started has ended.
func (pl *Pool) Close() {
	pl.mu.Lock()
	pl.closed = true
	for name, e := range pl.circuits {
		select {
		case <-e.ready:
			if e.c != nil {
				e.c.Close()
			}
		default:
		}
		delete(pl.circuits, name)
	}
	pl.mu.Unlock()
	pl.cancel()
	pl.wg.Wait()
}
