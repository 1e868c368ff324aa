package daemon

import (
	"context"
	"errors"
	"net"
	"time"

	"golang.org/x/time/rate"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/wallet/budget"
)

// What happens at the budget's limit (api.Settings.AtLimit):
//
//   - stop: building a circuit fails with the budget's error, and the
//     session holds there (holdAtLimit) with its data plane up, so the
//     kill switch blocks as before and nothing leaks; it builds again as
//     soon as the budget (or any setting) changes or the month rolls over,
//     so raising the budget resumes traffic without a reconnect;
//   - throttle: the engine goes on paying past the budget at the floor
//     rate (budget.Engine.SetFloor) and the router holds every tunnelled
//     flow together to that rate, so the nodes are paid for what they
//     carry;
//   - direct: the session holds as for stop, and meanwhile the router
//     sends every flow the rules would tunnel straight out. The settings
//     refuse it while the kill switch is on unless the admin allows it.

// limitAction is the settings' action at the limit, the default filled in.
func limitAction(s api.Settings) api.LimitAction {
	if s.AtLimit == "" {
		return api.LimitStop
	}
	return s.AtLimit
}

// floorRate is the floor in bytes per second (0 unless throttling).
func floorRate(s api.Settings) uint64 {
	if limitAction(s) != api.LimitThrottle || s.FloorKbps <= 0 {
		return 0
	}
	return uint64(s.FloorKbps) * 1000 / 8
}

// atLimit reports whether err is the budget refusing traffic: spent, or
// too little left for any circuit.
func atLimit(err error) bool {
	return errors.Is(err, budget.ErrBudgetExhausted) || errors.Is(err, budget.ErrPriceAboveBudget)
}

// accountShort reports whether a payer refused a node for the balance of
// our own hop account, not for the node's terms: funded for a smaller
// budget than the one in force, it cannot back the tickets the new
// budget's plan wants within the depletion bound, or cannot back a face
// the node accepts. A top-up fixes that for every node.
func accountShort(err error) bool {
	return errors.Is(err, budget.ErrDepletionRisk) || errors.Is(err, budget.ErrUnderfunded)
}

// refill tops the hop accounts of s up for the budget in force after a
// plan found one too small, and forgets the nodes the pool refused for
// it. It reports whether it moved money, so that a build retried at once
// is one that can now pass where it failed; an account that is already
// at the budget's policy leaves the refusals standing (the node's minimum
// face, not our balance, was in the way).
func (d *Daemon) refill(s *session) bool {
	s.fundMu.Lock()
	hops := s.hops
	moved, err := d.pay.topUp(s.ctx, s.cl, hops, d.cfg.Logf)
	s.fundMu.Unlock()
	if err != nil {
		if s.ctx.Err() == nil {
			d.cfg.Logf("hop accounts too small for the budget: top-up: %v", err)
		}
		return false
	}
	if moved {
		d.cfg.Logf("hop accounts topped up for the budget in force; building again")
		s.pool.ForgetRefusals()
	}
	return moved
}

// refusedByBudget reports whether a circuit build failed with err because
// of the budget: the budget's error, or any failure while the budget is
// spent and no floor lets tickets past it (the plan refuses every node,
// and the pool then reports only that no node was left).
func (d *Daemon) refusedByBudget(err error) bool {
	return atLimit(err) || d.pay.engine.AtLimit() && d.pay.engine.Floor() == 0
}

// applyLimit gives the engine the floor of s and the session's router the
// limit in force now: nothing while the budget lasts.
func (d *Daemon) applyLimit(s *session, set api.Settings) {
	d.pay.engine.SetFloor(floorRate(set))
	if s == nil {
		return
	}
	s.mu.Lock()
	r := s.router
	s.mu.Unlock()
	if r == nil {
		return
	}
	action := api.LimitAction("")
	if s.held.Load() || d.pay.engine.AtLimit() {
		action = limitAction(set)
	}
	r.setLimit(action, floorRate(set))
}

// refreshLimit is applyLimit with the current settings and session.
func (d *Daemon) refreshLimit() {
	d.mu.Lock()
	set, s := d.settings, d.sess
	d.mu.Unlock()
	d.applyLimit(s, set)
}

// holdAtLimit holds the session at the budget's limit, which refused a
// circuit with err: the state says so (an error with the budget's reason
// and Status.AtLimit) while the data plane stays up, until the budget or a
// setting changes or the period ends. It returns the session's error if
// the session ends meanwhile.
func (d *Daemon) holdAtLimit(s *session, err error) error {
	changed := d.pay.engine.Changed()
	d.mu.Lock()
	set := d.settings
	d.mu.Unlock()
	action := limitAction(set)
	s.held.Store(true)
	defer func() {
		s.held.Store(false)
		d.refreshLimit()
	}()
	d.applyLimit(s, set)
	how := "traffic is held (the tunnel stays up) until the budget is raised or the month ends"
	if action == api.LimitDirect {
		how = "traffic goes direct, outside the tunnel, until the budget is raised or the month ends"
	}
	d.setState(api.StateError, &limitError{how: how, err: err}, nil)
	d.feed.Publish(api.Event{Type: api.EventLog, Time: time.Now(), Log: &api.LogLine{Level: "warn", Message: "budget spent: " + how}})
	end := time.Until(d.pay.engine.Period().End)
	t := time.NewTimer(max(end, time.Second))
	defer t.Stop()
	select {
	case <-s.ctx.Done():
		return s.ctx.Err()
	case <-changed:
	case <-t.C:
	}
	// The plan refused the nodes for the budget, not for their terms;
	// and the accounts, sized for the old budget, follow the new one
	// before the next build is planned against them.
	s.pool.ForgetRefusals()
	s.fundMu.Lock()
	hops := s.hops
	ferr := d.pay.fund(s.ctx, s.cl, hops, d.cfg.Logf)
	s.fundMu.Unlock()
	if ferr != nil && s.ctx.Err() == nil {
		d.cfg.Logf("hop accounts after the budget changed: %v", ferr)
	}
	return nil
}

// limitError is the state's error while the session holds at the limit:
// it is the budget's (api.ReasonBudgetExhausted) whatever the last build
// failed with.
type limitError struct {
	how string
	err error
}

func (e *limitError) Error() string { return "at the budget's limit, " + e.how + ": " + e.err.Error() }

func (e *limitError) Unwrap() []error { return []error{budget.ErrBudgetExhausted, e.err} }

// routerLimit is what the router does at the budget's limit.
type routerLimit struct {
	action api.LimitAction
	floor  uint64        // bytes per second, for throttle
	rate   *rate.Limiter // throttle: all tunnelled flows together
}

// setLimit puts action in force ("" for none), keeping the throttle's
// bucket while its rate stays the same.
func (r *router) setLimit(action api.LimitAction, floor uint64) {
	r.limitMu.Lock()
	defer r.limitMu.Unlock()
	cur := r.limit.Load()
	switch {
	case action == "" || action == api.LimitStop:
		r.limit.Store(nil)
	case cur != nil && cur.action == action && cur.floor == floor:
	case action == api.LimitThrottle && floor > 0:
		burst := max(int(min(floor/4, 1<<20)), 4096)
		r.limit.Store(&routerLimit{action: action, floor: floor, rate: rate.NewLimiter(rate.Limit(floor), burst)})
	case action == api.LimitDirect:
		r.limit.Store(&routerLimit{action: action})
	default:
		r.limit.Store(nil)
	}
}

// direct reports whether flows go straight out at the limit.
func (r *router) limitDirect() bool {
	l := r.limit.Load()
	return l != nil && l.action == api.LimitDirect
}

// throttle is the floor's bucket in force, or nil.
func (r *router) throttle() *rate.Limiter {
	if l := r.limit.Load(); l != nil {
		return l.rate
	}
	return nil
}

// throttledRead reads into p, at most a burst of lim, and waits for what
// it read.
func throttledRead(c net.Conn, p []byte, lim *rate.Limiter) (int, error) {
	if len(p) > lim.Burst() {
		p = p[:lim.Burst()]
	}
	n, err := c.Read(p)
	if n > 0 {
		_ = lim.WaitN(context.Background(), n) // n ≤ burst: cannot fail
	}
	return n, err
}

// throttledWrite writes p in bursts of lim.
func throttledWrite(c net.Conn, p []byte, lim *rate.Limiter) (int, error) {
	done := 0
	for done < len(p) {
		k := min(len(p)-done, lim.Burst())
		_ = lim.WaitN(context.Background(), k)
		n, err := c.Write(p[done : done+k])
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}
