package hop

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
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
	// whose terms were refused lately (see RefusedError): the selector
	// should not pick them. A sample that holds one anyway is not built.
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

	mu       sync.Mutex
	closed   bool                        // guarded by mu
	circuits map[string]*poolEntry       // guarded by mu
	refused  map[onion.Address]time.Time // nodes whose terms were refused, and when; guarded by mu
}

type poolEntry struct {
	ready chan struct{} // closed when c or err is set
	c     *Circuit
	err   error
	at    time.Time
}

// NewPool returns a pool building circuits with sel and cfg.
func NewPool(sel Selector, cfg BuildConfig, logf logger.Logf) *Pool {
	ctx, cancel := context.WithCancel(context.Background())
	return &Pool{sel: sel, build: cfg, logf: logger.OrDiscard(logf), ctx: ctx, cancel: cancel,
		circuits: map[string]*poolEntry{}, refused: map[onion.Address]time.Time{}}
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
			e = &poolEntry{ready: make(chan struct{})}
			pl.circuits[p.Name] = e
			pl.wg.Add(1) // under mu, with closed false: Close waits for it
			pl.mu.Unlock()
			go func() {
				defer pl.wg.Done()
				pl.run(p, e)
			}()
		} else {
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
	for try := 0; try < 3; try++ {
		var hops []HopInfo
		q := p
		q.Avoid = pl.avoid()
		if hops, err = pl.sel(ctx, q); err != nil {
			continue
		}
		if i := slices.IndexFunc(hops, func(h HopInfo) bool { return slices.Contains(q.Avoid, h.Address) }); i >= 0 {
			err = fmt.Errorf("hop: the selector picked node %x, whose terms were refused", hops[i].Address[:])
			if refusals++; refusals <= maxRefusals {
				try--
			}
			continue
		}
		var c *Circuit
		start := time.Now()
		if c, err = Build(ctx, hops, pl.build); err != nil {
			pl.logf("pool: build %s (%d hops): %v", p.Name, len(hops), err)
			var re *RefusedError
			if errors.As(err, &re) {
				pl.refuse(re.Node)
				if refusals++; refusals <= maxRefusals {
					try--
				}
			}
			continue
		}
		pl.logf("pool: built %s in %v", p.Name, time.Since(start).Round(time.Millisecond))
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

// avoid lists the nodes refused within RefuseFor, forgetting older ones.
func (pl *Pool) avoid() []onion.Address {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	var out []onion.Address
	for a, at := range pl.refused {
		if time.Since(at) > RefuseFor {
			delete(pl.refused, a)
			continue
		}
		out = append(out, a)
	}
	return out
}

// Refused lists the nodes whose terms the pool's builds refused within
// RefuseFor.
func (pl *Pool) Refused() []onion.Address { return pl.avoid() }

// watch replaces e's circuit as soon as it dies, so the next stream finds a
// fresh one without waiting for a build.
func (pl *Pool) watch(p Profile, e *poolEntry) {
	<-e.c.Done()
	pl.logf("pool: %s circuit ended: %v", p.Name, e.c.Err())
	pl.mu.Lock()
	if pl.closed || pl.circuits[p.Name] != e {
		pl.mu.Unlock()
		return
	}
	ne := &poolEntry{ready: make(chan struct{})}
	pl.circuits[p.Name] = ne
	pl.mu.Unlock()
	pl.run(p, ne)
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
