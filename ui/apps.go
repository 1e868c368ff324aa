package ui

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/pexia-network/pexia/api"
)

// The kinds of rule the Apps screen adds.
const (
	kindApp     = "App"
	kindDomain  = "Domain"
	kindAddress = "Address"
)

// defaultProfile is the profile choice meaning the connection's circuit.
const defaultProfile = "(connection's circuit)"

// appsScreen: the split-tunnel rules, a form to add an app, domain or
// address rule, the installed applications with a rule each in one click,
// and the UDP flows open now.
type appsScreen struct {
	a *App

	rules    *fyne.Container
	def      *widget.Label
	kind     *widget.Select
	value    *widget.SelectEntry
	action   *widget.Select
	profile  *widget.Select
	add      *widget.Button
	msg      *widget.Label
	apps     *fyne.Container
	flows    *fyne.Container
	usage    *fyne.Container
	content  fyne.CanvasObject
	dirs     []string
	appsList []desktopApp // guarded by App.uiMu
	set      api.RuleSet  // guarded by App.uiMu

	usageData api.Apps // guarded by App.uiMu
	haveUsage bool
}

func newAppsScreen(a *App) *appsScreen {
	s := &appsScreen{a: a,
		rules: container.NewVBox(),
		def:   widget.NewLabel(""),
		value: widget.NewSelectEntry(nil),
		msg:   widget.NewLabel(""),
		apps:  container.NewVBox(),
		flows: container.NewVBox(),
		usage: container.NewVBox(widget.NewLabel("Loading…")),
		dirs:  a.opt.AppDirs,
	}
	if s.dirs == nil {
		s.dirs = applicationDirs()
	}
	s.msg.Wrapping = fyne.TextWrapWord
	s.kind = widget.NewSelect([]string{kindApp, kindDomain, kindAddress}, func(string) { s.kindChanged() })
	s.action = widget.NewSelect([]string{string(api.ActionTunnel), string(api.ActionDirect), string(api.ActionBlock)}, func(string) { s.actionChanged() })
	s.profile = widget.NewSelect([]string{defaultProfile}, nil)
	s.add = widget.NewButton("Add rule", s.addFromForm)
	s.kind.SetSelected(kindApp)
	s.action.SetSelected(string(api.ActionTunnel))
	s.profile.SetSelected(defaultProfile)
	form := container.NewVBox(
		container.NewGridWithColumns(2, widget.NewLabel("Match"), s.kind),
		container.NewGridWithColumns(2, widget.NewLabel("App, domain or address"), s.value),
		container.NewGridWithColumns(2, widget.NewLabel("Send it"), s.action),
		container.NewGridWithColumns(2, widget.NewLabel("Profile"), s.profile),
		s.add, s.msg,
	)
	s.content = container.NewVScroll(container.NewVBox(
		widget.NewCard("Rules", "The first rule that matches a new connection decides where it goes.", container.NewVBox(s.rules, s.def)),
		widget.NewCard("Add a rule", "", form),
		widget.NewCard("Installed applications", "", s.apps),
		widget.NewCard("Applications this month", "", container.NewVBox(wrapped("What each program sent and received, the rule that decided its latest connection, and its share of the tickets."), s.usage)),
		widget.NewCard("UDP flows now", "", s.flows),
	))
	return s
}

func (s *appsScreen) load() {
	s.a.call(func(ctx context.Context) {
		set, err := s.a.c.Rules(ctx)
		s.a.do(func() {
			if err != nil {
				s.msg.SetText("Cannot read the rules: " + err.Error())
				return
			}
			s.setRules(set)
		})
	})
	s.a.call(func(ctx context.Context) {
		apps := installedApps(s.dirs)
		s.a.do(func() { s.setApps(apps) })
	})
	s.a.call(func(ctx context.Context) {
		st, err := s.a.c.Status(ctx)
		if err == nil {
			s.a.do(func() { s.setFlows(st.UDPFlows) })
		}
	})
	s.loadUsage()
}

// loadUsage reads what each application did this month (GET /v1/apps).
func (s *appsScreen) loadUsage() {
	s.a.call(func(ctx context.Context) {
		apps, err := s.a.c.Apps(ctx)
		s.a.do(func() {
			if err != nil {
				s.setUsageError(err)
				return
			}
			s.usageData, s.haveUsage = apps, true
			s.showUsage()
		})
	})
}

func (s *appsScreen) setUsageError(err error) {
	s.usage.RemoveAll()
	msg := "Cannot read the applications: " + err.Error()
	if ae := (*api.Error)(nil); errors.As(err, &ae) && ae.Code == "not_found" {
		msg = "This pexiad does not count applications."
	}
	s.usage.Add(wrapped(msg))
}

// showUsage shows the applications of the month, most spent first, by
// name: the installed application's when its desktop entry runs the
// program. On the UI goroutine.
func (s *appsScreen) showUsage() {
	if !s.haveUsage {
		return
	}
	a := s.usageData
	c := a.Currency
	s.usage.RemoveAll()
	if len(a.Apps) == 0 {
		s.usage.Add(widget.NewLabel("No application has used the network since " + a.PeriodStart.Local().Format("2 Jan") + "."))
	}
	rows := append([]api.App(nil), a.Apps...)
	sort.SliceStable(rows, func(i, j int) bool {
		if d := rows[i].Spend.Cmp(rows[j].Spend); d != 0 {
			return d > 0
		}
		return rows[i].BytesUp+rows[i].BytesDown > rows[j].BytesUp+rows[j].BytesDown
	})
	self := os.Getuid()
	for _, app := range rows {
		name := widget.NewLabelWithStyle(appName(app.Path, s.appsList)+owner(app.UID, app.HasUID, self), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		s.usage.Add(container.NewVBox(name, wrapped(usageText(app, c))))
	}
	if !a.Unattributed.IsZero() {
		s.usage.Add(wrapped("Prepaid for circuits no application has used yet: " + money(a.Unattributed, c)))
	}
	s.usage.Add(widget.NewLabel(fmt.Sprintf("Issued this month (since %s): %s", a.PeriodStart.Local().Format("2 Jan"), money(a.Issued, c))))
}

// usageText is an application's row below its name: the rule that
// decided its latest flow and the profile it goes through, then its
// flows, bytes and spend.
func usageText(app api.App, c api.Currency) string {
	rule := app.Rule
	if rule == "" {
		rule = app.Action
	}
	l1 := "Rule: " + rule
	if p := profileOf(app.Action); p != "" {
		l1 += " · Profile: " + p
	}
	flows := fmt.Sprintf("%d flows", app.Flows)
	if app.Blocked > 0 {
		flows += fmt.Sprintf(", %d blocked", app.Blocked)
	}
	return fmt.Sprintf("%s\n%s · sent %s, received %s · spent %s", l1, flows,
		formatBytes(app.BytesUp), formatBytes(app.BytesDown), money(app.Spend, c))
}

// setStatus follows the state: the UDP flows are read when it changes.
func (s *appsScreen) setStatus(st api.Status) {
	if st.UDPFlows != nil {
		s.setFlows(st.UDPFlows)
	}
}

func (s *appsScreen) setFlows(fs []api.UDPFlow) {
	s.flows.RemoveAll()
	if len(fs) == 0 {
		s.flows.Add(widget.NewLabel("None open. (pexiad does not report recent TCP flows or the rule each matched.)"))
		return
	}
	for _, f := range fs {
		dst := f.Destination
		if dst == "" {
			dst = "(hidden from members)"
		}
		s.flows.Add(widget.NewLabel(fmt.Sprintf("%s %s: %d sent, %d received, %d dropped",
			f.Protocol, dst, f.Sent, f.Received, f.DroppedUp+f.DroppedDown+f.ExitDroppedUp+f.ExitDroppedDown)))
	}
}

// setRules shows the rule set; on the UI goroutine.
func (s *appsScreen) setRules(set api.RuleSet) {
	s.set = set
	s.rules.RemoveAll()
	if len(set.Rules) == 0 {
		s.rules.Add(widget.NewLabel("No rules."))
	}
	for i, r := range set.Rules {
		pos := i + 1
		rm := widget.NewButton("Remove", func() { s.remove(pos) })
		s.rules.Add(container.NewBorder(nil, nil, nil, rm, widget.NewLabel(fmt.Sprintf("%d. %s", pos, ruleText(r)))))
	}
	s.def.SetText("Everything else: " + set.Default.String())
	names := []string{defaultProfile}
	for _, p := range set.Profiles {
		names = append(names, p.Name)
	}
	s.profile.SetOptions(names)
	s.actionChanged()
}

// ruleText describes a rule in one line.
func ruleText(r api.Rule) string {
	var conds []string
	add := func(what string, vs []string) {
		if len(vs) > 0 {
			conds = append(conds, what+" "+strings.Join(vs, ", "))
		}
	}
	add("app", r.Match.Desktop)
	add("program", r.Match.Exe)
	add("process", r.Match.Name)
	add("cgroup", r.Match.Cgroup)
	add("domain", r.Match.Domain)
	add("address", r.Match.Dst)
	add("port", r.Match.Port)
	add("protocol", r.Match.Proto)
	if len(r.Match.UID) > 0 {
		var us []string
		for _, u := range r.Match.UID {
			us = append(us, fmt.Sprint(u))
		}
		add("user", us)
	}
	t := strings.Join(conds, "; ")
	if r.Name != "" {
		t = r.Name + ": " + t
	}
	return t + " → " + r.Target.String()
}

func (s *appsScreen) setApps(apps []desktopApp) {
	s.appsList = apps
	// The applications' names come from their desktop entries.
	s.showUsage()
	s.a.budget.showPerApp()
	s.apps.RemoveAll()
	var ids []string
	for _, app := range apps {
		ids = append(ids, app.ID)
	}
	if s.kind.Selected == kindApp {
		s.value.SetOptions(ids)
	}
	if len(apps) == 0 {
		s.apps.Add(widget.NewLabel("No desktop entries found."))
		return
	}
	const most = 200
	for i, app := range apps {
		if i == most {
			s.apps.Add(widget.NewLabel(fmt.Sprintf("and %d more; type an app's id in the form above.", len(apps)-most)))
			break
		}
		id := app.ID
		btns := container.NewHBox()
		for _, act := range []api.RuleAction{api.ActionTunnel, api.ActionDirect, api.ActionBlock} {
			btns.Add(widget.NewButton(strings.ToUpper(string(act[:1]))+string(act[1:]), func() {
				s.addRule(api.Rule{Match: api.RuleMatch{Desktop: []string{id}}, Target: api.RuleTarget{Action: act}})
			}))
		}
		s.apps.Add(container.NewBorder(nil, nil, nil, btns, widget.NewLabel(app.Name+"  ("+id+")")))
	}
}

func (s *appsScreen) kindChanged() {
	if s.value == nil {
		return
	}
	switch s.kind.Selected {
	case kindApp:
		var ids []string
		for _, app := range s.appsList {
			ids = append(ids, app.ID)
		}
		s.value.SetOptions(ids)
		s.value.SetPlaceHolder("org.mozilla.firefox")
	case kindDomain:
		s.value.SetOptions(nil)
		s.value.SetPlaceHolder("example.com, or .example.com for all under it")
	case kindAddress:
		s.value.SetOptions(nil)
		s.value.SetPlaceHolder("192.0.2.0/24 or 2001:db8::1")
	}
}

// actionChanged: only a tunnel rule takes a profile.
func (s *appsScreen) actionChanged() {
	if s.profile == nil {
		return
	}
	if s.action.Selected == string(api.ActionTunnel) {
		s.profile.Enable()
	} else {
		s.profile.SetSelected(defaultProfile)
		s.profile.Disable()
	}
}

// formRule builds the rule the form describes, or says what is wrong.
func (s *appsScreen) formRule() (api.Rule, error) {
	v := strings.TrimSpace(s.value.Text)
	if v == "" {
		return api.Rule{}, fmt.Errorf("name an app, a domain or an address")
	}
	var r api.Rule
	switch s.kind.Selected {
	case kindApp:
		r.Match.Desktop = []string{strings.TrimSuffix(v, ".desktop")}
	case kindDomain:
		r.Match.Domain = []string{v}
	case kindAddress:
		if _, err := netip.ParsePrefix(v); err != nil {
			if _, err := netip.ParseAddr(v); err != nil {
				return api.Rule{}, fmt.Errorf("%q is not an address or a prefix such as 192.0.2.0/24", v)
			}
		}
		r.Match.Dst = []string{v}
	default:
		return api.Rule{}, fmt.Errorf("choose what the rule matches")
	}
	r.Target.Action = api.RuleAction(s.action.Selected)
	if r.Target.Action == api.ActionTunnel && s.profile.Selected != defaultProfile {
		r.Target.Profile = s.profile.Selected
	}
	return r, nil
}

func (s *appsScreen) addFromForm() {
	r, err := s.formRule()
	if err != nil {
		s.msg.SetText(err.Error())
		return
	}
	s.addRule(r)
}

// addRule adds r at the end of the list; on the UI goroutine. A member's
// direct rule must name their own uid (the daemon's rule), so the app adds
// it.
func (s *appsScreen) addRule(r api.Rule) {
	if r.Target.Action == api.ActionDirect && !s.a.admin {
		r.Match.UID = []uint32{uint32(os.Getuid())}
	}
	s.add.Disable()
	s.msg.SetText("Adding…")
	s.a.call(func(ctx context.Context) {
		set, err := s.a.c.AddRule(ctx, r, 0)
		s.a.do(func() {
			s.add.Enable()
			if err != nil {
				s.msg.SetText("Not added: " + err.Error())
				return
			}
			s.msg.SetText("Added: " + ruleText(r))
			s.value.SetText("")
			s.setRules(set)
		})
	})
}

func (s *appsScreen) remove(pos int) {
	s.a.call(func(ctx context.Context) {
		set, err := s.a.c.RemoveRule(ctx, pos)
		s.a.do(func() {
			if err != nil {
				s.msg.SetText("Not removed: " + err.Error())
				return
			}
			s.msg.SetText(fmt.Sprintf("Removed rule %d.", pos))
			s.setRules(set)
		})
	})
}

// wrapped is a label that wraps at word boundaries, so that a long text
// does not widen the window.
func wrapped(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}
