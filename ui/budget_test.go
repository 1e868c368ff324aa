package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/pexia-network/pexia/api/apitest"
)

// TestBudgetSlider moves the budget slider in steps, as a drag does: the
// screen follows at once, pexiad is asked to re-plan once the slider rests
// (not at every step), and the budget, the forecast and the home screen's
// spend follow the answer.
func TestBudgetSlider(t *testing.T) {
	b := apitest.NewBackend()
	h := serve(t, b, Options{})
	scr := h.a.budget.content
	h.untilText(scr, "10 PEX (≈ $5.00) per month")
	h.untilText(scr, "Expected spend this month: 9.98 PEX (≈ $4.99) (95 %: 9.91 to 10.002); it may run out before the month ends")
	h.untilText(scr, "Using 0.0235 PEX (≈ $0.01) per hour now; what is left lasts")
	h.untilText(scr, "Chance of running out before the month ends: 3 %")
	h.untilText(scr, "The throttle allows 0.012 PEX (≈ $0.01) per hour")
	h.untilText(scr, "hop 3") // the per-hop breakdown, counted from the entry
	h.until("the slider is enabled", func() bool { return !h.a.budget.slider.Disabled() })

	// A drag: the pointer moves in steps, then is released.
	h.ui(func() { h.a.Show("Budget") })
	sl := h.a.budget.slider
	var w, y float32
	h.ui(func() { w, y = sl.Size().Width, sl.Size().Height/2 })
	if w == 0 {
		t.Fatal("the slider has no size")
	}
	moves := []float32{0.3, 0.35, 0.4, 0.45, 0.5}
	var want float64
	for _, f := range moves {
		h.ui(func() { sl.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(w*f, y)}}) })
	}
	h.ui(func() {
		want = sl.Value
		sl.DragEnd()
	})
	amt, err := fromTokens(want, apitest.Currency)
	if err != nil {
		t.Fatal(err)
	}
	shown := amt.Format(18, 4) + " PEX"
	t.Logf("the drag ended at %s", shown)
	h.untilText(scr, "Saved: "+shown)
	if got := budgetOf(t, h.c).Monthly; got.Cmp(amt) != 0 {
		t.Fatalf("the backend's budget is %s, want %s", got.Format(18, 6), shown)
	}
	sets := strings.Count(strings.Join(b.Calls(), " "), "SetBudget")
	t.Logf("%d drag steps made %d SetBudget calls", len(moves), sets)
	if sets >= len(moves) {
		t.Fatalf("%d drag steps made %d SetBudget calls: the slider does not wait to rest", len(moves), sets)
	}
	h.untilText(h.a.home.content, "of "+shown)

	// Moved and left alone (the keyboard's arrows): pexiad re-plans once
	// the slider rests.
	h.ui(func() { sl.OnChanged(7) })
	h.untilText(scr, "Saved: 7 PEX (≈ $3.50) per month.")
	h.untilText(scr, "Spent 4.82 PEX (≈ $2.41), 2.18 PEX (≈ $1.09) left")
}
