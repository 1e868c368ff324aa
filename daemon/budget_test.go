package daemon

import (
	"encoding/json"
	"math/big"
	"os"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/api/apitest"
	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/internal/testutil"
)

// TestBudgetThroughAPI reads the budget through the real API server from
// the real engine, after traffic paid on the in-process chain: spend, the
// forecast and its band, the current rate of use with the days it lasts
// and the chance of running out, spend per hop and per app, and the fiat
// estimate at the admin's fixed rate with its age; the JSON carries what
// the daemon reports. Then lowering the budget re-plans within a second
// and the forecast moves with it.
func TestBudgetThroughAPI(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	w := newWorld(t, 0, 1)
	d := w.daemon(w.config())
	cl := api.NewClient(apitest.Serve(t, d, api.ServerConfig{}))
	ctx := t.Context()

	set, err := cl.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	set.FiatRate, set.TimeZone = "2000.50 USD", "Europe/Berlin"
	if set, err = cl.SetSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	if set.FiatRateSetAt.IsZero() || time.Since(set.FiatRateSetAt) > time.Minute {
		t.Fatalf("fiat rate set at %v", set.FiatRateSetAt)
	}
	connect(t, d, 1)
	waitState(t, d, api.StateConnected)
	carries(t, d, w.nodes, 4<<20)

	// The rate of use needs a minute of history.
	var b api.Budget
	testutil.WaitFor(t, "a rate of use", 2*time.Minute, func() bool {
		b, err = cl.Budget(ctx)
		return err == nil && b.DaysLeft != nil
	})
	if b.Tickets == 0 || b.Issued.IsZero() || b.DemandPerHour.IsZero() || *b.DaysLeft <= 0 ||
		b.RunOutProbability < 0 || b.RunOutProbability > 1 {
		t.Errorf("after paid traffic: %d tickets worth %v, use %v/h, %v days left, run out %v",
			b.Tickets, b.Issued, b.DemandPerHour, *b.DaysLeft, b.RunOutProbability)
	}
	if b.Forecast.Cmp(b.Spent) < 0 || b.ForecastLow.Cmp(b.Forecast) > 0 || b.ForecastHigh.Cmp(b.Forecast) < 0 {
		t.Errorf("forecast %v [%v, %v] with %v spent", b.Forecast, b.ForecastLow, b.ForecastHigh, b.Spent)
	}
	if len(b.PerHop) == 0 || b.PerHop[0].Key != "0" || b.PerHop[0].Tickets == 0 || len(b.PerApp) == 0 || b.PerApp[0].Tickets == 0 {
		t.Errorf("per hop %+v, per app %+v", b.PerHop, b.PerApp)
	}
	if s := b.PeriodStart.In(berlin); b.TimeZone != "Europe/Berlin" || s.Day() != 1 || s.Hour() != 0 || s.Minute() != 0 {
		t.Errorf("period from %v in %q, want midnight of the 1st in Berlin", s, b.TimeZone)
	}
	want := api.Price{Fiat: "USD", PerToken: "2000.50", Source: api.PriceFixed, AsOf: set.FiatRateSetAt}
	if p := b.Currency.Price; p == nil || *p != want {
		t.Errorf("price %+v, want %+v", p, want)
	} else if v := p.Value(api.NewAmount(contracts.Ether(3)), b.Currency.Decimals); v != "$6001.50" {
		t.Errorf("3 tokens at 2000.50 USD: %q", v)
	}
	// The JSON is what the daemon reports, field for field (the figures
	// that move with the clock aside).
	// The server calls the daemon as this test's own user, an admin, who
	// sees every application's row.
	direct, err := d.Budget(api.WithCaller(ctx, api.Caller{UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Access: api.AccessAdmin}))
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []*api.Budget{&b, &direct} {
		x.Forecast, x.ForecastLow, x.ForecastHigh, x.RatePerHour, x.DemandPerHour = api.Amount{}, api.Amount{}, api.Amount{}, api.Amount{}, api.Amount{}
		x.DaysLeft, x.RunOutProbability, x.PerDay = nil, 0, nil
	}
	if j1, j2 := mustJSON(t, b), mustJSON(t, direct); j1 != j2 {
		t.Errorf("through the API:\n%s\ndirect:\n%s", j1, j2)
	}

	// Lowering the budget mid-month: the next read shows the new plan.
	before, err := cl.Budget(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lower := new(big.Int).Add(before.Spent.Big(), contracts.Ether(2))
	start := time.Now()
	after, err := cl.SetBudget(ctx, api.NewAmount(lower))
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if took > time.Second {
		t.Errorf("lowering the budget took %v", took)
	}
	limit := new(big.Int).Add(lower, d.pay.engine.MinFace())
	if after.Monthly.Cmp(api.NewAmount(lower)) != 0 || after.Forecast.Cmp(before.Forecast) >= 0 || after.Forecast.Big().Cmp(limit) > 0 ||
		after.RatePerHour.Cmp(before.RatePerHour) >= 0 {
		t.Errorf("budget %v → %v: forecast %v → %v, rate %v → %v", before.Monthly, after.Monthly, before.Forecast, after.Forecast, before.RatePerHour, after.RatePerHour)
	}
	t.Logf("re-planned in %v: forecast %v → %v, allowed rate %v → %v per hour; use %v/h, %.1f days left, run out %.3g",
		took, before.Forecast, after.Forecast, before.RatePerHour, after.RatePerHour, before.DemandPerHour, *before.DaysLeft, before.RunOutProbability)
	// Traffic still flows on the lowered budget.
	carries(t, d, w.nodes, 1<<20)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
