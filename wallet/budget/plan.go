package budget

import (
	"fmt"
	"math/big"
	"time"
)

// The client pays each hop position of its circuits from its own lottery
// account (wallet/hopacct), topped up while it is connected. An account
// need not hold the whole remaining budget: between two top-ups it pays at
// most what the throttle lets out, a full bucket (Burst of the spend rate)
// plus the rate over the time until the next top-up. Deposit sizes an
// account for that, and HopQuote.Spend holds the depletion risk of a
// circuit to the same horizon.

// DepositFaces is how many faces of the largest face value a deposit backs
// must fit in the spend it covers: the largest face an account is funded
// for is Spend/DepositFaces (or MinFace, if that is more). A node asking
// for more is refused (ErrUnderfunded): with fewer winners per top-up the
// spread of what the account pays grows past what the budget can plan for.
const DepositFaces = 100

// planP is the win probability Deposit sizes a balance with. For a fixed
// expected spend a smaller p has the heavier tail (toward Poisson), so a
// balance sized at planP also covers the larger p of real tickets.
const planP = 1e-6

// Deposit is how a per-hop lottery account should be funded.
type Deposit struct {
	// Spend is the most the throttle lets the account pay out until the
	// next top-up, in expected value: min(remaining, rate × (Burst +
	// horizon)).
	Spend *big.Int
	// MaxFace is the largest face value the account backs.
	MaxFace *big.Int
	// Balance is the balance the account is topped up to: the smallest
	// whose chance of running dry while paying Spend in tickets of MaxFace
	// is at most Delta (MinBalance).
	Balance *big.Int
	// Escrow is the escrow it is topped up to: 2 × MaxFace, so that
	// MaxFace is within the account's wallet.Account.MaxFace.
	Escrow *big.Int
	// Low is the usable balance below which it is topped up: Balance −
	// Spend/2. Plans hold the risk to Spend/2 (RiskSpend), which Low
	// still covers at Delta.
	Low *big.Int
}

// RiskSpend is the spend a circuit's depletion risk is held to for an
// account funded by d (HopQuote.Spend).
func (d Deposit) RiskSpend() *big.Int { return new(big.Int).Rsh(d.Spend, 1) }

// Deposit sizes a per-hop account topped up every horizon (the client's
// account maintenance interval) at the budget's current spend rate.
func (e *Engine) Deposit(horizon time.Duration) (Deposit, error) {
	if horizon < 0 {
		return Deposit{}, fmt.Errorf("%w: negative horizon %v", ErrConfig, horizon)
	}
	now := e.cfg.Clock()
	e.mu.Lock()
	if err := e.rollLocked(now); err != nil {
		e.mu.Unlock()
		return Deposit{}, err
	}
	remaining := e.remainingLocked()
	end := e.period.End
	minFace := new(big.Int).Set(e.minFace)
	e.mu.Unlock()

	spend := new(big.Int).Set(remaining)
	if left := end.Sub(now); left > e.cfg.Burst+horizon {
		spend.Mul(spend, big.NewInt(int64(e.cfg.Burst+horizon)))
		spend.Quo(spend, big.NewInt(int64(left)))
	}
	maxFace := new(big.Int).Quo(spend, big.NewInt(DepositFaces))
	if maxFace.Cmp(minFace) < 0 {
		maxFace.Set(minFace)
	}
	n, p := ticketsFor(spend, maxFace, planP)
	balance := MinBalance(n, p, maxFace, e.cfg.Delta)
	if balance.Cmp(maxFace) < 0 {
		balance.Set(maxFace) // one winner at least
	}
	low := new(big.Int).Sub(balance, new(big.Int).Rsh(spend, 1))
	return Deposit{Spend: spend, MaxFace: maxFace, Balance: balance,
		Escrow: new(big.Int).Lsh(maxFace, 1), Low: low}, nil
}

// SetClaimCost changes what a node pays to claim one winner (Config.
// ClaimCost), and with it MinFace, as the chain's gas price moves.
func (e *Engine) SetClaimCost(cost *big.Int) error {
	if cost == nil || cost.Sign() < 0 {
		return fmt.Errorf("%w: claim cost %v", ErrConfig, cost)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cfg.ClaimCost = new(big.Int).Set(cost)
	e.minFace = new(big.Int).Mul(cost, new(big.Int).SetUint64(e.cfg.FaceToGasRatio))
	if e.minFace.Sign() == 0 {
		e.minFace.SetInt64(1)
	}
	return nil
}
