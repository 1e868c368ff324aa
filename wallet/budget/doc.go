// Package budget keeps the user's promise: "you set a monthly spend; Pexia
// never spends more, and shows you where it went".
//
// # Money
//
// All amounts are integers in the token's smallest unit (*big.Int); floats
// appear only for probabilities and statistics. Fiat estimates
// (Config.FiatPerToken) are exact rationals rounded to the cent once. Actual spend is
// what leaves the lottery account: winning tickets, reported by the caller
// with RecordWin when they are paid on chain. Every ticket issued is
// reported with RecordIssued (its expected value p·F and face value F).
//
// # The period and the rate
//
// A budget covers a period, by default the calendar month (rolling over by
// itself), or a fixed [start, end). The spend rate is what is left of the
// budget over the time left, (budget − spent) / (end − now): spending less
// than planned (idle days, lucky draws) raises it, spending more lowers it,
// so the period's spend is steered toward the budget whatever the draws.
//
// # The throttle and the hard stop
//
// Allow, Delay and Wait admit tickets through a token bucket of expected
// value. It refills at (remaining − level) / time left, which is the spend
// rate with the saved-up contents counted as already promised, so the
// bucket never releases more than the remaining budget; it holds up to
// Burst (default 24 h) of the rate, so usage concentrated in a few hours a
// day can still use the day's share, while idle stretches longer than that
// give their share back to the rest of the period (the rate rises). The
// bucket's level is part of the ledger's state, so a restart grants no
// extra burst.
//
// Independently of the bucket, a ticket is never admitted when spent + its
// face value would exceed the budget: a winner can never take actual spend
// past the budget. Winners reach the chain late (a node batches its claims),
// so tickets admitted just before the budget ran low may still win; the
// engine counts the tickets admitted within ClaimWindow (default 15 min) and
// near the end holds new ones back unless the (1 − Delta) quantile of their
// winners still fits: the final spend exceeds the budget by more than one
// face value only if a winner is reported later than ClaimWindow, or with
// probability at most Delta.
//
// # Ticket parameters and the depletion risk
//
// Params and CircuitParams choose each hop's face value F and win
// probability p = (Ratio+1)/2^64 so that the ticket's expected value pays
// the hop's price at the requested cadence. F is the smallest face the node
// accepts, MinFace = claim cost × FaceToGasRatio (default 20, so gas is at
// most 5 % of a winner), or the node's own higher minimum, or the ticket's
// value if that is larger; never above account.MaxFace(). The smallest
// face because the variance of what the account pays grows with F: for a
// fixed expected spend S, the number of winners has mean S/F and the
// spread F·√(S/F) = √(S·F).
//
// The account runs dry when winners paid exceed its usable balance. Over
// the rest of the period the client spends the remaining budget in n =
// ⌈remaining / (p·F)⌉ tickets; the account pays F·Binomial(n, p), and
// DepletionProbability computes P(F·Binomial(n, p) > balance) exactly (see
// BinomialTail). A circuit is refused (ErrDepletionRisk) when that is above
// Delta (default 0.001): the error names the balance that would do
// (MinBalance). At δ = 0.001, a month of 10 tokens in faces of 0.002 needs
// about 10.43 tokens in the account. The model is open loop: it ignores
// that the rate falls after early winners, so the real risk is lower.
// Circuits whose price cannot buy Config.MinVolume (default 1 GB a month,
// pro rata) with what is left are refused with ErrPriceAboveBudget, and
// accounts that cannot back the node's minimum face with ErrUnderfunded.
//
// # The binomial tail
//
// BinomialTail evaluates the regularized incomplete beta function by its
// continued fraction, with the prefactor from Loader's saddle-point
// binomial mass function, and sums short or ill-conditioned tails term by
// term; see binomial.go. Against 20-digit references it agrees to 3e−12
// relative for n ≤ 10^8 and 2e−11 up to n = 2^40.
//
// # Forecast
//
// Forecast gives the period's expected total with a 95 % band: spend so far
// plus F̄·Binomial(n, p̄) for the rest at the current rate (the throttle's
// rate while demand keeps hitting it, else the rate observed so far), with
// the band from that binomial's quantiles, capped at budget + F̄. Status
// adds the Outlook of the current use: the rate tickets were issued at since
// the period's first, how long what is left lasts at it, and the chance that
// at that rate the budget runs out before the period ends.
//
// # Changes mid-period
//
// SetBudget re-plans at once: the rate and the throttle follow the new
// budget, and tickets waiting in Wait are woken to be planned again (one
// that no longer fits fails with ErrBudgetExhausted). SetLocation moves the
// calendar months to another zone: at once while nothing was spent in the
// period, otherwise from the next month, so no month's spend is split.
//
// # The ledger
//
// A Ledger is a bbolt file holding, per period, the engine's state (budget,
// spent, issued, the throttle's level) and the spend per hop, node,
// application and day; Totals returns them sorted for a UI or CLI. Winners
// are written (and fsync'd) before RecordWin returns; issued tickets are
// batched for up to FlushInterval (default 10 s), since losing a few
// seconds of issued expected value in a crash changes no money. A write that
// fails (closed file, full disk) returns an error and the spend stays
// counted in memory, so the budget still holds; the write is retried with
// the next one.
//
// # Applications and profiles
//
// Tickets pay for a circuit that several applications share.
// RecordIssuedShared splits each ticket's expected value among the
// applications by the bytes each carried on that circuit in the window the
// ticket pays for (Split: integer floors, the units left over to the
// largest remainders, ties to the smaller label), so the ByApp breakdown
// adds up exactly to the period's issued total. A ticket whose window
// carried nothing, the prepayment of a new circuit, is kept under
// Unattributed until the next window that carries bytes takes it over.
// The whole ticket is also counted under its circuit profile (ByProfile).
// An application's spend is this share of expected value; winners
// (RecordProfileWin) are the lottery's draw and are counted per profile,
// hop, node and day, not per application. RecordTraffic adds an
// application's bytes each way, flows and refused flows, with the rule
// that decided its latest flow; direct and blocked flows count there and
// cost nothing.
package budget
