package ui

import (
	"errors"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/pexia-network/pexia/api"
)

// failureKind says where a failure came from, so that the state it
// came from clearing hides it and nothing else does.
type failureKind int

const (
	failureNone    failureKind = iota
	failureDaemon              // pexiad cannot be reached or refuses this user
	failureConnect             // connecting failed, or the tunnel is in the error state
	failureLimit               // the session is at the budget's limit
)

// failure is something that went wrong, phrased for the user: what
// happened, how to get out of it, and the button that helps.
type failure struct {
	kind   failureKind
	Title  string
	Detail string // the daemon's own message
	Fix    string
	// Action names the button: "Retry", or a screen to open; empty
	// shows none.
	Action string
}

// classify phrases an error of an API call.
func classify(err error) failure {
	var e *api.Error
	switch {
	case errors.Is(err, api.ErrNotRunning):
		return failure{kind: failureDaemon, Title: "pexiad is not running", Detail: err.Error(),
			Fix: "Start it (sudo systemctl start pexiad) and the app connects to it on its own.", Action: "Retry"}
	case errors.Is(err, api.ErrForbidden):
		return failure{kind: failureDaemon, Title: "Permission denied", Detail: err.Error(),
			Fix: permissionFix(err.Error()), Action: "Retry"}
	case errors.Is(err, api.ErrUnavailable):
		return failure{kind: failureConnect, Title: "The chain is unreachable", Detail: err.Error(),
			Fix: "Check the network connection, or choose another network in Settings.", Action: "Settings"}
	case errors.As(err, &e):
		return failure{kind: failureConnect, Title: "pexiad refused", Detail: err.Error(), Action: "Retry"}
	}
	return failure{kind: failureDaemon, Title: "Cannot reach pexiad", Detail: err.Error(), Action: "Retry"}
}

// permissionFix says how to get past pexiad refusing this user, by what
// its message (api.Client's dial, or the server's access check) says
// about who may use it.
func permissionFix(msg string) string {
	switch {
	case strings.Contains(msg, "usermod"):
		// A group may use pexiad and the message names it.
		return "Join the group the message names, then log out and in again."
	case strings.Contains(msg, "gives its socket to no group"), strings.Contains(msg, "only root and the daemon's own user may"):
		// pexiad runs with no group (-group ""): no group to join.
		return "pexiad lets no group use it. Ask the administrator to start pexiad with a group (pexiad -group NAME) and add you to it, then log out and in again."
	case strings.Contains(msg, "does not exist"):
		return "The group pexiad names does not exist: ask the administrator to create it (groupadd --system NAME) and add you to it, then log out and in again."
	case strings.Contains(msg, "which group"):
		return "Ask the administrator which group may use pexiad and join it, then log out and in again."
	}
	return "Ask the administrator to let your user use pexiad."
}

// classifyStatus phrases the error state by its Reason; a daemon that
// gives none gets its message shown as it is.
func classifyStatus(st api.Status) failure {
	f := failure{kind: failureConnect, Detail: st.Error}
	switch st.Reason {
	case api.ReasonNoFunds:
		f.Title, f.Fix, f.Action = "No funds", "Deposit to your lottery account (see Wallet), then connect again.", "Wallet"
	case api.ReasonNoNodes:
		f.Title, f.Fix, f.Action = "No nodes match", "Allow more exit countries, fewer hops or a higher price cap in Settings.", "Settings"
	case api.ReasonChainUnreachable:
		f.Title, f.Fix, f.Action = "The chain is unreachable", "Check the network connection, or choose another network in Settings.", "Settings"
	case api.ReasonBudgetExhausted:
		f.Title, f.Fix, f.Action = "Budget exhausted", "Raise this month's budget, or wait for the next month.", "Budget"
	default:
		f.Title, f.Fix, f.Action = "Could not connect", "Connect again; if it keeps failing, the message above says why.", "Retry"
	}
	return f
}

// failureBanner is the strip above the screens that shows a failure.
type failureBanner struct {
	a       *App
	cur     failure
	title   *widget.Label
	detail  *widget.Label
	fix     *widget.Label
	action  *widget.Button
	limit   *limitChoices // shown at the budget's limit
	content *fyne.Container
}

func newFailureBanner(a *App) *failureBanner {
	b := &failureBanner{a: a,
		title:  widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		detail: widget.NewLabel(""),
		fix:    widget.NewLabel(""),
	}
	b.title.Importance = widget.DangerImportance
	b.detail.Wrapping = fyne.TextWrapWord
	b.fix.Wrapping = fyne.TextWrapWord
	b.action = widget.NewButton("Retry", b.act)
	b.action.Importance = widget.HighImportance
	b.limit = newLimitChoices(a)
	b.content = container.NewVBox(container.NewBorder(nil, nil, nil, b.action, b.title), b.detail, b.fix, b.limit.content, widget.NewSeparator())
	b.content.Hide()
	return b
}

func (b *failureBanner) act() {
	switch b.cur.Action {
	case "Retry":
		if b.cur.kind == failureConnect {
			b.a.home.connect()
		} else {
			b.a.Retry()
		}
	default:
		b.a.Show(b.cur.Action)
	}
}

// show displays f; on the UI goroutine.
func (b *failureBanner) show(f failure) {
	b.cur = f
	b.title.SetText(f.Title)
	b.detail.SetText(f.Detail)
	b.fix.SetText(f.Fix)
	b.fix.Hidden = f.Fix == ""
	b.detail.Hidden = f.Detail == ""
	b.limit.content.Hidden = f.kind != failureLimit
	b.action.Hidden = f.Action == ""
	label := f.Action
	if label != "Retry" {
		label = "Open " + label
	}
	b.action.SetText(label)
	b.content.Show()
	b.relayout()
}

// relayout lays the window out again for the banner's new height. Twice:
// a wrapped label's height follows the width the first pass gives it.
func (b *failureBanner) relayout() {
	if b.a.root != nil {
		b.a.root.Refresh()
		b.a.root.Refresh()
	}
}

// hide removes the failure shown if it is of kind k.
func (b *failureBanner) hide(k failureKind) {
	if b.cur.kind == k {
		b.cur = failure{}
		b.content.Hide()
		b.relayout()
	}
}
