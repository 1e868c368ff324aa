package ui

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/pexia-network/pexia/api"
)

// defaultFloorKbps is the throttle's floor the app offers when the
// settings name none.
const defaultFloorKbps = 1000

// limitChoices says what happens at the budget's limit and offers the
// user's choices in place: raise the budget (the Budget screen's slider),
// keep traffic held, throttle to the floor, or go direct. The failure
// banner shows one while the limit is in force; the Budget screen shows
// one always. Choosing changes the settings' at_limit through the API.
type limitChoices struct {
	a *App

	what     *widget.Label // what happens, or would happen, at the limit
	raise    *widget.Button
	hold     *widget.Button
	throttle *widget.Button
	direct   *widget.Button
	why      *widget.Label // why a choice is not offered
	msg      *widget.Label // the last choice's outcome
	content  *fyne.Container

	busy bool // guarded by App.uiMu: a choice is being saved
}

func newLimitChoices(a *App) *limitChoices {
	l := &limitChoices{a: a, what: widget.NewLabel(""), why: widget.NewLabel(""), msg: widget.NewLabel("")}
	for _, lb := range []*widget.Label{l.what, l.why, l.msg} {
		lb.Wrapping = fyne.TextWrapWord
	}
	l.msg.Hide()
	l.raise = widget.NewButton("Raise the budget", a.raiseBudget)
	l.raise.Importance = widget.HighImportance
	l.hold = widget.NewButton("Keep traffic held", func() { l.choose(api.LimitStop) })
	l.throttle = widget.NewButton("Throttle", func() { l.choose(api.LimitThrottle) })
	l.direct = widget.NewButton("Go direct", func() { l.choose(api.LimitDirect) })
	l.content = container.NewVBox(l.what,
		container.NewGridWithColumns(2, l.raise, l.hold, l.throttle, l.direct),
		l.why, l.msg)
	return l
}

// limitOffer is what the choices at the limit allow: whether this user
// may choose throttle and direct under set, and why not.
type limitOffer struct {
	throttle, direct       bool
	whyThrottle, whyDirect string
}

// offerAtLimit follows api.Settings.Validate and api.CheckChange: direct
// with the kill switch on needs the admin's allow_direct_at_limit, and a
// member may choose throttle (which pays past the budget) only when the
// admin set no highest budget.
func offerAtLimit(set api.Settings, admin bool) limitOffer {
	o := limitOffer{throttle: true, direct: true}
	if set.KillSwitch && !set.AllowDirectAtLimit {
		o.direct = false
		o.whyDirect = "Going direct is not offered: the kill switch forbids traffic outside the tunnel, and the admin does not allow it at the limit (allow_direct_at_limit). Turn the kill switch off in Settings, or ask the admin."
	}
	if !admin && !set.MaxMonthlyBudget.IsZero() && limitActionOf(set) != api.LimitThrottle {
		o.throttle = false
		o.whyThrottle = "Throttling is not offered: it pays past the budget, which the admin limits to " +
			money(set.MaxMonthlyBudget, set.Currency) + " a month; only an admin may choose it."
	}
	return o
}

// limitActionOf is the settings' action at the limit, the default filled
// in.
func limitActionOf(set api.Settings) api.LimitAction {
	if set.AtLimit == "" {
		return api.LimitStop
	}
	return set.AtLimit
}

// floorOf is the throttle's floor in kbit/s that choosing throttle keeps.
func floorOf(set api.Settings) int {
	if set.FloorKbps > 0 {
		return set.FloorKbps
	}
	return defaultFloorKbps
}

// limitTitle names what happens now that the budget is spent.
func limitTitle(at api.LimitAction, floor int) string {
	switch at {
	case api.LimitThrottle:
		return fmt.Sprintf("Budget spent: throttled to %d kbit/s", floor)
	case api.LimitDirect:
		return "Budget spent: traffic goes direct"
	}
	return "Budget spent: traffic held"
}

// limitText says what happens at the limit under action at, now (spent)
// or once the budget is spent.
func limitText(at api.LimitAction, floor int, spent bool) string {
	var s string
	switch at {
	case api.LimitThrottle:
		s = fmt.Sprintf("traffic goes on through the tunnel at %d kbit/s, paid past the budget at that rate", floor)
	case api.LimitDirect:
		s = "traffic goes direct, outside the tunnel, unprotected, until the budget is raised or the month ends"
	default:
		s = "traffic is held: the tunnel stays up and nothing leaves outside it until the budget is raised or the month ends"
	}
	if spent {
		return "This month's budget is spent: " + s + "."
	}
	return "When this month's budget is spent, " + s + "."
}

// atLimitNow is the action in force because the budget is spent, from the
// status (or the budget, while no session runs); empty while it lasts.
func (a *App) atLimitNow() api.LimitAction {
	if a.status.AtLimit != "" {
		return a.status.AtLimit
	}
	if a.budget.have && a.budget.budget.Limited {
		return limitActionOf(a.settings.cur)
	}
	return ""
}

// update shows the settings, the status and the budget as they are now;
// on the UI goroutine.
func (l *limitChoices) update() {
	a := l.a
	set := a.settings.cur
	chosen := limitActionOf(set)
	floor := floorOf(set)
	now := a.atLimitNow()
	if now != "" {
		l.what.SetText(limitText(now, floor, true))
	} else {
		l.what.SetText(limitText(chosen, floor, false))
	}
	// The choice in force is marked, and not offered again.
	l.hold.SetText(chosenMark(chosen == api.LimitStop) + "Keep traffic held")
	l.throttle.SetText(chosenMark(chosen == api.LimitThrottle) + fmt.Sprintf("Throttle to %d kbit/s", floor))
	l.direct.SetText(chosenMark(chosen == api.LimitDirect) + "Go direct")
	o := offerAtLimit(set, a.admin)
	ready := a.settings.have && !l.busy
	enable(l.hold, ready && chosen != api.LimitStop)
	enable(l.throttle, ready && o.throttle && chosen != api.LimitThrottle)
	enable(l.direct, ready && o.direct && chosen != api.LimitDirect)
	enable(l.raise, a.budget.have)
	l.raise.Hidden = now == "" // offered while the budget is spent
	l.raise.Refresh()
	why := o.whyDirect
	if o.whyThrottle != "" {
		if why != "" {
			why += "\n"
		}
		why += o.whyThrottle
	}
	l.why.SetText(why)
	l.why.Hidden = why == ""
	l.why.Refresh()
}

func chosenMark(chosen bool) string {
	if chosen {
		return "✓ "
	}
	return ""
}

func enable(b *widget.Button, on bool) {
	if on {
		b.Enable()
	} else {
		b.Disable()
	}
}

// choose sets the settings' at_limit to action; on the UI goroutine.
func (l *limitChoices) choose(action api.LimitAction) {
	a := l.a
	if !a.settings.have || l.busy {
		return
	}
	n := a.settings.cur
	n.ClearReadOnly()
	n.AtLimit = action
	if action == api.LimitThrottle {
		n.FloorKbps = floorOf(n)
	}
	l.busy = true
	l.say("Saving…")
	l.update()
	a.call(func(ctx context.Context) {
		out, err := a.c.SetSettings(ctx, n)
		a.do(func() {
			l.busy = false
			if err != nil {
				l.say("Not changed: " + err.Error())
				l.update()
				return
			}
			l.say("Saved: " + limitText(limitActionOf(out), floorOf(out), false))
			a.settings.setStored(out)
		})
	})
}

func (l *limitChoices) say(msg string) {
	l.msg.SetText(msg)
	l.msg.Show()
}

// showLimit brings what the app shows of the budget's limit up to date;
// on the UI goroutine.
func (a *App) showLimit() {
	a.failure.limit.update()
	a.budget.atLimit.update()
	a.home.showLimit()
	if a.status.AtLimit != "" {
		a.failure.show(limitFailure(a.status, floorOf(a.settings.cur)))
	} else {
		a.failure.hide(failureLimit)
	}
}

// limitFailure is the banner while the session is at the budget's limit.
func limitFailure(st api.Status, floor int) failure {
	return failure{kind: failureLimit, Title: limitTitle(st.AtLimit, floor), Detail: st.Error}
}

// raiseBudget shows the Budget screen with its slider focused, so that
// the arrow keys move it at once.
func (a *App) raiseBudget() {
	a.Show("Budget")
	a.win.Canvas().Focus(a.budget.slider)
}
