package budget

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"
)

// TestWaitReplansAtBudgetChange: a ticket waiting for the throttle is
// re-planned as soon as the budget changes. Lowered below the ticket's
// face value, Wait must say so at once rather than sleep out a wait
// planned for the old budget (about a day here).
func TestWaitReplansAtBudgetChange(t *testing.T) {
	clk := newFakeClock(march.Add(10 * 24 * time.Hour))
	entered := make(chan time.Duration, 16)
	cfg := Config{Budget: tokens(10), ClaimCost: bi(1e14), Clock: clk.Now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			entered <- d
			return sleep(ctx, d) // a real timer: time does not pass on the fake clock
		}}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Empty the bucket with small tickets, then ask for a ticket of one
	// whole token, more than the bucket holds: about a day's wait.
	small := TicketParams{Face: tokens(0.002), ExpectedValue: tokens(0.001)}
	for e.Allow(clk.Now(), small) {
	}
	big1 := TicketParams{Face: tokens(1), ExpectedValue: tokens(1)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Wait(ctx, big1) }()
	select {
	case d := <-entered:
		if d < time.Hour {
			t.Fatalf("the ticket waits only %v; the test wants a long wait", d)
		}
		t.Logf("waiting %v for the throttle", d)
	case err := <-done:
		t.Fatalf("Wait returned %v without waiting", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Wait neither returned nor slept")
	}
	start := time.Now()
	if err := e.SetBudget(tokens(0.5)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrBudgetExhausted) {
			t.Fatalf("Wait after the budget fell below its face value: %v, want ErrBudgetExhausted", err)
		}
		t.Logf("re-planned %v after the budget changed", time.Since(start))
	case <-time.After(5 * time.Second):
		t.Fatal("Wait still sleeps 5s after the budget was lowered below its face value: not re-planned")
	}
	if p := e.Status(clk.Now()); p.Budget.Cmp(tokens(0.5)) != 0 || p.Forecast.Cmp(new(big.Int).Add(tokens(0.5), e.MinFace())) > 0 {
		t.Errorf("after lowering to 0.5: budget %v, forecast %v", p.Budget, p.Forecast)
	}
}
