package budget

import (
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// TestMonthInTimeZone runs a controlled clock across a daylight saving
// change and a month end in Europe/Berlin: the period is the calendar
// month there (743 hours in March 2026, which loses an hour on the 29th),
// the spend stays through the DST change and starts over at midnight of
// the 1st in Berlin, two hours before it does in UTC. A zone set before
// any spend applies at once; set later, it keeps the month's bounds and
// spend and applies from the next month.
func TestMonthInTimeZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	l, _ := openLedger(t)
	clk := newFakeClock(time.Date(2026, 3, 28, 12, 0, 0, 0, berlin))
	e, err := New(Config{Budget: tokens(10), ClaimCost: bi(1e14), Clock: clk.Now, Sleep: clk.Sleep, Location: time.UTC, Ledger: l})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing spent yet: the zone applies to this month at once.
	if err := e.SetLocation(berlin); err != nil {
		t.Fatal(err)
	}
	p := e.Period()
	if !p.Start.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, berlin)) || p.End.Sub(p.Start) != 743*time.Hour {
		t.Fatalf("March in Berlin: %v to %v (%v), want 743 h from 1 March 00:00 CET", p.Start, p.End, p.End.Sub(p.Start))
	}
	if err := e.RecordWin(tokens(1), 0, common.Address{}, "web"); err != nil {
		t.Fatal(err)
	}
	// Across the change to summer time (29 March, 02:00 → 03:00).
	clk.Set(time.Date(2026, 3, 29, 3, 30, 0, 0, berlin))
	if st := e.Status(clk.Now()); st.Spent.Cmp(tokens(1)) != 0 || !st.Period.Start.Equal(p.Start) {
		t.Fatalf("after the DST change: spent %v in %v, want 1 token in March", st.Spent, st.Period)
	}
	// One second before midnight of the 1st in Berlin (21:59:59 UTC).
	clk.Set(time.Date(2026, 3, 31, 23, 59, 59, 0, berlin))
	if st := e.Status(clk.Now()); st.Spent.Cmp(tokens(1)) != 0 || !st.Period.End.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, berlin)) {
		t.Fatalf("last second of March: spent %v in %v", st.Spent, st.Period)
	}
	clk.Advance(time.Second)
	st := e.Status(clk.Now())
	if st.Spent.Sign() != 0 || !st.Period.Start.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, berlin)) || st.Remaining.Cmp(tokens(10)) != 0 {
		t.Fatalf("midnight of 1 April in Berlin: spent %v in %v, remaining %v; want a fresh April", st.Spent, st.Period, st.Remaining)
	}
	if got := clk.Now().UTC(); got.Month() != time.March {
		t.Fatalf("test clock: %v is not still March in UTC", got)
	}
	// A change of zone keeps the current period and its spend; the next
	// starts where it ends. Here April in Berlin ends two hours before
	// May begins in UTC: those two hours go to the next period, which runs
	// to the end of May in UTC rather than being a period of their own.
	if err := e.RecordWin(tokens(2), 0, common.Address{}, "web"); err != nil {
		t.Fatal(err)
	}
	if err := e.SetLocation(time.UTC); err != nil {
		t.Fatal(err)
	}
	if st := e.Status(clk.Now()); st.Spent.Cmp(tokens(2)) != 0 || !st.Period.Start.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, berlin)) {
		t.Fatalf("after moving to UTC: spent %v in %v, want April in Berlin with its 2 tokens", st.Spent, st.Period)
	}
	clk.Set(time.Date(2026, 5, 1, 0, 0, 0, 0, berlin))
	st = e.Status(clk.Now())
	if want := (Period{time.Date(2026, 5, 1, 0, 0, 0, 0, berlin), time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}); !st.Period.equal(want) || st.Spent.Sign() != 0 {
		t.Fatalf("at the end of April in Berlin, in UTC: spent %v in %v, want nothing in %v", st.Spent, st.Period, want)
	}
	clk.Set(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	if st := e.Status(clk.Now()); !st.Period.equal(Period{time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)}) {
		t.Fatalf("June in UTC: %v", st.Period)
	}
}
