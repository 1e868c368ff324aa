package budget

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// Defaults for the zero values of Config.
const (
	DefaultDelta          = 0.001
	DefaultFaceToGasRatio = 20
	DefaultMinVolume      = 1_000_000_000 // bytes: 1 GB per period
	DefaultBurst          = 24 * time.Hour
	DefaultClaimWindow    = 15 * time.Minute
	DefaultFlushInterval  = 10 * time.Second
)

// Config configures an Engine. Amounts are in the token's smallest unit.
// Zero values take the defaults.
type Config struct {
	// Budget is the most the account may pay out (winning tickets) in one
	// period. Required; zero issues nothing until SetBudget raises it.
	Budget *big.Int

	// PeriodStart and PeriodEnd fix the budget period [start, end). Leave
	// both zero for calendar months in Location, rolling over by themselves.
	PeriodStart, PeriodEnd time.Time
	// Location of calendar months and of the ledger's days; default the
	// location of the times Clock returns.
	Location *time.Location

	// Delta bounds the chance that the account's balance runs dry before
	// the period ends under the binomial model (see Engine.Params), and the
	// chance that tickets still out when the budget runs low overshoot it by
	// more than one face value. Default 0.001.
	Delta float64

	// ClaimCost is what a node pays to claim one winner on chain (gas ×
	// gas price), in token units. Nodes refuse tickets with a face value
	// below ClaimCost × FaceToGasRatio (MinFace).
	ClaimCost *big.Int
	// FaceToGasRatio: the claim may eat at most 1/FaceToGasRatio of a
	// winner. Default 20 (5 %).
	FaceToGasRatio uint64

	// MinVolume is the least traffic, in bytes per whole period, that a
	// circuit must be able to carry on what is left of the budget (pro rata
	// for the rest of the period); a dearer circuit is refused with
	// ErrPriceAboveBudget. Default 1 GB.
	MinVolume uint64

	// Burst is how much of the spend rate the throttle may save up while
	// idle, as a duration of it: up to Burst × rate can be issued at once.
	// Default 24 hours, so that daily usage concentrated in a few hours can
	// still use the day's share of the budget.
	Burst time.Duration
	// ClaimWindow is how long after issue a winner may take to be reported
	// (RecordWin): the node's batching and the chain's inclusion. Near the
	// end of the budget the engine holds back tickets so that winners still
	// in this window overshoot the budget by more than one face value with
	// probability at most Delta. Default 15 minutes; negative disables it
	// (only spent + face ≤ budget is checked).
	ClaimWindow time.Duration

	// TokenUnit is the number of smallest units in a whole token (default
	// 10^18) and Symbol the token's symbol (default "tokens"); for display.
	TokenUnit *big.Int
	Symbol    string
	// FiatPerToken, if positive, is the price of one whole token in the
	// fiat currency Fiat (an ISO 4217 code, default "USD"), for display
	// only. It is exact: fiat amounts are computed with rationals, never
	// with floats.
	FiatPerToken *big.Rat
	Fiat         string

	// Ledger keeps spend durably; nil keeps it in memory only.
	Ledger *Ledger
	// FlushInterval: issued tickets are written to the ledger at most this
	// long after they are recorded (winners are written at once). Default
	// 10 seconds; negative writes every ticket.
	FlushInterval time.Duration

	// Clock is the time source (default time.Now); Sleep waits for Wait
	// (default a real timer). Tests replace both to compress time.
	Clock func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Engine keeps spend within a budget. It picks ticket parameters per hop
// (Params), throttles issuing to the budget's spend rate (Allow, Wait),
// refuses any ticket that could take actual spend past the budget, records
// spend durably (RecordIssued, RecordWin) and forecasts the period's total
// (Forecast). It is safe for concurrent use.
type Engine struct {
	cfg      Config
	minFace  *big.Int
	calendar bool
	loc      *time.Location

	mu         sync.Mutex
	budget     *big.Int
	period     Period
	spent      *big.Int // winners paid this period
	issued     *big.Int // expected value issued this period
	faceSum    *big.Int // face values issued this period
	tickets    uint64
	wins       uint64
	firstIssue time.Time
	level      *big.Int  // throttle bucket: expected value that may be issued now
	last       time.Time // when level was last brought up to date
	inflight   []slot    // tickets issued within ClaimWindow, per minute
	throttled  time.Time // when the throttle last held a ticket back
	batches    []*batch  // spend not yet in the ledger
	lastFlush  time.Time
	changed    chan struct{} // closed when the budget or zone changes

	// floor, if not zero, is the rate in bytes per second at which
	// tickets are still paid once the budget is spent (SetFloor); next is
	// when each hop position may have its next such ticket.
	floor uint64
	next  map[int]time.Time
}

// slot is the tickets issued in one minute.
type slot struct {
	at      time.Time
	n       uint64
	sumP    float64
	maxFace *big.Int
}

// New returns an engine for cfg, resuming the period's spend from the
// ledger if it has any.
func New(cfg Config) (*Engine, error) {
	if cfg.Budget == nil || cfg.Budget.Sign() < 0 {
		return nil, fmt.Errorf("%w: budget must be zero or more", ErrConfig)
	}
	cfg.Budget = new(big.Int).Set(cfg.Budget)
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	if cfg.Delta == 0 {
		cfg.Delta = DefaultDelta
	}
	if !(cfg.Delta > 0 && cfg.Delta < 1) {
		return nil, fmt.Errorf("%w: delta %v not in (0, 1)", ErrConfig, cfg.Delta)
	}
	if cfg.ClaimCost == nil {
		cfg.ClaimCost = new(big.Int)
	}
	if cfg.ClaimCost.Sign() < 0 {
		return nil, fmt.Errorf("%w: negative claim cost %v", ErrConfig, cfg.ClaimCost)
	}
	if cfg.FaceToGasRatio == 0 {
		cfg.FaceToGasRatio = DefaultFaceToGasRatio
	}
	if cfg.MinVolume == 0 {
		cfg.MinVolume = DefaultMinVolume
	}
	if cfg.Burst == 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.Burst < 0 {
		return nil, fmt.Errorf("%w: negative burst %v", ErrConfig, cfg.Burst)
	}
	if cfg.ClaimWindow == 0 {
		cfg.ClaimWindow = DefaultClaimWindow
	}
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = DefaultFlushInterval
	}
	if cfg.TokenUnit == nil {
		cfg.TokenUnit = new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	}
	if cfg.TokenUnit.Sign() <= 0 {
		return nil, fmt.Errorf("%w: token unit %v must be positive", ErrConfig, cfg.TokenUnit)
	}
	if cfg.Symbol == "" {
		cfg.Symbol = "tokens"
	}
	if cfg.FiatPerToken != nil {
		if cfg.FiatPerToken.Sign() < 0 {
			return nil, fmt.Errorf("%w: negative fiat price %v", ErrConfig, cfg.FiatPerToken.RatString())
		}
		cfg.FiatPerToken = new(big.Rat).Set(cfg.FiatPerToken)
	}
	if cfg.Fiat == "" {
		cfg.Fiat = "USD"
	}

	now := cfg.Clock()
	e := &Engine{cfg: cfg, budget: new(big.Int).Set(cfg.Budget), loc: cfg.Location}
	if e.loc == nil {
		e.loc = now.Location()
	}
	e.minFace = new(big.Int).Mul(cfg.ClaimCost, new(big.Int).SetUint64(cfg.FaceToGasRatio))
	if e.minFace.Sign() == 0 {
		e.minFace.SetInt64(1)
	}
	var p Period
	switch {
	case cfg.PeriodStart.IsZero() && cfg.PeriodEnd.IsZero():
		e.calendar = true
		p = monthOf(now, e.loc)
	case cfg.PeriodStart.IsZero() || cfg.PeriodEnd.IsZero():
		return nil, fmt.Errorf("%w: set both period start and end, or neither", ErrConfig)
	case !cfg.PeriodEnd.After(cfg.PeriodStart):
		return nil, fmt.Errorf("%w: period ends %v before it starts %v", ErrConfig, cfg.PeriodEnd, cfg.PeriodStart)
	default:
		p = Period{cfg.PeriodStart, cfg.PeriodEnd}
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.startPeriodLocked(now, p); err != nil {
		return nil, err
	}
	if cfg.Ledger != nil {
		if err := cfg.Ledger.apply(nil, e.snapshotLocked()); err != nil {
			return nil, fmt.Errorf("budget: start: %w", err)
		}
	}
	e.lastFlush = now
	return e, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// monthOf is the calendar month containing t, in loc.
func monthOf(t time.Time, loc *time.Location) Period {
	t = t.In(loc)
	start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
	return Period{start, start.AddDate(0, 1, 0)}
}

// MinFace is the smallest face value nodes accept: claim cost × ratio (at
// least 1).
func (e *Engine) MinFace() *big.Int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return new(big.Int).Set(e.minFace)
}

// Period is the current budget period.
func (e *Engine) Period() Period {
	e.mu.Lock()
	defer e.mu.Unlock()
	_ = e.rollLocked(e.cfg.Clock()) // a failed load keeps the old period
	return e.period
}

// startPeriodLocked makes p the current period, resuming its state from the
// ledger.
func (e *Engine) startPeriodLocked(now time.Time, p Period) error {
	st := periodState{Start: p.Start, End: p.End}
	if e.cfg.Ledger != nil {
		var err error
		if st, err = e.cfg.Ledger.load(p); err != nil {
			return fmt.Errorf("budget: resume period: %w", err)
		}
	}
	e.period = p
	e.spent = orZero(st.Won)
	e.issued = orZero(st.Issued)
	e.faceSum = orZero(st.FaceSum)
	e.tickets, e.wins = st.Tickets, st.Wins
	e.firstIssue = st.FirstIssue
	if now.Before(p.Start) {
		now = p.Start
	}
	if st.Level != nil && !st.LevelAt.IsZero() {
		// Resume the throttle where it was, refilled since (not at all if
		// the clock went back): a restart grants no extra burst.
		e.level, e.last = new(big.Int).Set(st.Level), st.LevelAt
		if e.last.After(now) {
			e.last = now
		}
		e.refillLocked(now)
		return nil
	}
	e.level = e.capacityLocked(now) // a fresh bucket is full
	e.last = now
	return nil
}

// rollLocked moves a calendar engine into the month containing now.
func (e *Engine) rollLocked(now time.Time) error {
	if !e.calendar || now.Before(e.period.End) {
		return nil
	}
	// The old period's unwritten spend stays queued in e.batches.
	return e.startPeriodLocked(now, nextMonth(e.period, now, e.loc))
}

// nextMonth is the calendar period after prev at now, in loc: the month
// containing now. After a change of zone that month may begin before prev
// ends; it then begins at prev's end instead, and if that leaves less than
// a week, it runs on to the end of the following month, so no stretch of
// time is budgeted twice nor gets a budget of its own for a few hours.
func nextMonth(prev Period, now time.Time, loc *time.Location) Period {
	p := monthOf(now, loc)
	if p.Start.Before(prev.End) && !now.Before(prev.End) {
		p.Start = prev.End
		if p.End.Sub(p.Start) < 7*24*time.Hour {
			p.End = monthOf(p.End, loc).End
		}
	}
	return p
}

// remainingLocked is budget − spent, at least 0.
func (e *Engine) remainingLocked() *big.Int {
	u := new(big.Int).Sub(e.budget, e.spent)
	if u.Sign() < 0 {
		u.SetInt64(0)
	}
	return u
}

// capacityLocked is the bucket size at now: the spend rate (remaining /
// remaining time) times Burst, at most the remaining budget.
func (e *Engine) capacityLocked(now time.Time) *big.Int {
	u := e.remainingLocked()
	tau := e.period.End.Sub(now)
	if tau <= e.cfg.Burst {
		return u
	}
	u.Mul(u, big.NewInt(int64(e.cfg.Burst)))
	return u.Quo(u, big.NewInt(int64(tau)))
}

// refillLocked brings the bucket up to now. The bucket fills at
// (remaining − level) / (time left): what is in the bucket is already
// promised, so a bucket that saved up while idle does not also speed up the
// rate, and all the bucket ever releases over the rest of the period is at
// most the remaining budget.
func (e *Engine) refillLocked(now time.Time) {
	to := now
	if now.After(e.last) {
		from := e.last
		e.last = now
		if from.Before(e.period.Start) {
			from = e.period.Start
		}
		if to.After(e.period.End) {
			to = e.period.End
		}
		if to.After(from) {
			avail := e.remainingLocked()
			if e.level.Sign() > 0 {
				avail.Sub(avail, e.level)
			}
			if avail.Sign() > 0 {
				avail.Mul(avail, big.NewInt(int64(to.Sub(from))))
				avail.Quo(avail, big.NewInt(int64(e.period.End.Sub(from))))
				e.level.Add(e.level, avail)
			}
		}
	}
	// Also when no time passed: a winner since the last call shrinks the
	// remaining budget, and with it the bucket.
	if c := e.capacityLocked(to); e.level.Cmp(c) > 0 {
		e.level.Set(c)
	}
}

// winProbability is (ratio+1)/2^64.
func winProbability(ratio uint64) float64 {
	return math.Min(1, (float64(ratio)+1)/18446744073709551616.0)
}

func validTicket(t TicketParams) error {
	if t.Face == nil || t.Face.Sign() <= 0 || t.ExpectedValue == nil || t.ExpectedValue.Sign() < 0 {
		return fmt.Errorf("%w: ticket needs a positive face value and a non-negative expected value", ErrInvalidQuote)
	}
	return nil
}

// checkLocked says how long until t may be issued: 0 means now. An error
// means not in this period.
func (e *Engine) checkLocked(now time.Time, t TicketParams) (time.Duration, error) {
	if err := validTicket(t); err != nil {
		return 0, err
	}
	if err := e.rollLocked(now); err != nil {
		return 0, err
	}
	if now.Before(e.period.Start) {
		return e.period.Start.Sub(now), nil
	}
	if !now.Before(e.period.End) {
		return 0, fmt.Errorf("%w: %v", ErrPeriodEnded, e.period)
	}
	e.refillLocked(now)
	// Hard stop: a winner must never take actual spend past the budget,
	// unless the user chose to go on paying at a floor rate.
	if e.overLocked(t.Face) {
		if e.floor > 0 {
			return e.floorWaitLocked(now, t), nil
		}
		return 0, fmt.Errorf("%w: spent %v + face %v > budget %v", ErrBudgetExhausted, e.spent, t.Face, e.budget)
	}
	var wait time.Duration
	if ok, retry := e.guardLocked(now, t); !ok {
		wait = max(retry.Sub(now), time.Nanosecond)
	}
	return max(wait, e.bucketWaitLocked(now, t.ExpectedValue)), nil
}

// guardLocked applies the in-flight rule: with winners of the last
// ClaimWindow possibly still unreported, issue t only if the (1−Delta)
// quantile Q of their count (t included, at least 1) keeps spent + Q × the
// largest face within the budget. The count is modelled as Binomial(m, mean
// p), which by Hoeffding's theorem bounds the upper tail of the true
// Poisson-binomial count. If not, retry is when the oldest minute of
// tickets leaves the window.
func (e *Engine) guardLocked(now time.Time, t TicketParams) (ok bool, retry time.Time) {
	if e.cfg.ClaimWindow < 0 {
		return true, time.Time{}
	}
	e.pruneLocked(now)
	if len(e.inflight) == 0 {
		return true, time.Time{} // spent + face ≤ budget was checked
	}
	m := uint64(1)
	sumP := winProbability(t.Ratio)
	fmax := new(big.Int).Set(t.Face)
	for _, s := range e.inflight {
		m += s.n
		sumP += s.sumP
		if s.maxFace.Cmp(fmax) > 0 {
			fmax.Set(s.maxFace)
		}
	}
	worst := new(big.Int).Mul(new(big.Int).SetUint64(m), fmax)
	if worst.Add(worst, e.spent).Cmp(e.budget) <= 0 {
		return true, time.Time{} // even if every one wins
	}
	q := max(BinomialQuantile(m, math.Min(1, sumP/float64(m)), 1-e.cfg.Delta), 1)
	need := new(big.Int).Mul(new(big.Int).SetUint64(q), fmax)
	if need.Add(need, e.spent).Cmp(e.budget) <= 0 {
		return true, time.Time{}
	}
	return false, e.inflight[0].at.Add(time.Minute + e.cfg.ClaimWindow)
}

func (e *Engine) pruneLocked(now time.Time) {
	i := 0
	for i < len(e.inflight) && !now.Before(e.inflight[i].at.Add(time.Minute+e.cfg.ClaimWindow)) {
		i++
	}
	e.inflight = e.inflight[i:]
}

// bucketWaitLocked is how long until the bucket holds ev, or is full if ev
// is more than it can hold.
func (e *Engine) bucketWaitLocked(now time.Time, ev *big.Int) time.Duration {
	target := e.capacityLocked(now)
	if ev.Cmp(target) < 0 {
		target.Set(ev)
	}
	if e.level.Cmp(target) >= 0 {
		return 0
	}
	// The bucket gains (u − L)·dt/τ over dt: wait τ·(target − L)/(u − L).
	// Below zero it gains u·dt/τ until it reaches zero.
	u := e.remainingLocked()
	den := new(big.Int).Set(u)
	if e.level.Sign() > 0 {
		den.Sub(den, e.level)
	}
	if den.Sign() <= 0 {
		return time.Minute // cannot happen: level < target ≤ remaining
	}
	num := new(big.Int).Sub(target, e.level)
	num.Mul(num, big.NewInt(int64(e.period.End.Sub(now))))
	num.Add(num, den)
	num.Sub(num, big.NewInt(1))
	num.Quo(num, den) // ceiling
	if !num.IsInt64() {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(num.Int64())
}

// Allow reports whether a ticket t may be issued at now, and if so takes
// its expected value from the throttle; the caller then issues it and calls
// RecordIssued. It is false while the throttle is empty, and for good once
// spent + t.Face would exceed the budget.
func (e *Engine) Allow(now time.Time, t TicketParams) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, err := e.checkLocked(now, t)
	if err != nil || d > 0 {
		if err == nil {
			e.throttled = now
		}
		return false
	}
	e.admitLocked(now, t)
	return true
}

// Delay is how long from now until Allow would let t through, without
// taking anything. It fails with ErrBudgetExhausted (or ErrPeriodEnded) when
// t will not be allowed in this period.
func (e *Engine) Delay(now time.Time, t TicketParams) (time.Duration, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.checkLocked(now, t)
}

// Wait blocks until t may be issued and takes it from the throttle, like
// Allow; it returns early with ctx's error, or with ErrBudgetExhausted or
// ErrPeriodEnded.
func (e *Engine) Wait(ctx context.Context, t TicketParams) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		now := e.cfg.Clock()
		e.mu.Lock()
		d, err := e.checkLocked(now, t)
		if err == nil && d == 0 {
			e.admitLocked(now, t)
		} else if err == nil {
			e.throttled = now
		}
		if e.changed == nil {
			e.changed = make(chan struct{})
		}
		changed := e.changed
		e.mu.Unlock()
		if err != nil {
			return err
		}
		if d == 0 {
			return nil
		}
		if err := e.sleepUnlessChanged(ctx, d, changed); err != nil {
			return err
		}
	}
}

// sleepUnlessChanged sleeps d with cfg.Sleep, cut short when changed is
// closed (a new budget or zone: the wait is re-planned).
func (e *Engine) sleepUnlessChanged(ctx context.Context, d time.Duration, changed <-chan struct{}) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-changed:
			cancel()
		case <-sctx.Done():
		}
	}()
	err := e.cfg.Sleep(sctx, d)
	cancel()
	<-done
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil && sctx.Err() == nil {
		return err
	}
	return nil
}

func (e *Engine) admitLocked(now time.Time, t TicketParams) {
	if e.floor > 0 && e.overLocked(t.Face) {
		// Past the budget at the floor rate: paced per hop, outside
		// the throttle, which has nothing left to give.
		if e.next == nil {
			e.next = map[int]time.Time{}
		}
		e.next[t.Hop] = now.Add(e.floorInterval(t))
		return
	}
	e.level.Sub(e.level, t.ExpectedValue)
	if e.cfg.ClaimWindow < 0 {
		return
	}
	at := now.Truncate(time.Minute)
	if n := len(e.inflight); n > 0 && e.inflight[n-1].at.Equal(at) {
		s := &e.inflight[n-1]
		s.n++
		s.sumP += winProbability(t.Ratio)
		if t.Face.Cmp(s.maxFace) > 0 {
			s.maxFace.Set(t.Face)
		}
		return
	}
	e.inflight = append(e.inflight, slot{at: at, n: 1, sumP: winProbability(t.Ratio), maxFace: new(big.Int).Set(t.Face)})
}

// RecordIssued records a ticket issued to node at hop (0 = entry) for
// application app, with its expected value and face value. It is written
// to the ledger within FlushInterval; an error means the ledger write
// failed (the ticket is still counted, and retried with the next write).
func (e *Engine) RecordIssued(expectedValue, faceValue *big.Int, hop int, node common.Address, app string) error {
	if expectedValue == nil || expectedValue.Sign() < 0 || faceValue == nil || faceValue.Sign() <= 0 || hop < 0 || uint64(hop) > math.MaxUint32 {
		return fmt.Errorf("%w: record issued: expected value %v, face %v, hop %d", ErrInvalidQuote, expectedValue, faceValue, hop)
	}
	now := e.cfg.Clock()
	e.mu.Lock()
	defer e.mu.Unlock()
	rollErr := e.rollLocked(now)
	b := e.issueLocked(now, expectedValue, faceValue)
	b.add(&record{Issued: expectedValue, Tickets: 1}, hop, node, app, e.day(now))
	var err error
	if now.Sub(e.lastFlush) >= e.cfg.FlushInterval {
		err = e.flushLocked(now)
	}
	return errors.Join(rollErr, err)
}

// RecordWin records a winning ticket paid from the account: amount left
// it, for node at hop and application app. It counts against the current
// period at once and is on disk when RecordWin returns nil; on an error
// (ledger unwritable) it still counts, and the write is retried with the
// next one.
func (e *Engine) RecordWin(amount *big.Int, hop int, node common.Address, app string) error {
	return e.recordWin(amount, hop, node, ByApp, app)
}

// recordWin is RecordWin and RecordProfileWin: the win counts under its
// hop, node and day and under label in breakdown by (ByApp or ByProfile).
func (e *Engine) recordWin(amount *big.Int, hop int, node common.Address, by, label string) error {
	if amount == nil || amount.Sign() < 0 || hop < 0 || uint64(hop) > math.MaxUint32 {
		return fmt.Errorf("%w: record win: amount %v, hop %d", ErrInvalidQuote, amount, hop)
	}
	now := e.cfg.Clock()
	e.mu.Lock()
	defer e.mu.Unlock()
	rollErr := e.rollLocked(now)
	e.spent.Add(e.spent, amount)
	e.wins++
	b := e.batchLocked()
	b.won.Add(b.won, amount)
	b.wins++
	d := &record{Won: amount, Wins: 1}
	for _, k := range []recKey{
		{ByHop, string(hopKey(hop))},
		{ByNode, string(node[:])},
		{ByDay, e.day(now)},
		{by, string(appKey(label))},
	} {
		b.addTo(k, d)
	}
	return errors.Join(rollErr, e.flushLocked(now))
}

// Flush writes recorded spend to the ledger now (call before shutdown).
func (e *Engine) Flush() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.flushLocked(e.cfg.Clock())
}

// SetLocation moves calendar months (and the ledger's days) to loc. While
// nothing was issued or won in the current period, it becomes the month
// containing now in loc at once. Otherwise the current period keeps its
// bounds and its spend, so a change of zone never splits a month's spend
// or grants a second budget; the next period starts where it ends and runs
// to midnight of a 1st in loc (see nextMonth). Tickets waiting in Wait are
// re-planned at once.
func (e *Engine) SetLocation(loc *time.Location) error {
	if loc == nil {
		return fmt.Errorf("%w: no time zone", ErrConfig)
	}
	now := e.cfg.Clock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.loc.String() == loc.String() {
		return nil
	}
	e.loc = loc
	e.wakeLocked()
	if !e.calendar || e.tickets > 0 || e.wins > 0 || e.spent.Sign() > 0 {
		return nil
	}
	if p := monthOf(now, loc); !p.equal(e.period) {
		return e.startPeriodLocked(now, p)
	}
	return nil
}

// Location is the time zone of the engine's calendar months.
func (e *Engine) Location() *time.Location {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.loc
}

// wakeLocked re-plans every ticket waiting in Wait.
func (e *Engine) wakeLocked() {
	if e.changed != nil {
		close(e.changed)
	}
	e.changed = make(chan struct{})
}

// SetBudget changes the budget from now on; spend so far is kept. Tickets
// waiting in Wait are re-planned at once. Zero stops issuing; raising the
// budget later (or past what was spent) lets tickets through again.
func (e *Engine) SetBudget(budget *big.Int) error {
	if budget == nil || budget.Sign() < 0 {
		return fmt.Errorf("%w: budget must be zero or more", ErrConfig)
	}
	now := e.cfg.Clock()
	e.mu.Lock()
	defer e.mu.Unlock()
	rollErr := e.rollLocked(now)
	e.refillLocked(now)
	before := e.capacityLocked(now)
	e.budget = new(big.Int).Set(budget)
	c := e.capacityLocked(now)
	if c.Cmp(before) > 0 {
		// A raise brings the burst the new budget would have saved up,
		// as a fresh bucket has: traffic held at a spent (or zero)
		// budget resumes at once.
		e.level.Add(e.level, new(big.Int).Sub(c, before))
	}
	if e.level.Cmp(c) > 0 {
		e.level.Set(c)
	}
	e.wakeLocked()
	return errors.Join(rollErr, e.flushLocked(now))
}

// overLocked reports whether a winner of face would take spend past the
// budget: the budget's limit.
func (e *Engine) overLocked(face *big.Int) bool {
	return new(big.Int).Add(e.spent, face).Cmp(e.budget) > 0
}

// AtLimit reports whether the budget is spent: what is left cannot cover
// a ticket of the smallest face value.
func (e *Engine) AtLimit() bool {
	now := e.cfg.Clock()
	e.mu.Lock()
	defer e.mu.Unlock()
	_ = e.rollLocked(now) // a failed load keeps the old period
	return e.overLocked(e.minFace)
}

// SetFloor sets what happens at the budget's limit: with a rate of zero
// (the default) no ticket is issued past the budget (ErrBudgetExhausted);
// otherwise tickets go on at bytesPerSecond for each hop position, each
// paying for the bytes it says (TicketParams.Bytes), so the circuit keeps
// that rate and spend goes on growing at it past the budget. Tickets
// waiting in Wait are re-planned at once.
func (e *Engine) SetFloor(bytesPerSecond uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.floor == bytesPerSecond {
		return
	}
	e.floor = bytesPerSecond
	e.wakeLocked()
}

// Floor is the rate SetFloor set.
func (e *Engine) Floor() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.floor
}

// Changed returns a channel closed at the next change of the budget, the
// zone or the floor: a caller holding traffic at the limit waits on it.
func (e *Engine) Changed() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.changed == nil {
		e.changed = make(chan struct{})
	}
	return e.changed
}

// floorInterval is how long the bytes t pays for take at the floor rate.
func (e *Engine) floorInterval(t TicketParams) time.Duration {
	b := t.Bytes
	if b == 0 {
		b = DefaultBytesPerTicket
	}
	d := new(big.Int).Mul(new(big.Int).SetUint64(b), big.NewInt(int64(time.Second)))
	d.Quo(d, new(big.Int).SetUint64(e.floor))
	if !d.IsInt64() {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(d.Int64())
}

// floorWaitLocked is how long until hop t.Hop may have its next ticket
// past the budget at the floor rate.
func (e *Engine) floorWaitLocked(now time.Time, t TicketParams) time.Duration {
	if next, ok := e.next[t.Hop]; ok && now.Before(next) {
		return next.Sub(now)
	}
	return 0
}

func (e *Engine) day(now time.Time) string { return now.In(e.loc).Format("2006-01-02") }

func (e *Engine) batchLocked() *batch {
	if n := len(e.batches); n > 0 && e.batches[n-1].period.equal(e.period) {
		return e.batches[n-1]
	}
	b := newBatch(e.period)
	e.batches = append(e.batches, b)
	return b
}

// snapshotLocked is the engine state written with every ledger write.
func (e *Engine) snapshotLocked() snapshot {
	return snapshot{period: e.period, budget: new(big.Int).Set(e.budget), level: new(big.Int).Set(e.level), levelAt: e.last}
}

func (e *Engine) flushLocked(now time.Time) error {
	e.lastFlush = now
	if e.cfg.Ledger == nil {
		e.batches = nil
		return nil
	}
	if err := e.cfg.Ledger.apply(e.batches, e.snapshotLocked()); err != nil {
		return fmt.Errorf("budget: record spend: %w", err)
	}
	e.batches = nil
	return nil
}
