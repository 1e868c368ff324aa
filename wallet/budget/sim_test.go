package budget

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/wallet"
)

// A month compressed into a loop over a fake clock: a 10-token budget, a
// three-hop circuit at 0.05 token/GB, and a user whose demand comes in
// bursts and idle stretches (nights, a three-day trip) and adds up to about
// twice what the budget buys. Tickets go through the engine's throttle;
// each wins with its probability by the Lottery's rule (a uniform 64-bit
// draw ≤ ratio); winners are reported 15 s to 10 min later, as a node
// claims them; halfway through, the process restarts from the ledger.
//
// The month must end with the money paid for its tickets within ±1 % of
// the budget and never above budget + one face value.
func TestSimulatedMonth(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 1, 0)
	const step = 10 * time.Second
	budget := tokens(10)

	clk := newFakeClock(start)
	ledger, path := openLedger(t)
	cfg := Config{
		Budget:        budget,
		ClaimCost:     bi(1e14), // MinFace 2e15 = 0.002 tokens
		Clock:         clk.Now,
		Ledger:        ledger,
		FlushInterval: time.Hour,
		FiatPerToken:  big.NewRat(5, 2),
	}
	eng, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	account := wallet.Account{Balance: tokens(12), Escrow: tokens(2)}

	const chunk = 4 << 20 // bytes paid for by one ticket per hop
	nodes := []common.Address{nodeA, nodeB, nodeC}
	quotes := []HopQuote{
		{Hop: 0, PricePerGB: tokens(0.01), BytesPerTicket: chunk},
		{Hop: 1, PricePerGB: tokens(0.01), BytesPerTicket: chunk},
		{Hop: 2, PricePerGB: tokens(0.03), BytesPerTicket: chunk},
	}
	var params []TicketParams
	pLo, pHi := 1.0, 0.0
	refresh := func() {
		ps, err := eng.CircuitParams(quotes, account)
		switch {
		case errors.Is(err, ErrBudgetExhausted):
			params = nil
		case err != nil:
			t.Fatalf("%v: %v", clk.Now(), err)
		default:
			params = ps
			for _, p := range ps {
				pLo, pHi = math.Min(pLo, p.WinProbability), math.Max(pHi, p.WinProbability)
			}
		}
	}

	type win struct {
		due  time.Time
		face *big.Int
		hop  int
		app  string
	}
	var queue []win // winners not yet claimed
	paid := new(big.Int)
	report := func(now time.Time) (any bool) {
		keep := queue[:0]
		for _, w := range queue {
			if w.due.After(now) {
				keep = append(keep, w)
				continue
			}
			if err := eng.RecordWin(w.face, w.hop, nodes[w.hop], w.app); err != nil {
				t.Fatal(err)
			}
			paid.Add(paid, w.face)
			account.Balance = new(big.Int).Sub(account.Balance, w.face)
			any = true
		}
		queue = keep
		return any
	}

	demandRNG := rand.New(rand.NewPCG(2026, 3))
	lotteryRNG := rand.New(rand.NewPCG(7, 11))
	var (
		rate, owed     float64 // bytes per second wanted; bytes owed in the current step
		app            string
		nextHop        int // hop whose ticket the current chunk still needs
		demand, served float64
		tickets, wins  int
		maxFace        = new(big.Int)
		maxSpent       = new(big.Int)
		forecasts      []string
		band20         [2]*big.Int
		restarted      bool
		expectedIssued = new(big.Int)
	)
	for now := start; now.Before(end); now = now.Add(step) {
		clk.Set(now)
		if report(now) {
			if s := eng.Status(now).Spent; s.Cmp(maxSpent) > 0 {
				maxSpent.Set(s)
			}
		}
		if now.Sub(start)%time.Hour == 0 {
			refresh()
		}
		day := int(now.Sub(start) / (24 * time.Hour))
		if now.Sub(start)%(10*time.Minute) == 0 {
			// Decide the next 10 minutes: asleep 01:00–08:00, away on
			// days 10–12, otherwise a burst (video) one slot in ten,
			// browsing half the time, idle otherwise.
			h := now.Hour()
			r := demandRNG.Float64()
			switch {
			case h >= 1 && h < 8, day >= 9 && day <= 11:
				rate, app = 0, ""
			case r < 0.1:
				rate, app = (0.5+4*demandRNG.Float64())*1e6, "video"
			case r < 0.6:
				rate, app = 30e3, "browser"
			default:
				rate, app = 0, ""
			}
		}
		if !restarted && now.Equal(start.Add(14*24*time.Hour+12*time.Hour)) {
			// Restart: flush, close, reopen, resume.
			before := eng.Status(now)
			if err := eng.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := ledger.Close(); err != nil {
				t.Fatal(err)
			}
			if ledger, err = OpenLedger(path); err != nil {
				t.Fatal(err)
			}
			cfg.Ledger = ledger
			if eng, err = New(cfg); err != nil {
				t.Fatal(err)
			}
			after := eng.Status(now)
			if after.Spent.Cmp(before.Spent) != 0 || after.Tickets != before.Tickets {
				t.Fatalf("restart: spent %v, %d tickets; was %v, %d", after.Spent, after.Tickets, before.Spent, before.Tickets)
			}
			restarted = true
			refresh()
		}
		if day == 10 || day == 20 {
			if now.Equal(start.Add(time.Duration(day) * 24 * time.Hour)) {
				m, lo, hi := eng.Forecast(now)
				if day == 20 {
					band20 = [2]*big.Int{lo, hi}
				}
				forecasts = append(forecasts, fmt.Sprintf("day %d: spent %s, forecast %s [%s, %s]", day,
					formatAmount(eng.Status(now).Spent, tokens(1)), formatAmount(m, tokens(1)),
					formatAmount(lo, tokens(1)), formatAmount(hi, tokens(1))))
			}
		}

		want := rate * step.Seconds()
		demand += want
		owed += want
		for params != nil && owed >= chunk {
			tp := params[nextHop]
			if !eng.Allow(now, tp) {
				break
			}
			if err := eng.RecordIssued(tp.ExpectedValue, tp.Face, tp.Hop, nodes[tp.Hop], app); err != nil {
				t.Fatal(err)
			}
			tickets++
			expectedIssued.Add(expectedIssued, tp.ExpectedValue)
			if tp.Face.Cmp(maxFace) > 0 {
				maxFace.Set(tp.Face)
			}
			if lotteryRNG.Uint64() <= tp.Ratio {
				wins++
				latency := 15*time.Second + time.Duration(lotteryRNG.Int64N(int64(10*time.Minute-15*time.Second)))
				queue = append(queue, win{now.Add(latency), new(big.Int).Set(tp.Face), tp.Hop, app})
			}
			if nextHop++; nextHop == len(params) {
				nextHop = 0
				owed -= chunk
				served += chunk
			}
		}
		if owed >= chunk {
			owed = 0 // throttled: the rest of this step's demand is not carried
		}
	}

	// Claims still out at midnight land in April: count them too.
	late := new(big.Int)
	for _, w := range queue {
		late.Add(late, w.face)
	}
	clk.Set(end.Add(time.Hour))
	report(end.Add(time.Hour))
	if err := eng.Flush(); err != nil {
		t.Fatal(err)
	}

	ps, err := ledger.Periods()
	if err != nil {
		t.Fatal(err)
	}
	marchSpent := ps[0].Spent
	limit := new(big.Int).Add(budget, maxFace)
	dev, _ := new(big.Rat).SetFrac(new(big.Int).Sub(paid, budget), budget).Float64()
	t.Logf("demand %.0f GB, carried %.1f GB (the budget buys 200 GB at 0.05 token/GB)", demand/1e9, served/1e9)
	t.Logf("%d tickets (face %s, p %.4f–%.4f), %d winners; expected value issued %s",
		tickets, formatAmount(maxFace, tokens(1)), pLo, pHi, wins, formatAmount(expectedIssued, tokens(1)))
	for _, f := range forecasts {
		t.Log(f)
	}
	t.Logf("paid for March's tickets: %s of %s budget (%+.2f%%); recorded in March %s, claimed in April %s; highest spend seen in March %s (limit %s)",
		formatAmount(paid, tokens(1)), formatAmount(budget, tokens(1)), 100*dev,
		formatAmount(marchSpent, tokens(1)), formatAmount(late, tokens(1)),
		formatAmount(maxSpent, tokens(1)), formatAmount(limit, tokens(1)))

	// The draws are seeded: this month lands at −0.46 %.
	if dev < -0.01 || dev > 0.01 {
		t.Errorf("paid %v, %.2f%% off the budget %v (want within ±1 %%)", paid, 100*dev, budget)
	}
	if paid.Cmp(limit) > 0 {
		t.Errorf("paid %v > budget + one face %v", paid, limit)
	}
	if maxSpent.Cmp(limit) > 0 {
		t.Errorf("March spend reached %v > budget + one face %v", maxSpent, limit)
	}
	// Ten days before the end, with the user hitting the throttle daily,
	// the forecast band holds the outcome.
	if paid.Cmp(band20[0]) < 0 || paid.Cmp(band20[1]) > 0 {
		t.Errorf("paid %v outside the day-20 forecast band [%v, %v]", paid, band20[0], band20[1])
	}
	if demand < 1.5*200e9 {
		t.Errorf("demand %.0f GB does not exceed the budget by half", demand/1e9)
	}
	if new(big.Int).Add(marchSpent, late).Cmp(paid) != 0 {
		t.Errorf("ledger: March %v + April %v ≠ paid %v", marchSpent, late, paid)
	}
	// The breakdowns add up to the period's spend.
	for _, by := range []string{ByHop, ByNode, ByApp, ByDay} {
		rows, err := ledger.TotalsFor(ps[0].Period, by)
		if err != nil {
			t.Fatal(err)
		}
		sum := new(big.Int)
		for _, r := range rows {
			sum.Add(sum, r.Spent)
		}
		if sum.Cmp(marchSpent) != 0 {
			t.Errorf("by %s: rows add up to %v, period spent %v", by, sum, marchSpent)
		}
		if by == ByApp {
			for _, r := range rows {
				t.Logf("app %q: spent %s in %d winners, %d tickets", r.Key, formatAmount(r.Spent, tokens(1)), r.Wins, r.Tickets)
			}
		}
	}
}
