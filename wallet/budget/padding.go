package budget

import (
	"fmt"
	"math/big"
	"time"
)

// PaddingCost is what constant-rate padding ("bandwidth burning") costs
// over d: rate cells per second in each direction, cellSize bytes each,
// carried (and so paid for) by every hop at its price per 10^9 bytes. It is
// the floor of the circuit's spend: idle or busy, it is paid.
func PaddingCost(rate, cellSize int, pricesPerGB []*big.Int, d time.Duration) *big.Int {
	if rate <= 0 || cellSize <= 0 || d <= 0 {
		return new(big.Int)
	}
	price := new(big.Int)
	for _, p := range pricesPerGB {
		if p != nil {
			price.Add(price, p)
		}
	}
	// bytes = rate × cellSize × 2 directions × seconds; cost = bytes × price / 1e9.
	bytes := new(big.Int).Mul(big.NewInt(int64(rate)*int64(cellSize)*2), big.NewInt(int64(d)))
	cost := bytes.Mul(bytes, price)
	return cost.Quo(cost, new(big.Int).Mul(gigabyte, big.NewInt(int64(time.Second))))
}

// CheckPadding refuses padding that costs perHour when, kept up for the
// rest of the period, it alone would spend more than is left of the
// budget (ErrPriceAboveBudget): the engine's throttle would then starve
// the circuit of payments and its nodes would drop it.
func (e *Engine) CheckPadding(now time.Time, perHour *big.Int) error {
	if perHour == nil || perHour.Sign() == 0 {
		return nil
	}
	e.mu.Lock()
	if err := e.rollLocked(now); err != nil {
		e.mu.Unlock()
		return err
	}
	left := e.period.End.Sub(now)
	remaining := e.remainingLocked()
	e.mu.Unlock()
	if left <= 0 {
		return fmt.Errorf("%w: %v", ErrPeriodEnded, e.Period())
	}
	need := new(big.Int).Mul(perHour, big.NewInt(int64(left)))
	need.Quo(need, big.NewInt(int64(time.Hour)))
	if need.Cmp(remaining) > 0 {
		return fmt.Errorf("%w: padding costs %s per hour, %s until the period ends, more than the %s left",
			ErrPriceAboveBudget, e.amount(perHour), e.amount(need), e.amount(remaining))
	}
	return nil
}
