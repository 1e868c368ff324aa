package budget

import (
	"errors"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/wallet"
)

// TestZeroBudgetThenRaise: a budget of zero is a budget (nothing may be
// spent), not a bad configuration, and raising it lets tickets through
// again on the same engine.
func TestZeroBudgetThenRaise(t *testing.T) {
	clk := newFakeClock(march.Add(10 * 24 * time.Hour))
	e, err := New(Config{Budget: bi(0), ClaimCost: bi(1e14), Clock: clk.Now, Sleep: clk.Sleep})
	if err != nil {
		t.Fatalf("a budget of zero: %v", err)
	}
	if !e.AtLimit() {
		t.Error("a zero budget is not at its limit")
	}
	tk := TicketParams{Face: tokens(0.002), ExpectedValue: tokens(0.001)}
	if _, err := e.Delay(clk.Now(), tk); !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("a ticket on a zero budget: %v, want ErrBudgetExhausted", err)
	}
	if _, err := e.Params(HopQuote{PricePerGB: tokens(0.001)}, wallet.Account{Balance: tokens(1), Escrow: tokens(1)}); !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("a plan on a zero budget: %v, want ErrBudgetExhausted", err)
	}
	changed := e.Changed()
	if err := e.SetBudget(tokens(10)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Error("raising the budget did not signal the change")
	}
	if e.AtLimit() || !e.Allow(clk.Now(), tk) {
		t.Fatal("the raised budget does not let a ticket through")
	}
	if err := e.SetBudget(bi(0)); err != nil {
		t.Fatalf("lowering the budget to zero: %v", err)
	}
	if e.Allow(clk.Now(), tk) {
		t.Fatal("a ticket passed after the budget went back to zero")
	}
	if err := e.SetBudget(bi(-1)); !errors.Is(err, ErrConfig) {
		t.Errorf("a negative budget: %v", err)
	}
}

// TestFloorPastBudget: with a floor rate, a spent budget still pays, one
// ticket per hop position per the bytes it covers at that rate, and the
// plan refuses no circuit; without it the limit stops every ticket.
func TestFloorPastBudget(t *testing.T) {
	clk := newFakeClock(march.Add(10 * 24 * time.Hour))
	e, err := New(Config{Budget: tokens(1), ClaimCost: bi(1e14), Clock: clk.Now, Sleep: clk.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	// A winner spends the whole budget.
	if err := e.RecordWin(tokens(1), 0, common.Address{}, ""); err != nil {
		t.Fatal(err)
	}
	const bytes = 1 << 20
	tk := TicketParams{Hop: 0, Face: tokens(0.002), ExpectedValue: tokens(0.001), Bytes: bytes}
	if _, err := e.Delay(clk.Now(), tk); !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("past the budget without a floor: %v", err)
	}
	e.SetFloor(128 << 10) // 128 KiB/s: one 1 MiB ticket every 8 s per hop
	ps, err := e.Params(HopQuote{PricePerGB: tokens(0.001), BytesPerTicket: bytes}, wallet.Account{Balance: tokens(1), Escrow: tokens(1)})
	if err != nil {
		t.Fatalf("a plan past the budget with a floor: %v", err)
	}
	if ps.Bytes != bytes {
		t.Errorf("the plan's ticket covers %d bytes, want %d", ps.Bytes, bytes)
	}
	if !e.Allow(clk.Now(), tk) {
		t.Fatal("the first ticket past the budget at the floor waits")
	}
	if e.Allow(clk.Now(), tk) {
		t.Fatal("a second ticket for the same hop passed at once")
	}
	other := tk
	other.Hop = 1
	if !e.Allow(clk.Now(), other) {
		t.Fatal("hop 1 waits for hop 0's pace")
	}
	d, err := e.Delay(clk.Now(), tk)
	if err != nil || d != 8*time.Second {
		t.Fatalf("next ticket for hop 0 in %v (%v), want 8s", d, err)
	}
	if err := e.Wait(t.Context(), tk); err != nil {
		t.Fatal(err)
	}
	if got := clk.Now().Sub(march.Add(10 * 24 * time.Hour)); got != 8*time.Second {
		t.Errorf("Wait let the ticket through after %v, want 8s", got)
	}
	e.SetFloor(0)
	if _, err := e.Delay(clk.Now(), tk); !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("past the budget after the floor was removed: %v", err)
	}
}
