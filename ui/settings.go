package ui

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/pexia-network/pexia/api"
)

// adminOnly is what the Settings screen says of a setting a member may not
// change.
const adminOnly = "Only an admin (root, or pexiad's own user) can change this, in pexiad's configuration or here when run as admin."

// settingsScreen: the daemon's settings. What the privilege model lets
// this user change is editable; the rest is shown with who can change it.
type settingsScreen struct {
	a *App

	hops        *widget.Select
	countries   *widget.Entry
	priceCap    *widget.Entry
	killSwitch  *widget.Check
	lockdown    *widget.Check
	allowLAN    *widget.Check
	dns         *widget.Select
	padding     *widget.Entry
	network     *widget.Select
	networkFile *widget.Entry
	rpcURL      *widget.Entry
	fiatRate    *widget.Entry
	fiatNote    *widget.Label
	timeZone    *widget.Entry
	guards      *widget.Label
	adminNote   *widget.Label
	maxBudget   *widget.Label
	appearance  *widget.RadioGroup
	save        *widget.Button
	msg         *widget.Label
	content     fyne.CanvasObject

	cur  api.Settings // guarded by App.uiMu
	have bool
}

func newSettingsScreen(a *App) *settingsScreen {
	s := &settingsScreen{a: a,
		hops:        widget.NewSelect([]string{"1", "2", "3", "4", "5"}, nil),
		countries:   widget.NewEntry(),
		priceCap:    widget.NewEntry(),
		killSwitch:  widget.NewCheck("Kill switch: block traffic outside the tunnel while connected", nil),
		lockdown:    widget.NewCheck("Lockdown: block traffic while disconnected too", nil),
		allowLAN:    widget.NewCheck("Allow the local network", nil),
		dns:         widget.NewSelect([]string{string(api.DNSTunnel), string(api.DNSSystem)}, nil),
		padding:     widget.NewEntry(),
		network:     widget.NewSelect(nil, nil),
		networkFile: widget.NewEntry(),
		rpcURL:      widget.NewEntry(),
		fiatRate:    widget.NewEntry(),
		fiatNote:    widget.NewLabel(""),
		timeZone:    widget.NewEntry(),
		guards:      widget.NewLabel("Loading…"),
		adminNote:   widget.NewLabel(adminOnly),
		maxBudget:   widget.NewLabel(""),
		msg:         widget.NewLabel(""),
	}
	s.countries.SetPlaceHolder("any (or e.g. NL, CH)")
	s.priceCap.SetPlaceHolder("no cap")
	s.padding.SetPlaceHolder("0 (off)")
	s.fiatRate.SetPlaceHolder("none, or e.g. 2500 USD")
	s.timeZone.SetPlaceHolder("this computer's (or e.g. Europe/Berlin)")
	s.guards.Wrapping = fyne.TextWrapWord
	s.fiatNote.Wrapping = fyne.TextWrapWord
	s.adminNote.Wrapping = fyne.TextWrapWord
	s.msg.Wrapping = fyne.TextWrapWord
	s.appearance = widget.NewRadioGroup([]string{appearanceSystem, appearanceLight, appearanceDark}, func(v string) {
		if v != "" {
			a.SetAppearance(v)
		}
	})
	s.appearance.Horizontal = true
	s.appearance.Selected = a.fa.Preferences().StringWithFallback(prefAppearance, appearanceSystem)
	s.save = widget.NewButton("Save", s.saveForm)
	s.save.Importance = widget.HighImportance
	s.save.Disable()
	s.setAdmin(false)
	form := widget.NewForm(
		widget.NewFormItem("Hops", s.hops),
		widget.NewFormItem("Exit countries", s.countries),
		widget.NewFormItem("Price cap per GB", s.priceCap),
		widget.NewFormItem("DNS", s.dns),
		widget.NewFormItem("Padding (kbit/s)", s.padding),
		widget.NewFormItem("Network", s.network),
		widget.NewFormItem("Budget month's time zone", s.timeZone),
	)
	adminForm := widget.NewForm(
		widget.NewFormItem("Network file", s.networkFile),
		widget.NewFormItem("RPC endpoint", s.rpcURL),
		widget.NewFormItem("Fiat rate per token", s.fiatRate),
	)
	s.content = container.NewVScroll(container.NewVBox(
		widget.NewCard("Circuit and traffic", "", container.NewVBox(form, s.killSwitch, s.lockdown, s.allowLAN)),
		widget.NewCard("Admin only", "", container.NewVBox(adminForm, s.fiatNote, s.maxBudget, s.adminNote)),
		widget.NewCard("Entry guards", "", container.NewVBox(wrapped("The first hop of every circuit of two hops or more is one of these nodes, kept for weeks, "+
			"so that few nodes ever see this computer's address. pexiad replaces one when it expires or keeps failing."), s.guards)),
		container.NewHBox(s.save), s.msg,
		widget.NewCard("Appearance", "", s.appearance),
		widget.NewCard("Not offered by pexiad yet", "", widget.NewLabel("The curated node list and starting at login.")),
	))
	return s
}

func (s *settingsScreen) load() {
	s.a.call(func(ctx context.Context) {
		// Only GET /v1/status carries the guards; state events leave them
		// out.
		st, err := s.a.c.Status(ctx)
		if err == nil {
			s.a.do(func() { s.setGuards(st.Guards) })
		}
	})
	s.a.call(func(ctx context.Context) {
		st, err := s.a.c.Settings(ctx)
		s.a.do(func() {
			if err != nil {
				s.msg.SetText("Cannot read the settings: " + err.Error())
				return
			}
			s.set(st)
		})
	})
}

// setAdmin makes the admin-only settings editable or read-only.
func (s *settingsScreen) setAdmin(admin bool) {
	for _, e := range []*widget.Entry{s.networkFile, s.rpcURL, s.fiatRate} {
		if admin {
			e.Enable()
		} else {
			e.Disable()
		}
	}
	s.adminNote.Hidden = admin
	s.adminNote.Refresh()
	if s.have {
		s.showLimit()
	}
}

// set shows st; on the UI goroutine.
func (s *settingsScreen) set(st api.Settings) {
	s.cur, s.have = st, true
	c := st.Currency
	s.hops.SetSelected(strconv.Itoa(st.Hops))
	s.countries.SetText(strings.Join(st.ExitCountries, ", "))
	s.priceCap.SetText("")
	if !st.PriceCapPerGB.IsZero() {
		s.priceCap.SetText(st.PriceCapPerGB.Format(c.Decimals, c.Decimals))
	}
	s.killSwitch.SetChecked(st.KillSwitch)
	s.lockdown.SetChecked(st.Lockdown)
	s.allowLAN.SetChecked(st.AllowLAN)
	s.dns.SetSelected(string(st.DNSMode))
	s.padding.SetText(strconv.Itoa(st.PaddingKbps))
	nets := st.Networks
	if st.Network != "" && !contains(nets, st.Network) {
		nets = append([]string{st.Network}, nets...)
	}
	s.network.SetOptions(nets)
	s.network.SetSelected(st.Network)
	if len(nets) == 0 {
		s.network.Disable()
	} else {
		s.network.Enable()
	}
	s.networkFile.SetText(st.NetworkFile)
	s.rpcURL.SetText(st.RPCURL)
	s.fiatRate.SetText(st.FiatRate)
	s.timeZone.SetText(st.TimeZone)
	switch {
	case st.FiatRate == "":
		s.fiatNote.SetText("No fiat rate: amounts are shown in " + st.Currency.Symbol + " only.")
	case st.FiatRateSetAt.IsZero():
		s.fiatNote.SetText("Amounts are estimated at " + st.FiatRate + " per " + st.Currency.Symbol + ".")
	default:
		s.fiatNote.SetText("Amounts are estimated at " + st.FiatRate + " per " + st.Currency.Symbol + ", set " + st.FiatRateSetAt.Local().Format("2 Jan 2006 15:04") + ".")
	}
	s.showLimit()
	s.save.Enable()
	s.a.budget.setLimit(st.MaxMonthlyBudget)
	s.a.showLimit()
}

// setStored takes settings pexiad stored from elsewhere than the form (a
// choice at the budget's limit), leaving what the form holds unsaved as
// it is; on the UI goroutine.
func (s *settingsScreen) setStored(st api.Settings) {
	s.cur, s.have = st, true
	s.a.showLimit()
}

// setGuards shows the entry guards; on the UI goroutine.
func (s *settingsScreen) setGuards(gs []api.Guard) {
	if len(gs) == 0 {
		s.guards.SetText("None yet: pexiad chooses them with the first circuit of two hops or more.")
		return
	}
	var lines []string
	for i, g := range gs {
		l := fmt.Sprintf("%d. %s", i+1, g.Address)
		if g.Country != "" {
			l += " in " + g.Country
		}
		l += ", kept since " + g.Added.Local().Format("2 Jan 2006") + " until " + g.Expires.Local().Format("2 Jan 2006")
		switch g.Failures {
		case 0:
		case 1:
			l += "; failed once"
		default:
			l += fmt.Sprintf("; failed %d times in a row", g.Failures)
		}
		lines = append(lines, l)
	}
	s.guards.SetText(strings.Join(lines, "\n"))
}

func (s *settingsScreen) showLimit() {
	c := s.cur.Currency
	if s.cur.MaxMonthlyBudget.IsZero() {
		s.maxBudget.SetText("Members may set any monthly budget.")
	} else {
		s.maxBudget.SetText("Highest monthly budget a member may set: " + money(s.cur.MaxMonthlyBudget, c))
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// formSettings reads the form over the settings last loaded.
func (s *settingsScreen) formSettings() (api.Settings, error) {
	n := s.cur
	n.ClearReadOnly()
	c := s.cur.Currency
	hops, err := strconv.Atoi(s.hops.Selected)
	if err != nil {
		return n, fmt.Errorf("hops: choose 1 to 5")
	}
	n.Hops = hops
	n.ExitCountries = []string{}
	for _, f := range strings.FieldsFunc(s.countries.Text, func(r rune) bool { return r == ',' || r == ' ' }) {
		n.ExitCountries = append(n.ExitCountries, strings.ToUpper(f))
	}
	n.PriceCapPerGB = api.Amount{}
	if t := strings.TrimSpace(s.priceCap.Text); t != "" {
		if n.PriceCapPerGB, err = api.ParseAmount(t, c.Decimals); err != nil {
			return n, fmt.Errorf("price cap: %v", err)
		}
	}
	n.KillSwitch, n.Lockdown, n.AllowLAN = s.killSwitch.Checked, s.lockdown.Checked, s.allowLAN.Checked
	n.DNSMode = api.DNSMode(s.dns.Selected)
	n.PaddingKbps = 0
	if t := strings.TrimSpace(s.padding.Text); t != "" {
		if n.PaddingKbps, err = strconv.Atoi(t); err != nil {
			return n, fmt.Errorf("padding: %q is not a whole number", t)
		}
	}
	n.Network = s.network.Selected
	n.NetworkFile, n.RPCURL = s.networkFile.Text, s.rpcURL.Text
	n.FiatRate = strings.TrimSpace(s.fiatRate.Text)
	if n.FiatRate != "" {
		if _, _, err := api.ParseFiatRate(n.FiatRate); err != nil {
			return n, fmt.Errorf("fiat rate: %v", err)
		}
	}
	n.TimeZone = strings.TrimSpace(s.timeZone.Text)
	if n.TimeZone != "" {
		if _, err := api.LoadTimeZone(n.TimeZone); err != nil {
			return n, fmt.Errorf("time zone: %v", err)
		}
	}
	return n, nil
}

func (s *settingsScreen) saveForm() {
	n, err := s.formSettings()
	if err != nil {
		s.msg.SetText(err.Error())
		return
	}
	s.save.Disable()
	s.a.call(func(ctx context.Context) {
		out, err := s.a.c.SetSettings(ctx, n)
		s.a.do(func() {
			s.save.Enable()
			if err != nil {
				s.msg.SetText("Not saved: " + err.Error())
				return
			}
			s.msg.SetText("Saved.")
			s.set(out)
		})
	})
}
