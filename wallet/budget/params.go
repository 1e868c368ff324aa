package budget

import (
	"fmt"
	"math"
	"math/big"
	"time"

	"github.com/pexia-network/pexia/wallet"
	"github.com/pexia-network/pexia/wallet/ticket"
)

// DefaultBytesPerTicket is the ticket cadence when a HopQuote names neither
// a ticket value nor a cadence: one ticket per MiB carried.
const DefaultBytesPerTicket = 1 << 20

var gigabyte = big.NewInt(1_000_000_000)

// HopQuote is what the client knows about one hop of a circuit when it
// chooses the hop's tickets.
type HopQuote struct {
	// Hop is the hop's index in the circuit (0 = entry).
	Hop int
	// PricePerGB is the node's price per 10^9 bytes, in smallest units.
	PricePerGB *big.Int
	// Share is the expected fraction of the client's traffic over the rest
	// of the period that crosses this hop, in (0, 1]; 0 means 1.
	Share float64
	// TicketValue is the expected value of each ticket. If nil, it is
	// PricePerGB × BytesPerTicket / 10^9.
	TicketValue *big.Int
	// BytesPerTicket is the ticket cadence when TicketValue is nil
	// (default DefaultBytesPerTicket).
	BytesPerTicket uint64
	// MinFace is the node's own minimum face value, if it advertises one
	// above the engine's (claim cost × FaceToGasRatio); optional.
	MinFace *big.Int
	// Spend, if set, is the most the account is expected to pay before it
	// is topped up again (Deposit.RiskSpend): the depletion risk is taken
	// over it instead of over the whole remaining budget. A circuit uses
	// the largest Spend of its hops.
	Spend *big.Int
}

// TicketParams are the parameters of the tickets for one hop.
type TicketParams struct {
	Hop   int
	Face  *big.Int // face value, smallest units
	Ratio uint64   // the ticket wins with probability (Ratio+1)/2^64
	// ExpectedValue is Face × (Ratio+1) / 2^64 rounded down: what the
	// ticket is worth and what the throttle charges for it.
	ExpectedValue *big.Int
	// WinProbability is (Ratio+1)/2^64, for display and statistics.
	WinProbability float64
	// Risk is the modelled chance that the account runs dry before the
	// period ends (at most the engine's Delta).
	Risk float64
	// Bytes is the traffic the ticket pays for (default
	// DefaultBytesPerTicket): past the budget, at the floor rate
	// (SetFloor), a hop gets one ticket per Bytes at that rate.
	Bytes uint64
}

// Params chooses face value and win probability for one hop's tickets from
// account; it is CircuitParams for a one-hop circuit.
func (e *Engine) Params(hop HopQuote, account wallet.Account) (TicketParams, error) {
	ps, err := e.CircuitParams([]HopQuote{hop}, account)
	if err != nil {
		return TicketParams{}, err
	}
	return ps[0], nil
}

// CircuitParams chooses ticket parameters for every hop of a circuit paid
// from account, or refuses the circuit:
//
//   - ErrBudgetExhausted if what is left of the budget cannot cover one
//     face value;
//   - ErrPriceAboveBudget if the hops' prices, weighted by their shares,
//     make Config.MinVolume (pro rata for the rest of the period) cost more
//     than what is left of the budget;
//   - ErrUnderfunded if a hop's smallest acceptable face value is above
//     account.MaxFace();
//   - ErrDepletionRisk if the chance that the account's balance runs dry
//     before the period ends is above Delta.
//
// Each hop gets the smallest face value its node accepts: max(MinFace, the
// node's own minimum, the ticket's expected value), since the variance of
// what the account pays grows with the face value, and the win probability
// that gives the ticket its expected value (rounded down to a whole ratio).
//
// The risk model: over the rest of the period the client spends what is
// left of the budget, u, in tickets; the account sees n = ⌈u / (p·F)⌉
// tickets, the total paid is F·Binomial(n, p), and it runs dry when that
// exceeds the usable balance (account.Usable()). F is the largest face and
// p the smallest win probability of the circuit, the conservative choice:
// the account backs every hop of every circuit, and for a fixed mean a
// larger face or a smaller p (closer to Poisson) has the heavier tail. The
// model ignores the throttle's feedback (a run of early winners lowers the
// rate), so the real risk is lower.
func (e *Engine) CircuitParams(hops []HopQuote, account wallet.Account) ([]TicketParams, error) {
	if len(hops) == 0 {
		return nil, fmt.Errorf("%w: no hops", ErrInvalidQuote)
	}
	now := e.cfg.Clock()
	e.mu.Lock()
	if err := e.rollLocked(now); err != nil {
		e.mu.Unlock()
		return nil, err
	}
	period := e.period
	remaining := e.remainingLocked()
	budget := new(big.Int).Set(e.budget)
	spent := new(big.Int).Set(e.spent)
	minFace := new(big.Int).Set(e.minFace)
	floor := e.floor > 0
	e.mu.Unlock()

	if !now.Before(period.End) {
		return nil, fmt.Errorf("%w: %v", ErrPeriodEnded, period)
	}
	// With a floor rate the budget's limit refuses no circuit: past it,
	// tickets go on at that rate (checkLocked).
	if !floor && new(big.Int).Add(spent, minFace).Cmp(budget) > 0 {
		return nil, fmt.Errorf("%w: %s is left of the budget, less than the smallest face value %s",
			ErrBudgetExhausted, e.amount(remaining), e.amount(minFace))
	}
	left := period.End.Sub(now)
	if now.Before(period.Start) {
		left = period.Duration()
	}

	// Price: the minimum volume, pro rata, through every hop by its share.
	need := new(big.Int)
	for _, h := range hops {
		if h.PricePerGB == nil || h.PricePerGB.Sign() < 0 {
			return nil, fmt.Errorf("%w: hop %d: price per GB %v", ErrInvalidQuote, h.Hop, h.PricePerGB)
		}
		share, err := shareOf(h)
		if err != nil {
			return nil, err
		}
		c := new(big.Int).Mul(h.PricePerGB, new(big.Int).SetUint64(e.cfg.MinVolume))
		c.Mul(c, big.NewInt(share))
		need.Add(need, c)
	}
	// need × (left / period) / (10^9 bytes per GB × 10^6 ppm)
	need.Mul(need, big.NewInt(int64(left)))
	need.Quo(need, new(big.Int).Mul(big.NewInt(int64(period.Duration())), big.NewInt(1_000_000_000_000_000)))
	if !floor && need.Cmp(remaining) > 0 {
		return nil, fmt.Errorf("%w: %s of traffic over the rest of the period (%v) costs %s at these prices, %s is left of the budget",
			ErrPriceAboveBudget, volume(e.cfg.MinVolume, left, period.Duration()), left.Round(time.Minute),
			e.amount(need), e.amount(remaining))
	}

	maxFace := account.MaxFace()
	balance, _ := account.Usable()
	out := make([]TicketParams, len(hops))
	for i, h := range hops {
		ev := h.TicketValue
		if ev == nil {
			per := h.BytesPerTicket
			if per == 0 {
				per = DefaultBytesPerTicket
			}
			ev = new(big.Int).Mul(h.PricePerGB, new(big.Int).SetUint64(per))
			ev.Quo(ev, gigabyte)
		}
		if ev.Sign() < 0 {
			return nil, fmt.Errorf("%w: hop %d: ticket value %v", ErrInvalidQuote, h.Hop, ev)
		}
		if ev.Sign() == 0 {
			ev = big.NewInt(1) // the smallest payment there is
		}
		face := new(big.Int).Set(minFace)
		if h.MinFace != nil && h.MinFace.Cmp(face) > 0 {
			face.Set(h.MinFace)
		}
		if ev.Cmp(face) > 0 {
			face.Set(ev) // a ticket cannot be worth more than its face
		}
		if face.Cmp(maxFace) > 0 {
			return nil, fmt.Errorf("%w: hop %d needs face %s, the account can back %s (usable balance, half the usable escrow)",
				ErrUnderfunded, h.Hop, e.amount(face), e.amount(maxFace))
		}
		if face.BitLen() > 128 {
			return nil, fmt.Errorf("%w: hop %d: face %v does not fit 128 bits", ErrInvalidQuote, h.Hop, face)
		}
		if !floor && new(big.Int).Add(spent, face).Cmp(budget) > 0 {
			return nil, fmt.Errorf("%w: hop %d needs face %s, %s is left of the budget",
				ErrBudgetExhausted, h.Hop, e.amount(face), e.amount(remaining))
		}
		ratio := ticket.RatioFor(ev, face)
		tev := ticket.ExpectedValue(face, ratio)
		if tev.Sign() == 0 {
			return nil, fmt.Errorf("%w: hop %d: ticket value %v too small for face %v", ErrInvalidQuote, h.Hop, ev, face)
		}
		out[i] = TicketParams{Hop: h.Hop, Face: face, Ratio: ratio, ExpectedValue: tev, WinProbability: winProbability(ratio), Bytes: h.BytesPerTicket}
	}

	// Risk: the largest face and the smallest win probability for all of
	// the remaining budget.
	face, p := out[0].Face, out[0].WinProbability
	for _, t := range out[1:] {
		if t.Face.Cmp(face) > 0 {
			face = t.Face
		}
		p = math.Min(p, t.WinProbability)
	}
	spend := remaining
	var horizon *big.Int
	for _, h := range hops {
		if h.Spend != nil && (horizon == nil || h.Spend.Cmp(horizon) > 0) {
			horizon = h.Spend
		}
	}
	if horizon != nil && horizon.Cmp(spend) < 0 {
		spend = horizon
	}
	n, p := ticketsFor(spend, face, p)
	risk := DepletionProbability(n, p, face, balance)
	if risk > e.cfg.Delta {
		return nil, fmt.Errorf("%w: spending %s in tickets of face %s runs the balance of %s dry with probability %.3g > %g; it needs a balance of at least %s",
			ErrDepletionRisk, e.amount(spend), e.amount(face), e.amount(balance), risk, e.cfg.Delta,
			e.amount(MinBalance(n, p, face, e.cfg.Delta)))
	}
	for i := range out {
		out[i].Risk = risk
	}
	return out, nil
}

// ticketsFor is the number of tickets of face and win probability p that
// spend amount in expectation, ⌈amount / (p·face)⌉, and p. Beyond 2^53
// tickets (where float64 stops counting exactly) n is capped and p raised
// to keep n·p, which changes the binomial by a relative O(p) in variance:
// nothing, at such p.
func ticketsFor(amount, face *big.Int, p float64) (uint64, float64) {
	if amount.Sign() <= 0 || face.Sign() <= 0 || p <= 0 {
		return 0, p
	}
	wins, _ := new(big.Rat).SetFrac(amount, face).Float64() // expected winners
	n := math.Ceil(wins / p)
	const maxN = 1 << 53
	if n > maxN {
		return maxN, wins / maxN
	}
	return uint64(n), p
}

// shareOf is a hop's share in parts per million.
func shareOf(h HopQuote) (int64, error) {
	s := h.Share
	if s == 0 {
		s = 1
	}
	if math.IsNaN(s) || s < 0 || s > 1 {
		return 0, fmt.Errorf("%w: hop %d: share %v not in (0, 1]", ErrInvalidQuote, h.Hop, h.Share)
	}
	return max(int64(math.Round(s*1e6)), 1), nil
}

// volume formats MinVolume pro rata for the rest of the period.
func volume(minVolume uint64, left, period time.Duration) string {
	gb := float64(minVolume) / 1e9 * float64(left) / float64(period)
	return fmt.Sprintf("%.3g GB", gb)
}
