package main

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/internal/world"
	"github.com/pexia-network/pexia/wallet"
	"github.com/pexia-network/pexia/wallet/budget"
)

// budgetSuite measures budget.plan_us, what the budget engine takes to
// re-plan when the user changes the budget mid-month: SetBudget (the new
// rate and throttle, waking waiting tickets), the ticket parameters of a
// 3-hop circuit under the depletion bound (CircuitParams), and the status
// the API then shows (forecast band, run-out probability). The engine
// holds half a month of spend (a ticket per MiB at 0.05 tokens/GB, a
// winner in 38, about 5.3 tokens of 10) and no ledger, so the figure is the computation, not
// the disk. Each of 7 rounds re-plans 200 times, alternating between two
// budgets; a round's value is its median, the metric the median of the
// rounds.
//
// budget.month_error_pct is the error of a simulated month through the
// real pexiad (budgetMonth), so the suite needs root.
func budgetSuite(res Results) error {
	if geteuid() != 0 {
		return errors.New("needs root (the simulated month runs pexiad in a devnet world)")
	}
	unit := new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	tok := func(milli int64) *big.Int {
		return new(big.Int).Quo(new(big.Int).Mul(big.NewInt(milli), unit), big.NewInt(1000))
	}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	now := start.Add(15 * 24 * time.Hour)
	clock := func() time.Time { return now }
	e, err := budget.New(budget.Config{Budget: tok(10_000), ClaimCost: big.NewInt(1e14), Clock: clock, Location: time.UTC})
	if err != nil {
		return err
	}
	quotes := make([]budget.HopQuote, 3)
	for i := range quotes {
		quotes[i] = budget.HopQuote{Hop: i, PricePerGB: tok(50), BytesPerTicket: 1 << 20}
	}
	account := wallet.Account{Balance: tok(12_000), Escrow: tok(2_000)}
	tp, err := e.CircuitParams(quotes, account)
	if err != nil {
		return err
	}
	for i := range 100_000 {
		t := tp[i%3]
		if err := e.RecordIssued(t.ExpectedValue, t.Face, t.Hop, common.Address{}, "bench"); err != nil {
			return err
		}
		if i%38 == 0 { // p = expected value / face = 1/38
			if err := e.RecordWin(t.Face, t.Hop, common.Address{}, "bench"); err != nil {
				return err
			}
		}
	}
	budgets := []*big.Int{tok(8_000), tok(10_000)}
	var rounds []float64
	for round := range 8 {
		per := make([]float64, 0, 200)
		for i := range 200 {
			t0 := time.Now()
			if err := e.SetBudget(budgets[i%2]); err != nil {
				return err
			}
			if _, err := e.CircuitParams(quotes, account); err != nil {
				return err
			}
			_ = e.Status(now)
			per = append(per, float64(time.Since(t0).Nanoseconds())/1e3)
		}
		if round > 0 { // the first round warms the caches
			slices.Sort(per)
			rounds = append(rounds, per[len(per)/2])
		}
	}
	res.setRounds("budget.plan_us", rounds, "us")
	return budgetMonth(res)
}

// budgetMonth measures budget.month_error_pct: a month of budget 0.44
// tokens spent through pexiad on a devnet world, as e2e's
// TestSimulatedMonth does (world.RunMonth on world.MonthClock, a few
// minutes): bursty downloads through a 1-hop tunnel to a node asking 0.4
// tokens per GB, every winner claimed on chain. The metric is (spent −
// budget) / budget in percent, once every winner is claimed and followed.
func budgetMonth(res Results) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "pexia-bench-month")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := world.Build(ctx, ".", dir); err != nil {
		return err
	}
	w, err := world.Start(ctx, world.Options{Bin: dir, Dir: filepath.Join(dir, "world"), Prefix: "pxm", Relays: 1, Exits: 1,
		Price: "0.4", NodeConfig: world.MonthNodeConfig})
	if err != nil {
		return err
	}
	defer w.Close()
	if err := w.SetClientResolver(w.Internet.Addr4()); err != nil {
		return err
	}
	b := contracts.Ether(44)
	b.Quo(b, big.NewInt(100))
	m, err := w.RunMonth(ctx, world.MonthOptions{Budget: b, Hops: 1, Clock: world.MonthClock, Seed: 14})
	if err != nil {
		return fmt.Errorf("simulated month: %w", err)
	}
	res.set("budget.month_error_pct", m.ErrorPct, "%")
	return nil
}
