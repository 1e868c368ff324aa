package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/pexia-network/pexia/api"
)

// homeScreen: the connect control with the state, the circuit's hops,
// live throughput and this month's spend against the budget.
type homeScreen struct {
	a *App

	state    *widget.Label // the state in words
	detail   *widget.Label // exit, reason or the connecting stage
	button   *widget.Button
	progress *widget.ProgressBar // stages of connecting
	hops     *fyne.Container
	speed    *widget.Label
	chart    *chart
	spend    *widget.ProgressBar
	spendTxt *widget.Label
	content  fyne.CanvasObject

	// Guarded by App.uiMu.
	st      api.Status
	circuit api.Circuit
	budget  api.Budget
	haveBud bool
}

// The stages of connecting the progress bar shows.
const (
	stageRequested = 1
	stageBuilt     = 2
	stageConnected = 3
	stages         = 3
)

func newHomeScreen(a *App) *homeScreen {
	h := &homeScreen{a: a,
		state:    widget.NewLabelWithStyle("…", fyne.TextAlignCenter, fyne.TextStyle{Bold: true}),
		detail:   widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{}),
		progress: widget.NewProgressBar(),
		hops:     container.NewVBox(),
		speed:    widget.NewLabel(""),
		chart:    newChart(60),
		spend:    widget.NewProgressBar(),
		spendTxt: widget.NewLabel(""),
	}
	h.state.SizeName = "headingText"
	h.detail.Wrapping = fyne.TextWrapWord
	h.button = widget.NewButton("Connect", h.toggle)
	h.button.Importance = widget.HighImportance
	h.progress.Max = stages
	h.progress.TextFormatter = func() string { return h.stageText() }
	h.progress.Hide()
	h.spend.TextFormatter = func() string { return "" }
	h.button.Disable()
	big := container.NewGridWrap(fyne.NewSize(280, 72), h.button)
	h.content = container.NewVScroll(container.NewVBox(
		h.state, container.NewCenter(big), h.progress, h.detail,
		widget.NewCard("Circuit", "", h.hops),
		widget.NewCard("Throughput", "", container.NewBorder(h.speed, nil, nil, nil, h.chart)),
		widget.NewCard("This month", "", container.NewVBox(h.spend, h.spendTxt)),
	))
	h.setCircuit(api.Circuit{})
	return h
}

func (h *homeScreen) stageText() string {
	switch h.progress.Value {
	case stageRequested:
		return "Building the circuit"
	case stageBuilt:
		return fmt.Sprintf("Circuit of %d hops built; starting the tunnel", len(h.circuit.Hops))
	case stageConnected:
		return "Connected"
	}
	return ""
}

// load reads the circuit (when connected) and the budget.
func (h *homeScreen) load() {
	h.a.call(func(ctx context.Context) {
		c, err := h.a.c.Circuit(ctx)
		if err == nil {
			h.a.do(func() { h.setCircuit(c) })
		} else if errors.Is(err, api.ErrNotConnected) {
			h.a.do(func() { h.setCircuit(api.Circuit{}) })
		}
	})
	h.a.call(func(ctx context.Context) {
		b, err := h.a.c.Budget(ctx)
		if err == nil {
			h.a.do(func() { h.setBudget(b) })
		}
	})
}

// toggle connects or disconnects by the state shown; on the UI goroutine.
func (h *homeScreen) toggle() {
	switch h.st.State {
	case api.StateDisconnected, api.StateError, "":
		if h.st.AtLimit != "" {
			h.disconnect() // the session holds at the budget's limit
			return
		}
		h.connect()
	default:
		h.disconnect()
	}
}

func (h *homeScreen) connect() {
	h.button.Disable()
	h.a.call(func(ctx context.Context) {
		st, err := h.a.c.Connect(ctx, api.ConnectRequest{})
		h.a.do(func() {
			h.button.Enable()
			if err != nil {
				h.a.failure.show(classify(err))
				return
			}
			h.a.setStatusIfNewer(st)
		})
	})
}

func (h *homeScreen) disconnect() {
	h.button.Disable()
	h.a.call(func(ctx context.Context) {
		st, err := h.a.c.Disconnect(ctx)
		h.a.do(func() {
			h.button.Enable()
			if err != nil {
				h.a.failure.show(classify(err))
				return
			}
			h.a.setStatusIfNewer(st)
		})
	})
}

// setStatus shows st; on the UI goroutine.
func (h *homeScreen) setStatus(st api.Status) {
	prev := h.st.State
	h.st = st
	h.button.Enable()
	h.progress.Hide()
	switch st.State {
	case api.StateDisconnected:
		h.state.SetText("Disconnected")
		h.button.SetText("Connect")
		h.detail.SetText("Your traffic is not protected.")
		if st.Lockdown {
			h.detail.SetText("Lockdown is on: traffic is blocked until you connect.")
		}
		h.setCircuit(api.Circuit{})
		h.chart.clear()
	case api.StateConnecting:
		h.state.SetText("Connecting…")
		h.button.SetText("Cancel")
		if prev != api.StateConnecting {
			h.progress.SetValue(stageRequested)
		}
		h.progress.Show()
		h.detail.SetText("")
	case api.StateConnected:
		h.state.SetText("Connected")
		h.button.SetText("Disconnect")
		h.progress.SetValue(stageConnected)
		h.detail.SetText(exitText(st))
	case api.StateReconnecting:
		h.state.SetText("Reconnecting…")
		h.button.SetText("Disconnect")
		h.progress.SetValue(stageRequested)
		h.progress.Show()
		msg := "The circuit was lost; building a new one."
		if st.KillSwitch {
			msg += " The kill switch blocks traffic meanwhile."
		}
		if st.Error != "" {
			msg += " Last failure: " + st.Error
		}
		h.detail.SetText(msg)
	case api.StateError:
		f := classifyStatus(st)
		h.state.SetText("Error: " + f.Title)
		h.button.SetText("Connect")
		h.detail.SetText(f.Fix)
		h.setCircuit(api.Circuit{})
		h.chart.clear()
	default:
		h.state.SetText(string(st.State))
	}
	h.speed.SetText(speedText(st.RateDown, st.RateUp))
	h.showLimit()
}

// showLimit says what happens while the session is at the budget's
// limit; on the UI goroutine.
func (h *homeScreen) showLimit() {
	st := h.st
	if st.AtLimit == "" {
		return
	}
	floor := floorOf(h.a.settings.cur)
	txt := limitText(st.AtLimit, floor, true)
	if st.State == api.StateError {
		// Held: the session stays, so the control ends it.
		h.state.SetText(limitTitle(st.AtLimit, floor))
		h.button.SetText("Disconnect")
		h.detail.SetText(txt)
		return
	}
	if e := exitText(st); e != "" {
		txt = e + "\n" + txt
	}
	h.detail.SetText(txt)
}

func exitText(st api.Status) string {
	parts := []string{}
	if st.ExitCountry != "" {
		parts = append(parts, "exit in "+st.ExitCountry)
	}
	if st.ExitHost != "" {
		parts = append(parts, st.ExitHost)
	}
	if st.Mode == api.ModeProxy {
		parts = append(parts, "proxy mode: only applications set to use the local proxies are tunnelled")
	}
	if len(parts) == 0 {
		return ""
	}
	s := strings.Join(parts, " · ")
	return strings.ToUpper(s[:1]) + s[1:]
}

func speedText(down, up uint64) string {
	return fmt.Sprintf("↓ %s   ↑ %s", rate(down), rate(up))
}

// setCircuit draws the hops; on the UI goroutine.
func (h *homeScreen) setCircuit(c api.Circuit) {
	h.circuit = c
	h.hops.RemoveAll()
	if len(c.Hops) == 0 {
		h.hops.Add(widget.NewLabel("No circuit."))
		return
	}
	if h.st.State == api.StateConnecting {
		h.progress.SetValue(stageBuilt)
	}
	for i, hop := range c.Hops {
		role := "Relay"
		switch {
		case hop.Role == api.RoleExit:
			role = "Exit"
		case i == 0:
			role = "Entry"
		}
		country := hop.Country
		if country == "" {
			country = "??"
		}
		line := fmt.Sprintf("%d. %s  %s  ·  %s/GB  ·  %.0f ms  ·  %s", i+1, role, country,
			money(hop.PricePerGB, c.Currency), hop.LatencyMS, hop.Host)
		h.hops.Add(widget.NewLabel(line))
	}
	h.hops.Add(widget.NewLabel(fmt.Sprintf("Built in %d ms", c.BuildMS)))
}

// setThroughput adds a throughput sample; on the UI goroutine.
func (h *homeScreen) setThroughput(t api.Throughput) {
	h.speed.SetText(speedText(t.RateDown, t.RateUp))
	h.chart.push(float64(t.RateDown + t.RateUp))
}

// setBudget shows the month's spend against the budget; on the UI
// goroutine.
func (h *homeScreen) setBudget(b api.Budget) {
	h.budget, h.haveBud = b, true
	h.showSpend()
}

// setSpent takes the period's spend from a spend event.
func (h *homeScreen) setSpent(spent api.Amount, c api.Currency) {
	if !h.haveBud {
		return
	}
	h.budget.Spent = spent
	if c.Symbol != "" {
		h.budget.Currency = c
	}
	h.showSpend()
}

func (h *homeScreen) showSpend() {
	b := h.budget
	h.spend.Max = max(tokens(b.Monthly, b.Currency), 1e-18)
	h.spend.SetValue(min(tokens(b.Spent, b.Currency), h.spend.Max))
	txt := fmt.Sprintf("Spent %s of %s", money(b.Spent, b.Currency), money(b.Monthly, b.Currency))
	if !b.PeriodEnd.IsZero() {
		txt += fmt.Sprintf(" (month ends %s)", b.PeriodEnd.Format("2 Jan"))
	}
	h.spendTxt.SetText(txt)
}
