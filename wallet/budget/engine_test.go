package budget

import (
	"context"
	"errors"
	"math"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/wallet"
	"github.com/pexia-network/pexia/wallet/ticket"
)

var march = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// testEngine is a 10-token monthly budget on a claim cost of 1e14
// (MinFace 2e15 = 0.002 tokens) with a fake clock at the start of March.
func testEngine(t *testing.T, mod func(*Config)) (*Engine, *fakeClock) {
	t.Helper()
	clk := newFakeClock(march)
	cfg := Config{Budget: tokens(10), ClaimCost: bi(1e14), Clock: clk.Now, Sleep: clk.Sleep}
	if mod != nil {
		mod(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e, clk
}

func richAccount() wallet.Account {
	return wallet.Account{Balance: tokens(12), Escrow: tokens(2)}
}

// 0.05 token per GB, a ticket per MiB: expected value 5.24288e13.
var webQuote = HopQuote{PricePerGB: tokens(0.05), BytesPerTicket: 1 << 20}

func TestParamsSmallestFace(t *testing.T) {
	e, _ := testEngine(t, nil)
	if got := e.MinFace(); got.Cmp(tokens(0.002)) != 0 {
		t.Fatalf("MinFace %v, want 2e15", got)
	}
	tp, err := e.Params(webQuote, richAccount())
	if err != nil {
		t.Fatal(err)
	}
	wantEV := big.NewInt(52_428_800_000_000)
	if tp.Face.Cmp(tokens(0.002)) != 0 {
		t.Errorf("face %v, want MinFace 2e15", tp.Face)
	}
	if tp.Ratio != ticket.RatioFor(wantEV, tp.Face) {
		t.Errorf("ratio %d, want %d", tp.Ratio, ticket.RatioFor(wantEV, tp.Face))
	}
	if d := new(big.Int).Sub(wantEV, tp.ExpectedValue); d.Sign() < 0 || d.Cmp(bi(1)) > 0 {
		t.Errorf("expected value %v, want %v rounded down", tp.ExpectedValue, wantEV)
	}
	if math.Abs(tp.WinProbability-0.0262144) > 1e-12 {
		t.Errorf("win probability %g, want 0.0262144", tp.WinProbability)
	}
	if tp.Risk > 1e-9 {
		t.Errorf("risk %g with 12 tokens for a 10-token budget", tp.Risk)
	}

	// A node asking for a larger face gets it; a ticket worth more than
	// MinFace gets a face equal to its value (it always wins).
	q := webQuote
	q.MinFace = tokens(0.005)
	if tp, err := e.Params(q, richAccount()); err != nil || tp.Face.Cmp(tokens(0.005)) != 0 {
		t.Errorf("node minimum 0.005: face %v, err %v", tp.Face, err)
	}
	q = HopQuote{PricePerGB: tokens(0.05), TicketValue: tokens(0.003)}
	if tp, err := e.Params(q, richAccount()); err != nil || tp.Face.Cmp(tokens(0.003)) != 0 || tp.Ratio != math.MaxUint64 || tp.ExpectedValue.Cmp(tokens(0.003)) != 0 {
		t.Errorf("ticket value 0.003: %+v, err %v", tp, err)
	}
}

func TestRefusals(t *testing.T) {
	for _, c := range []struct {
		name    string
		quotes  []HopQuote
		account wallet.Account
		spent   *big.Int // recorded as a win first
		want    error
		msg     string
	}{
		{"price far above budget", []HopQuote{{PricePerGB: tokens(100)}}, richAccount(), nil, ErrPriceAboveBudget, "1 GB"},
		{"circuit whose sum does not fit", []HopQuote{{PricePerGB: tokens(4)}, {Hop: 1, PricePerGB: tokens(4)}, {Hop: 2, PricePerGB: tokens(4)}}, richAccount(), nil, ErrPriceAboveBudget, ""},
		{"dear hop with a small share fits", []HopQuote{{PricePerGB: tokens(100), Share: 0.05}}, richAccount(), nil, nil, ""},
		{"balance below the budget", []HopQuote{webQuote}, wallet.Account{Balance: tokens(9), Escrow: tokens(2)}, nil, ErrDepletionRisk, "needs a balance of at least 10.4"},
		{"balance 3% above the budget", []HopQuote{webQuote}, wallet.Account{Balance: tokens(10.3), Escrow: tokens(2)}, nil, ErrDepletionRisk, ""},
		{"balance 5% above the budget", []HopQuote{webQuote}, wallet.Account{Balance: tokens(10.5), Escrow: tokens(2)}, nil, nil, ""},
		{"warned funds do not count", []HopQuote{webQuote}, wallet.Account{Balance: tokens(12), Escrow: tokens(2), Warned: tokens(3)}, nil, ErrDepletionRisk, ""},
		{"escrow too small for MinFace", []HopQuote{webQuote}, wallet.Account{Balance: tokens(12), Escrow: tokens(0.003)}, nil, ErrUnderfunded, "can back 0.0015"},
		{"budget spent", []HopQuote{webQuote}, richAccount(), tokens(9.999), ErrBudgetExhausted, ""},
		{"no price", []HopQuote{{}}, richAccount(), nil, ErrInvalidQuote, ""},
		{"share above 1", []HopQuote{{PricePerGB: tokens(0.05), Share: 1.5}}, richAccount(), nil, ErrInvalidQuote, ""},
		{"no hops", nil, richAccount(), nil, ErrInvalidQuote, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, _ := testEngine(t, nil)
			if c.spent != nil {
				if err := e.RecordWin(c.spent, 0, common.Address{}, ""); err != nil {
					t.Fatal(err)
				}
			}
			_, err := e.CircuitParams(c.quotes, c.account)
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if err != nil && !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not mention %q", err, c.msg)
			}
			t.Log(err)
		})
	}
}

// The minimum volume is pro rata: late in the month a dearer hop fits.
func TestPriceFitProRata(t *testing.T) {
	e, clk := testEngine(t, nil)
	q := HopQuote{PricePerGB: tokens(20)}
	if _, err := e.Params(q, richAccount()); !errors.Is(err, ErrPriceAboveBudget) {
		t.Fatalf("1 GB at 20 tokens on 10: %v", err)
	}
	clk.Set(march.Add(30 * 24 * time.Hour)) // 1/31 of the month left: 0.65 tokens
	if _, err := e.Params(q, richAccount()); err != nil {
		t.Fatalf("last day: %v", err)
	}
}

// With wins tracking expected value exactly, unlimited demand issues the
// whole budget and no more, evenly: no day above its share plus the burst.
func TestThrottleSpreadsBudget(t *testing.T) {
	start := march
	end := start.Add(30 * 24 * time.Hour)
	e, clk := testEngine(t, func(c *Config) {
		c.PeriodStart, c.PeriodEnd = start, end
		c.ClaimWindow = -1
	})
	tp, err := e.Params(webQuote, richAccount())
	if err != nil {
		t.Fatal(err)
	}
	issued := new(big.Int)
	daily := make([]*big.Int, 30)
	for i := range daily {
		daily[i] = new(big.Int)
	}
	for now := start; now.Before(end); now = now.Add(time.Minute) {
		clk.Set(now)
		for e.Allow(now, tp) {
			issued.Add(issued, tp.ExpectedValue)
			d := int(now.Sub(start) / (24 * time.Hour))
			daily[d].Add(daily[d], tp.ExpectedValue)
			// An "expected" winner: actual spend follows expected value.
			if err := e.RecordWin(tp.ExpectedValue, 0, common.Address{}, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	budget := tokens(10)
	if issued.Cmp(budget) > 0 {
		t.Errorf("issued %v > budget %v", issued, budget)
	}
	if lo := tokens(9.99); issued.Cmp(lo) < 0 {
		t.Errorf("issued %v < 99.9%% of the budget", issued)
	}
	share := new(big.Int).Quo(budget, bi(30))
	for d, x := range daily {
		limit := new(big.Int).Mul(share, bi(105))
		limit.Quo(limit, bi(100))
		if d == 0 {
			limit.Mul(limit, bi(2)) // the bucket starts full: one day's burst
		}
		if x.Cmp(limit) > 0 {
			t.Errorf("day %d issued %v, above %v", d+1, x, limit)
		}
	}
	t.Logf("issued %v of %v; day 1 %v, day 15 %v, day 30 %v", issued, budget, daily[0], daily[14], daily[29])
}

// testTicket is a ticket of face f winning with probability p.
func testTicket(f *big.Int, p float64) TicketParams {
	r := uint64(p*18446744073709551616.0) - 1
	if p >= 1 {
		r = math.MaxUint64
	}
	return TicketParams{Face: f, Ratio: r, ExpectedValue: ticket.ExpectedValue(f, r), WinProbability: winProbability(r)}
}

func TestHardStop(t *testing.T) {
	face := tokens(0.002)
	e, clk := testEngine(t, func(c *Config) {
		c.Budget = new(big.Int).Mul(face, bi(10))
		c.ClaimWindow = -1
	})
	tp := testTicket(face, 0.5)
	if err := e.RecordWin(new(big.Int).Mul(face, bi(9)), 0, common.Address{}, ""); err != nil {
		t.Fatal(err)
	}
	// 9 faces spent: one more face fits exactly.
	if d, err := e.Delay(clk.Now(), tp); err != nil {
		t.Fatalf("9 of 10 faces spent: %v", err)
	} else if !e.Allow(clk.Now().Add(d), tp) {
		t.Fatalf("not allowed after the delay %v", d)
	}
	if err := e.RecordWin(new(big.Int).Quo(face, bi(2)), 0, common.Address{}, ""); err != nil {
		t.Fatal(err)
	}
	// 9.5 faces spent: a winner would take spend past the budget.
	clk.Advance(24 * time.Hour)
	if e.Allow(clk.Now(), tp) {
		t.Error("allowed a ticket whose win would pass the budget")
	}
	if _, err := e.Delay(clk.Now(), tp); !errors.Is(err, ErrBudgetExhausted) {
		t.Errorf("Delay: %v, want ErrBudgetExhausted", err)
	}
	if err := e.Wait(context.Background(), tp); !errors.Is(err, ErrBudgetExhausted) {
		t.Errorf("Wait: %v, want ErrBudgetExhausted", err)
	}
	if _, err := e.Params(webQuote, richAccount()); !errors.Is(err, ErrBudgetExhausted) {
		t.Errorf("Params: %v, want ErrBudgetExhausted", err)
	}
}

// Near the end of the budget, tickets still in the claim window hold new
// ones back until the chance that their winners overshoot by more than a
// face value is below Delta.
func TestClaimWindowGuard(t *testing.T) {
	face := tokens(0.002)
	mk := func(window time.Duration) (*Engine, *fakeClock) {
		return testEngine(t, func(c *Config) {
			c.Budget = new(big.Int).Mul(face, bi(100))
			c.PeriodStart, c.PeriodEnd = march, march.Add(24*time.Hour) // bucket = whole remaining
			c.ClaimWindow = window
		})
	}
	tp := testTicket(face, 0.5)
	for _, window := range []time.Duration{-1, 15 * time.Minute} {
		e, clk := mk(window)
		if err := e.RecordWin(new(big.Int).Mul(face, bi(90)), 0, common.Address{}, ""); err != nil {
			t.Fatal(err)
		}
		now := clk.Now()
		n := 0
		for e.Allow(now, tp) {
			n++
		}
		if window < 0 {
			if n != 20 { // the bucket's 10 faces at 0.5 faces each
				t.Errorf("without the guard: %d tickets, want 20", n)
			}
			continue
		}
		// n in-flight tickets at p = 0.5 pass the (1−δ) quantile check; n+1 do not.
		if q := BinomialQuantile(uint64(n), 0.5, 0.999); q > 10 {
			t.Errorf("guard let %d tickets out: 99.9%% quantile of winners %d > 10 faces left", n, q)
		}
		if q := BinomialQuantile(uint64(n+1), 0.5, 0.999); q <= 10 {
			t.Errorf("guard stopped at %d tickets though %d keep the quantile at %d", n, n+1, q)
		}
		d, err := e.Delay(now, tp)
		if err != nil || d < 15*time.Minute || d > 16*time.Minute {
			t.Errorf("delay %v (%v), want the claim window", d, err)
		}
		if !e.Allow(now.Add(d), tp) {
			t.Error("not allowed once the window passed")
		}
		t.Logf("guard: %d tickets of p=0.5 with 10 faces left, then wait %v", n, d)
	}
}

func TestWait(t *testing.T) {
	e, clk := testEngine(t, func(c *Config) {
		c.PeriodStart, c.PeriodEnd = march, march.Add(30*24*time.Hour)
		c.Burst = time.Hour
	})
	tp, err := e.Params(webQuote, richAccount())
	if err != nil {
		t.Fatal(err)
	}
	for e.Allow(clk.Now(), tp) { // drain the bucket
	}
	if err := e.Wait(context.Background(), tp); err != nil { // takes what is left in it
		t.Fatal(err)
	}
	// Now empty: a ticket takes its expected value at remaining/time left,
	// 10 tokens over 30 days.
	before := clk.Now()
	if err := e.Wait(context.Background(), tp); err != nil {
		t.Fatal(err)
	}
	waited := clk.Now().Sub(before)
	left := march.Add(30 * 24 * time.Hour).Sub(before).Seconds()
	want := time.Duration(float64(tp.ExpectedValue.Int64()) / (10e18 / left) * 1e9)
	if waited < want*99/100 || waited > want*101/100 {
		t.Errorf("waited %v, want about %v", waited, want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Wait(ctx, tp); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Wait: %v", err)
	}
}

func TestCalendarRollover(t *testing.T) {
	l, _ := openLedger(t)
	clk := newFakeClock(time.Date(2026, 3, 31, 23, 0, 0, 0, time.UTC))
	e, err := New(Config{Budget: tokens(10), ClaimCost: bi(1e14), Clock: clk.Now, Ledger: l})
	if err != nil {
		t.Fatal(err)
	}
	node := common.HexToAddress("0x1111111111111111111111111111111111111111")
	if err := e.RecordWin(tokens(1), 0, node, "a"); err != nil {
		t.Fatal(err)
	}
	clk.Set(time.Date(2026, 4, 1, 0, 30, 0, 0, time.UTC))
	if err := e.RecordWin(tokens(0.5), 0, node, "a"); err != nil {
		t.Fatal(err)
	}
	st := e.Status(clk.Now())
	if st.Period.Start.Month() != time.April || st.Spent.Cmp(tokens(0.5)) != 0 {
		t.Errorf("after rollover: %v spent %v", st.Period, st.Spent)
	}
	ps, err := l.Periods()
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Spent.Cmp(tokens(1)) != 0 || ps[1].Spent.Cmp(tokens(0.5)) != 0 || ps[1].Period.Start.Month() != time.April {
		t.Errorf("periods %+v", ps)
	}
	if cur, ok, err := l.Current(); err != nil || !ok || cur.Period.Start.Month() != time.April {
		t.Errorf("current %+v %v %v", cur, ok, err)
	}
}

func TestForecast(t *testing.T) {
	start := march
	end := start.Add(30 * 24 * time.Hour)
	e, clk := testEngine(t, func(c *Config) { c.PeriodStart, c.PeriodEnd = start, end })
	budget := tokens(10)
	mean, low, high := e.Forecast(start)
	if mean.Cmp(budget) != 0 || low.Cmp(mean) >= 0 || high.Cmp(mean) <= 0 || high.Cmp(new(big.Int).Add(budget, e.MinFace())) > 0 {
		t.Errorf("fresh: %v [%v, %v]", mean, low, high)
	}

	// Half the pace for half the period: 2.5 tokens issued by day 15.
	tp, err := e.Params(webQuote, richAccount())
	if err != nil {
		t.Fatal(err)
	}
	n := new(big.Int).Quo(tokens(2.5), tp.ExpectedValue).Int64()
	step := 15 * 24 * time.Hour / time.Duration(n)
	spent := new(big.Int)
	var seed uint64 = 0x9e3779b97f4a7c15
	for i := int64(0); i < n; i++ {
		clk.Set(start.Add(time.Duration(i) * step))
		if err := e.RecordIssued(tp.ExpectedValue, tp.Face, 0, common.Address{}, ""); err != nil {
			t.Fatal(err)
		}
		seed = seed*6364136223846793005 + 1442695040888963407
		if seed <= tp.Ratio {
			spent.Add(spent, tp.Face)
			if err := e.RecordWin(tp.Face, 0, common.Address{}, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	now := start.Add(15 * 24 * time.Hour)
	mean, low, high = e.Forecast(now)
	want := new(big.Int).Add(spent, tokens(2.5))
	if relErr(f64(mean), f64(want)) > 0.01 {
		t.Errorf("mean %v, want spent %v + 2.5 tokens = %v", mean, spent, want)
	}
	// 95% band of 0.002 × Binomial with mean 1250 winners: ±1.96·√1250 faces ≈ ±0.139.
	width := f64(new(big.Int).Sub(high, low)) / 1e18
	if !(low.Cmp(mean) < 0 && mean.Cmp(high) < 0) || width < 0.24 || width > 0.32 {
		t.Errorf("band [%v, %v] around %v: width %.3f tokens, want about 0.277", low, high, mean, width)
	}
	t.Logf("day 15: spent %v, forecast %v [%v, %v]", spent, mean, low, high)
}

func f64(x *big.Int) float64 { f, _ := new(big.Float).SetInt(x).Float64(); return f }

func TestStatusString(t *testing.T) {
	e, clk := testEngine(t, func(c *Config) { c.FiatPerToken = big.NewRat(5, 2); c.Symbol = "PXA" })
	if err := e.RecordWin(tokens(4), 1, common.Address{}, "web"); err != nil {
		t.Fatal(err)
	}
	s := e.Status(clk.Now()).String()
	for _, want := range []string{"2026-03", "spent 4 of 10 PXA", "($10.00 of $25.00)", "6 ($15.00) left"} {
		if !strings.Contains(s, want) {
			t.Errorf("%q does not contain %q", s, want)
		}
	}
	t.Log(s)
}

// Everything at once from many goroutines, for the race detector.
func TestConcurrentUse(t *testing.T) {
	l, _ := openLedger(t)
	e, clk := testEngine(t, func(c *Config) { c.Ledger = l; c.FlushInterval = time.Millisecond })
	tp, err := e.Params(webQuote, richAccount())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			node := common.BigToAddress(big.NewInt(int64(g)))
			for i := 0; i < 200; i++ {
				clk.Advance(time.Second)
				if e.Allow(clk.Now(), tp) {
					if err := e.RecordIssued(tp.ExpectedValue, tp.Face, g%3, node, "app"); err != nil {
						t.Error(err)
						return
					}
				}
				if i%50 == 0 {
					if err := e.RecordWin(tp.Face, g%3, node, "app"); err != nil {
						t.Error(err)
						return
					}
					e.Forecast(clk.Now())
					_ = e.Status(clk.Now()).String()
					if _, err := l.Totals(ByNode); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	cur, _, err := l.Current()
	if err != nil {
		t.Fatal(err)
	}
	if want := new(big.Int).Mul(tp.Face, bi(32)); cur.Spent.Cmp(want) != 0 || cur.Wins != 32 {
		t.Errorf("ledger spent %v in %d wins, want %v in 32", cur.Spent, cur.Wins, want)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{},
		{Budget: bi(-1)},
		{Budget: bi(1), Delta: 1.5},
		{Budget: bi(1), PeriodStart: march},
		{Budget: bi(1), PeriodStart: march, PeriodEnd: march},
		{Budget: bi(1), ClaimCost: bi(-1)},
		{Budget: bi(1), FiatPerToken: big.NewRat(-1, 2)},
		{Budget: bi(1), Burst: -time.Second},
	} {
		if _, err := New(c); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v, want ErrConfig", c, err)
		}
	}
}

func TestSetBudget(t *testing.T) {
	l, _ := openLedger(t)
	e, clk := testEngine(t, func(c *Config) { c.Ledger = l })
	tp, err := e.Params(webQuote, richAccount())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.RecordWin(tokens(3), 0, nodeA, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.SetBudget(tokens(3)); err != nil {
		t.Fatal(err)
	}
	if e.Allow(clk.Now(), tp) {
		t.Error("allowed a ticket with the budget lowered to the spend")
	}
	if cur, _, err := l.Current(); err != nil || cur.Budget.Cmp(tokens(3)) != 0 {
		t.Errorf("ledger budget %v (%v)", cur.Budget, err)
	}
	if err := e.SetBudget(tokens(20)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if !e.Allow(clk.Now(), tp) {
		t.Error("raised budget still refuses")
	}
	if err := e.SetBudget(nil); !errors.Is(err, ErrConfig) {
		t.Errorf("nil budget: %v", err)
	}
}
