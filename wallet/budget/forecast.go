package budget

import (
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"
)

// ForecastLevel is the probability the Forecast band is meant to hold.
const ForecastLevel = 0.95

// forecastHistory is how much issuing history the forecast wants before it
// trusts the observed rate over the throttle's.
const forecastHistory = time.Hour

// Forecast estimates the period's total actual spend at its end: mean, and
// a band [low, high] meant to hold it with probability ForecastLevel.
//
// The rest of the period is forecast at the current rate. If the throttle
// held a ticket back within the last Burst (demand exceeds the budget's
// rate), that is the throttle's rate: all that is left of the budget will
// go. Otherwise it is the expected value issued per unit time since the
// period's first ticket (the throttle's rate before an hour of history),
// at most what is left of the budget. It is paid in
// winners of the period's average face value F̄ and win probability p̄, so
// the rest is F̄·Binomial(n, p̄) with n·p̄·F̄ the expected rest; the band is
// spend so far plus F̄ times that binomial's 2.5 % and 97.5 % quantiles.
// Nothing goes above budget + F̄, which the hard stop guarantees as long as
// winners are reported within the claim window.
func (e *Engine) Forecast(now time.Time) (mean, low, high *big.Int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.forecastLocked(now)
}

func (e *Engine) forecastLocked(now time.Time) (mean, low, high *big.Int) {
	_ = e.rollLocked(now) // on failure, forecast the period it has
	spent := new(big.Int).Set(e.spent)
	from := now
	if from.Before(e.period.Start) {
		from = e.period.Start
	}
	left := e.period.End.Sub(from)
	remaining := e.remainingLocked()
	if left <= 0 || remaining.Sign() == 0 {
		return spent, new(big.Int).Set(spent), new(big.Int).Set(spent)
	}

	// Expected value of the rest: all that is left while demand keeps
	// hitting the throttle, else the rate observed so far.
	rest := new(big.Int).Set(remaining)
	saturated := !e.throttled.IsZero() && now.Sub(e.throttled) < max(e.cfg.Burst, forecastHistory)
	if hist := now.Sub(e.firstIssue); !saturated && e.tickets > 0 && hist >= forecastHistory {
		rest.Mul(e.issued, big.NewInt(int64(left)))
		rest.Quo(rest, big.NewInt(int64(hist)))
		if rest.Cmp(remaining) > 0 {
			rest.Set(remaining)
		}
	}

	face, p := e.averageTicketLocked()
	limit := new(big.Int).Add(e.budget, face)
	if spent.Cmp(limit) > 0 {
		limit.Set(spent)
	}
	mean = new(big.Int).Add(spent, rest)
	n, p := ticketsFor(rest, face, p)
	if n == 0 {
		return minInt(mean, limit), spent, minInt(mean, limit)
	}
	tail := (1 - ForecastLevel) / 2
	kLo := BinomialQuantile(n, p, tail)
	kHi := BinomialQuantile(n, p, 1-tail)
	low = new(big.Int).Mul(new(big.Int).SetUint64(kLo), face)
	low.Add(low, spent)
	high = new(big.Int).Mul(new(big.Int).SetUint64(kHi), face)
	high.Add(high, spent)
	return minInt(mean, limit), minInt(low, limit), minInt(high, limit)
}

// averageTicketLocked is the average face value and win probability of
// the period's tickets (the smallest face and a near-Poisson p before the
// first).
func (e *Engine) averageTicketLocked() (face *big.Int, p float64) {
	face = new(big.Int).Set(e.minFace)
	p = 1e-4 // no tickets yet: close to the Poisson limit
	if e.tickets > 0 && e.faceSum.Sign() > 0 {
		face.Quo(e.faceSum, new(big.Int).SetUint64(e.tickets))
		p, _ = new(big.Rat).SetFrac(e.issued, e.faceSum).Float64()
		p = math.Min(math.Max(p, 1e-18), 1)
	}
	if face.Sign() <= 0 {
		face.SetInt64(1)
	}
	return face, p
}

// demandHistory is the least issuing history the outlook wants before it
// names a demand rate.
const demandHistory = time.Minute

// Outlook is where the current demand leads: the rate tickets were issued
// at since the period's first, how long what is left of the budget lasts
// at that rate, and the chance that it runs out before the period ends.
type Outlook struct {
	// DemandPerHour is the expected value issued per hour since the
	// period's first ticket; nil before demandHistory of issuing.
	DemandPerHour *big.Int
	// RunsOutIn is how long the remaining budget lasts at DemandPerHour
	// (remaining / rate); zero when the budget is spent, and meaningless
	// while DemandPerHour is nil. It may reach past the period's end.
	RunsOutIn time.Duration
	// RunOut is the probability that the budget runs out (no further face
	// value fits) before the period ends if demand keeps its rate: the
	// winners of the rest, F̄·Binomial(n, p̄) for the expected value the
	// rate issues in the time left, exceed what is left minus one face.
	// It is 1 while the throttle holds tickets back (demand is above the
	// budget's rate already) or once the budget is spent, and 0 with no
	// demand.
	RunOut float64
}

func (e *Engine) outlookLocked(now time.Time) Outlook {
	var o Outlook
	remaining := e.remainingLocked()
	face, p := e.averageTicketLocked()
	if remaining.Cmp(face) < 0 {
		o.RunOut = 1
	}
	hist := now.Sub(e.firstIssue)
	if e.tickets == 0 || e.issued.Sign() == 0 || hist < demandHistory {
		return o
	}
	o.DemandPerHour = new(big.Int).Mul(e.issued, big.NewInt(int64(time.Hour)))
	o.DemandPerHour.Quo(o.DemandPerHour, big.NewInt(int64(hist)))
	lasts := new(big.Int).Mul(remaining, big.NewInt(int64(hist)))
	lasts.Quo(lasts, e.issued)
	if lasts.IsInt64() {
		o.RunsOutIn = time.Duration(lasts.Int64())
	} else {
		o.RunsOutIn = time.Duration(math.MaxInt64)
	}
	if o.RunOut == 1 {
		return o
	}
	if !e.throttled.IsZero() && now.Sub(e.throttled) < max(e.cfg.Burst, forecastHistory) {
		o.RunOut = 1
		return o
	}
	from := now
	if from.Before(e.period.Start) {
		from = e.period.Start
	}
	left := e.period.End.Sub(from)
	if left <= 0 {
		return o
	}
	rest := new(big.Int).Mul(e.issued, big.NewInt(int64(left)))
	rest.Quo(rest, big.NewInt(int64(hist)))
	n, p := ticketsFor(rest, face, p)
	o.RunOut = DepletionProbability(n, p, face, new(big.Int).Sub(remaining, face))
	return o
}

func minInt(a, b *big.Int) *big.Int {
	if a.Cmp(b) > 0 {
		return new(big.Int).Set(b)
	}
	return a
}

// Status is a snapshot of the engine for a UI or CLI.
type Status struct {
	Period    Period
	Budget    *big.Int
	Spent     *big.Int // winners paid this period: the actual spend
	Issued    *big.Int // expected value of the tickets issued this period
	Remaining *big.Int // budget − spent, at least 0
	Tickets   uint64
	Wins      uint64
	// RatePerHour is the throttle's current rate: what is left of the
	// budget spread over the time left, per hour.
	RatePerHour *big.Int
	// Forecast of the period's total spend, with its band (see Forecast).
	Forecast, ForecastLow, ForecastHigh *big.Int
	// Outlook of the current demand: its rate, how long the budget lasts
	// at it, and the chance it runs out early.
	Outlook Outlook

	unit   *big.Int
	symbol string
	price  *big.Rat // fiat per whole token; nil: no fiat estimate
	fiat   string
}

// Status returns the engine's state at now.
func (e *Engine) Status(now time.Time) Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	mean, low, high := e.forecastLocked(now)
	rate := e.remainingLocked()
	if left := e.period.End.Sub(now); left > time.Hour {
		rate.Mul(rate, big.NewInt(int64(time.Hour)))
		rate.Quo(rate, big.NewInt(int64(left)))
	}
	return Status{
		Period: e.period, Budget: new(big.Int).Set(e.budget), Spent: new(big.Int).Set(e.spent),
		Issued: new(big.Int).Set(e.issued), Remaining: e.remainingLocked(),
		Tickets: e.tickets, Wins: e.wins, RatePerHour: rate,
		Forecast: mean, ForecastLow: low, ForecastHigh: high, Outlook: e.outlookLocked(now),
		unit: e.cfg.TokenUnit, symbol: e.cfg.Symbol, price: e.cfg.FiatPerToken, fiat: e.cfg.Fiat,
	}
}

// String renders the status in whole tokens, e.g. "2026-03: spent 4.82 of
// 10 tokens, 5.18 left; forecast 9.98 (9.91–10.002); 95012 tickets, 2410
// won", with fiat amounts after spent, budget, left and forecast if a
// price was configured.
func (s Status) String() string {
	if s.unit == nil {
		s.unit = big.NewInt(1)
	}
	withFiat := func(x *big.Int) string {
		if s.price == nil || s.price.Sign() <= 0 {
			return formatAmount(x, s.unit)
		}
		return formatAmount(x, s.unit) + " (" + fiatAmount(x, s.unit, s.price, s.fiat) + ")"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: spent %s of %s %s", s.Period.Start.Format("2006-01"),
		formatAmount(s.Spent, s.unit), formatAmount(s.Budget, s.unit), s.symbol)
	if s.price != nil && s.price.Sign() > 0 {
		fmt.Fprintf(&b, " (%s of %s)", fiatAmount(s.Spent, s.unit, s.price, s.fiat), fiatAmount(s.Budget, s.unit, s.price, s.fiat))
	}
	fmt.Fprintf(&b, ", %s left; forecast %s (%s–%s); %d tickets, %d won",
		withFiat(s.Remaining), withFiat(s.Forecast), formatAmount(s.ForecastLow, s.unit),
		formatAmount(s.ForecastHigh, s.unit), s.Tickets, s.Wins)
	return b.String()
}

// formatAmount renders x smallest units as whole tokens with up to six
// decimals.
func formatAmount(x, unit *big.Int) string {
	if x == nil {
		x = new(big.Int)
	}
	r := new(big.Rat).SetFrac(x, unit)
	s := strings.TrimRight(strings.TrimRight(r.FloatString(6), "0"), ".")
	if s == "-0" {
		s = "0"
	}
	return s
}

// fiatAmount renders x smallest units at price fiat per whole token, to the
// cent, rounded half away from zero, exactly: "$2.41" for USD, "2.41 EUR"
// for other codes.
func fiatAmount(x, unit *big.Int, price *big.Rat, fiat string) string {
	if x == nil {
		x = new(big.Int)
	}
	r := new(big.Rat).SetFrac(x, unit)
	s := r.Mul(r, price).FloatString(2)
	if fiat == "USD" {
		return "$" + s
	}
	return s + " " + fiat
}

// amount formats x for error messages: whole tokens and smallest units.
func (e *Engine) amount(x *big.Int) string {
	return fmt.Sprintf("%s %s (%v units)", formatAmount(x, e.cfg.TokenUnit), e.cfg.Symbol, x)
}
