package budget

import "errors"

// Errors the engine returns, wrapped with the numbers that caused them; test
// with errors.Is.
var (
	// ErrConfig: the Config is unusable (no budget, an empty period, …).
	ErrConfig = errors.New("budget: invalid configuration")
	// ErrInvalidQuote: a HopQuote or ticket is malformed (no price, a share
	// outside (0, 1], a negative amount, …).
	ErrInvalidQuote = errors.New("budget: invalid hop quote")
	// ErrPriceAboveBudget: the circuit's price is too high for what is
	// left of the budget to buy the minimum volume (Config.MinVolume).
	ErrPriceAboveBudget = errors.New("budget: price does not fit the budget")
	// ErrUnderfunded: the account cannot back a ticket the node accepts:
	// the smallest acceptable face value is above account.MaxFace().
	ErrUnderfunded = errors.New("budget: account cannot back a ticket the node accepts")
	// ErrDepletionRisk: at the smallest acceptable face value, the chance
	// that the account's balance runs dry before the period ends is above
	// Config.Delta. Top up the balance or lower the budget.
	ErrDepletionRisk = errors.New("budget: account balance too small for the depletion bound")
	// ErrBudgetExhausted: what is left of the budget cannot cover another
	// ticket's face value.
	ErrBudgetExhausted = errors.New("budget: budget exhausted for this period")
	// ErrPeriodEnded: a fixed budget period is over (calendar periods roll
	// over instead).
	ErrPeriodEnded = errors.New("budget: budget period is over")
)
