package ui

import (
	"context"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/pexia-network/pexia/api"
)

// replanAfter is how long the budget slider must rest before the app asks
// pexiad to re-plan with the new budget (releasing the slider asks at
// once).
const replanAfter = 300 * time.Millisecond

// budgetScreen: the monthly budget's slider, which re-plans through the
// API as it moves, and what the API forecasts and has spent.
type budgetScreen struct {
	a *App

	slider   *widget.Slider
	value    *widget.Label
	saved    *widget.Label
	forecast *widget.Label
	spent    *widget.Label
	perHop   *fyne.Container
	perApp   *fyne.Container
	atLimit  *limitChoices // what happens when the budget is spent
	content  fyne.CanvasObject

	// Guarded by App.uiMu.
	budget   api.Budget
	have     bool
	limit    api.Amount // a member's highest budget; zero: none
	updating bool       // the slider is being set from the API, not by the user

	tmu     sync.Mutex
	timer   *time.Timer // guarded by tmu
	stopped bool        // guarded by tmu
	pending api.Amount  // guarded by tmu: the budget to send
	dirty   bool        // guarded by tmu: pending is not sent yet
	sending bool        // guarded by tmu: a goroutine is sending
}

func newBudgetScreen(a *App) *budgetScreen {
	b := &budgetScreen{a: a,
		value:    widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		saved:    widget.NewLabel(""),
		forecast: widget.NewLabel(""),
		spent:    widget.NewLabel(""),
		perHop:   container.NewVBox(),
		perApp:   container.NewVBox(),
	}
	b.forecast.Wrapping = fyne.TextWrapWord
	b.slider = widget.NewSlider(0, 100)
	b.slider.Step = 0.1
	b.slider.OnChanged = b.moved
	b.slider.OnChangeEnded = func(float64) { b.replanNow() }
	b.slider.Disable()
	b.atLimit = newLimitChoices(a)
	b.content = container.NewVScroll(container.NewVBox(
		widget.NewCard("Monthly budget", "Move the slider (or focus it and use the arrow keys); pexiad re-plans as it moves.",
			container.NewVBox(b.value, b.slider, b.saved)),
		widget.NewCard("When the budget is spent", "", b.atLimit.content),
		widget.NewCard("Forecast", "", b.forecast),
		widget.NewCard("This month", "", container.NewVBox(b.spent,
			widget.NewLabelWithStyle("Per hop", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), b.perHop,
			widget.NewLabelWithStyle("Per app", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), b.perApp)),
	))
	return b
}

func (b *budgetScreen) load() {
	b.a.call(func(ctx context.Context) {
		bud, err := b.a.c.Budget(ctx)
		b.a.do(func() {
			if err != nil {
				b.saved.SetText("Cannot read the budget: " + err.Error())
				return
			}
			b.setBudget(bud, true)
		})
	})
}

// setLimit sets the highest budget a member may choose (zero: none).
func (b *budgetScreen) setLimit(limit api.Amount) {
	b.limit = limit
	if b.have {
		b.setBudget(b.budget, true)
	}
}

// setBudget shows bud; moveSlider also moves the slider to its budget.
func (b *budgetScreen) setBudget(bud api.Budget, moveSlider bool) {
	b.budget, b.have = bud, true
	c := bud.Currency
	cur := tokens(bud.Monthly, c)
	if moveSlider {
		top := max(4*cur, 10)
		if !b.limit.IsZero() && !b.a.admin {
			top = tokens(b.limit, c)
		}
		b.updating = true
		b.slider.Max = math.Ceil(top)
		b.slider.Step = max(math.Round(top/200*10)/10, 0.1)
		b.slider.SetValue(cur)
		b.updating = false
		b.value.SetText(money(bud.Monthly, c) + " per month")
	}
	b.slider.Enable()
	b.forecast.SetText(forecastText(bud))
	b.spent.SetText(fmt.Sprintf("Spent %s, %s left; %d tickets issued, %d won.",
		money(bud.Spent, c), money(bud.Remaining, c), bud.Tickets, bud.Wins))
	fillTotals(b.perHop, bud.PerHop, c, func(k string) string {
		if i, err := strconv.Atoi(k); err == nil {
			return fmt.Sprintf("hop %d", i+1) // the API counts from 0, the entry
		}
		return "hop " + k
	})
	b.showPerApp()
	b.a.showLimit()
}

// showPerApp shows the spend per application by name; on the UI
// goroutine.
func (b *budgetScreen) showPerApp() {
	if !b.have {
		return
	}
	self := os.Getuid()
	fillTotals(b.perApp, b.budget.PerApp, b.budget.Currency, func(k string) string {
		if k == "" {
			return "prepaid"
		}
		return appKeyName(k, b.a.apps.appsList, self)
	})
}

// forecastText says what the API forecasts; fields it leaves zero are
// left out.
func forecastText(bud api.Budget) string {
	c := bud.Currency
	var lines []string
	if !bud.Forecast.IsZero() {
		l := "Expected spend this month: " + money(bud.Forecast, c)
		if !bud.ForecastHigh.IsZero() {
			l += fmt.Sprintf(" (95 %%: %s to %s)", bud.ForecastLow.Format(c.Decimals, 4), bud.ForecastHigh.Format(c.Decimals, 4))
		}
		if bud.ForecastHigh.Cmp(bud.Monthly) > 0 {
			l += "; it may run out before the month ends"
		}
		lines = append(lines, l)
	}
	if !bud.DemandPerHour.IsZero() {
		l := "Using " + money(bud.DemandPerHour, c) + " per hour now"
		if bud.DaysLeft != nil {
			l += fmt.Sprintf("; what is left lasts %.1f days at that rate", *bud.DaysLeft)
		}
		lines = append(lines, l)
	}
	if bud.RunOutProbability > 0 {
		lines = append(lines, fmt.Sprintf("Chance of running out before the month ends: %.0f %%", bud.RunOutProbability*100))
	}
	if !bud.RatePerHour.IsZero() {
		l := "The throttle allows " + money(bud.RatePerHour, c) + " per hour"
		if !bud.PeriodEnd.IsZero() {
			if left := time.Until(bud.PeriodEnd); left > 0 {
				l += fmt.Sprintf("; the month ends in %.0f days", math.Ceil(left.Hours()/24))
			}
			if bud.TimeZone != "" {
				l += " (" + bud.TimeZone + ")"
			}
		}
		lines = append(lines, l)
	}
	if p := c.Price; p != nil && !p.AsOf.IsZero() {
		lines = append(lines, fmt.Sprintf("Fiat estimates at %s %s per %s, set %s", p.PerToken, p.Fiat, c.Symbol, p.AsOf.Format("2 Jan 2006")))
	}
	if !bud.PaddingPerHour.IsZero() {
		lines = append(lines, "Padding costs "+money(bud.PaddingPerHour, c)+" per hour")
	}
	if len(lines) == 0 {
		return "pexiad gives no forecast yet."
	}
	return strings.Join(lines, "\n")
}

func fillTotals(box *fyne.Container, ts []api.SpendTotal, c api.Currency, name func(string) string) {
	box.RemoveAll()
	if len(ts) == 0 {
		box.Add(widget.NewLabel("Nothing yet."))
		return
	}
	ts = append([]api.SpendTotal(nil), ts...)
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].Spent.Cmp(ts[j].Spent) > 0 })
	top := max(tokens(ts[0].Spent, c), 1e-18)
	for _, t := range ts {
		bar := widget.NewProgressBar()
		bar.Max = top
		bar.SetValue(tokens(t.Spent, c))
		bar.TextFormatter = func() string { return money(t.Spent, c) }
		box.Add(container.NewBorder(nil, nil, container.NewGridWrap(fyne.NewSize(120, 36), widget.NewLabel(name(t.Key))), nil, bar))
	}
}

// setSpent takes the period's spend from a spend event.
func (b *budgetScreen) setSpent(spent api.Amount) {
	if b.have {
		b.budget.Spent = spent
		b.setBudget(b.budget, false)
	}
}

// moved follows the slider: the new figure shows at once, and pexiad
// re-plans once the slider rests.
func (b *budgetScreen) moved(v float64) {
	if b.updating || !b.have {
		return
	}
	c := b.budget.Currency
	amt, err := fromTokens(v, c)
	if err != nil {
		b.saved.SetText(err.Error())
		return
	}
	b.value.SetText(money(amt, c) + " per month")
	b.saved.SetText("Re-planning…")
	b.tmu.Lock()
	defer b.tmu.Unlock()
	if b.stopped {
		return
	}
	b.pending = amt
	if b.timer != nil {
		b.timer.Stop()
	}
	b.timer = time.AfterFunc(replanAfter, b.replan)
}

// replanNow re-plans at once (the slider was released), if it moved.
func (b *budgetScreen) replanNow() {
	if b.updating || !b.have {
		return
	}
	b.tmu.Lock()
	if b.timer == nil || !b.timer.Stop() {
		b.tmu.Unlock()
		return // nothing pending, or the timer is re-planning already
	}
	b.tmu.Unlock()
	b.replan()
}

// replan has the slider's value sent to pexiad; from the timer's goroutine
// or the UI goroutine. One request is in flight at a time, and the last
// value the slider rested on is the one pexiad keeps.
func (b *budgetScreen) replan() {
	b.tmu.Lock()
	defer b.tmu.Unlock()
	if b.stopped {
		return
	}
	b.dirty = true
	if b.sending {
		return
	}
	b.sending = true
	b.a.call(b.send)
}

// send sends the pending budget until none is left.
func (b *budgetScreen) send(ctx context.Context) {
	for {
		b.tmu.Lock()
		if !b.dirty || b.stopped {
			b.sending = false
			b.tmu.Unlock()
			return
		}
		amt := b.pending
		b.dirty = false
		b.tmu.Unlock()
		bud, err := b.a.c.SetBudget(ctx, amt)
		b.tmu.Lock()
		last := !b.dirty
		b.tmu.Unlock()
		b.a.do(func() {
			if err != nil {
				b.saved.SetText("Not saved: " + err.Error())
				return
			}
			if last {
				b.saved.SetText("Saved: " + money(bud.Monthly, bud.Currency) + " per month.")
			}
			b.setBudget(bud, false)
			b.a.home.setBudget(bud)
		})
	}
}

// stop ends the slider's timer for good.
func (b *budgetScreen) stop() {
	b.tmu.Lock()
	defer b.tmu.Unlock()
	b.stopped = true
	if b.timer != nil {
		b.timer.Stop()
	}
}
