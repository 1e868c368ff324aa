package daemon

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/rules"
	"github.com/pexia-network/pexia/wallet/budget"
)

// appMeter counts what each application does through the router: flows,
// bytes each way and refused flows, per application and per circuit
// profile. It gives the payer the bytes each application carried on a
// profile's circuit (window), so that each ticket's expected value is
// shared among the applications by their bytes, and it drains its counts
// into the budget ledger (drain), where they outlive the daemon.
//
// An application is its owner's uid and executable (appLabel). Bytes of a
// profile's circuits are counted per profile, not per circuit: a profile
// has one circuit at a time, and while a replaced circuit drains its last
// flows their bytes count in the new circuit's window.
type appMeter struct {
	mu    sync.Mutex
	stats map[appKey]*appStat
}

// appKey is an application's flows under one profile ("" for flows that
// use no circuit: direct and blocked).
type appKey struct {
	label, profile string
}

type appStat struct {
	up, down, flows, blocked atomic.Uint64

	// Under appMeter.mu: what drain already wrote, and the decision of the
	// latest flow.
	done         budget.Traffic
	rule, action string
	ruleChanged  bool
}

// appWindow is one payer's view of a profile: the bytes each application
// had carried at its previous call.
type appWindow struct {
	m       *appMeter
	profile string
	seen    map[string]uint64
}

func newAppMeter() *appMeter { return &appMeter{stats: map[appKey]*appStat{}} }

// appLabel names the application that owns a flow: "uid:executable", with
// "?" for an unknown uid and the process name, or "(unknown)", where the
// executable is not known. The uid comes first so that the API can show a
// member only their own applications.
func appLabel(o rules.Owner) string {
	uid := "?"
	if o.HasUID {
		uid = strconv.FormatUint(uint64(o.UID), 10)
	}
	path := o.Exe
	if path == "" && o.Name != "" {
		path = "[" + o.Name + "]"
	}
	if path == "" {
		path = "(unknown)"
	}
	return uid + ":" + path
}

// parseAppLabel splits a label made by appLabel; ok is false if the uid is
// unknown.
func parseAppLabel(label string) (uid uint32, path string, ok bool) {
	u, p, found := strings.Cut(label, ":")
	if !found {
		return 0, label, false
	}
	n, err := strconv.ParseUint(u, 10, 32)
	if err != nil {
		return 0, p, false
	}
	return uint32(n), p, true
}

// stat returns the counters of label's flows under profile, noting the
// decision that opened the latest one.
func (m *appMeter) stat(label, profile string, d rules.Decision) *appStat {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := appKey{label, profile}
	s := m.stats[k]
	if s == nil {
		s = &appStat{}
		m.stats[k] = s
	}
	rule, action := d.String(), d.Target.String()
	if rule != s.rule || action != s.action {
		s.rule, s.action, s.ruleChanged = rule, action, true
	}
	return s
}

// window returns a function giving the bytes (both ways) each application
// carried through profile's circuits since its previous call; the first
// call counts from now.
func (m *appMeter) window(profile string) func() []budget.Share {
	w := &appWindow{m: m, profile: profile, seen: map[string]uint64{}}
	m.mu.Lock()
	for k, s := range m.stats {
		if k.profile == profile {
			w.seen[k.label] = s.up.Load() + s.down.Load()
		}
	}
	m.mu.Unlock()
	return w.shares
}

func (w *appWindow) shares() []budget.Share {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	var out []budget.Share
	for k, s := range w.m.stats {
		if k.profile != w.profile {
			continue
		}
		n := s.up.Load() + s.down.Load()
		if d := n - w.seen[k.label]; d > 0 {
			out = append(out, budget.Share{App: k.label, Bytes: d})
		}
		w.seen[k.label] = n
	}
	sort.Slice(out, func(i, j int) bool { return out[i].App < out[j].App })
	return out
}

// drain writes what was counted since the previous drain to the engine's
// ledger (each application's traffic; the engine writes it with its next
// ledger write or Flush).
func (m *appMeter) drain(e *budget.Engine) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]appKey, 0, len(m.stats))
	for k := range m.stats {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].label != keys[j].label {
			return keys[i].label < keys[j].label
		}
		return keys[i].profile < keys[j].profile
	})
	var errs []error
	for _, k := range keys {
		s := m.stats[k]
		now := budget.Traffic{Up: s.up.Load(), Down: s.down.Load(), Flows: s.flows.Load(), Blocked: s.blocked.Load()}
		d := budget.Traffic{Up: now.Up - s.done.Up, Down: now.Down - s.done.Down, Flows: now.Flows - s.done.Flows, Blocked: now.Blocked - s.done.Blocked}
		if d == (budget.Traffic{}) && !s.ruleChanged {
			continue
		}
		d.Rule, d.Action = s.rule, s.action
		// An error is the ledger's write: the traffic is counted and
		// written with the next one.
		errs = append(errs, e.RecordTraffic(k.label, k.profile, d))
		s.done, s.ruleChanged = now, false
	}
	return errors.Join(errs...)
}

var _ api.AppsBackend = (*Daemon)(nil)

// maysee reports whether caller c may see application label's figures: an
// admin all, a member their own uid's.
func maysee(c api.Caller, label string) bool {
	if c.Access == api.AccessAdmin {
		return true
	}
	uid, _, ok := parseAppLabel(label)
	return ok && uid == c.UID
}

// Apps implements api.AppsBackend: the applications the ledger holds for
// the current budget period, with what was counted until now.
func (d *Daemon) Apps(ctx context.Context) (api.Apps, error) {
	if err := d.apps.drain(d.pay.engine); err != nil {
		d.cfg.Logf("budget: per-app traffic: %v", err)
	}
	if err := d.pay.engine.Flush(); err != nil {
		return api.Apps{}, err
	}
	st := d.pay.engine.Status(d.pay.budgetNow())
	rows, err := d.pay.ledger.TotalsFor(st.Period, budget.ByApp)
	if err != nil {
		return api.Apps{}, err
	}
	out := api.Apps{PeriodStart: st.Period.Start, PeriodEnd: st.Period.End, Issued: api.NewAmount(st.Issued),
		Unattributed: api.AmountOf(0), Currency: d.currency(), Apps: []api.App{}}
	c := api.CallerFrom(ctx)
	for _, r := range rows {
		if r.Key == budget.Unattributed {
			out.Unattributed = api.NewAmount(r.Issued)
			continue
		}
		if !maysee(c, r.Key) {
			continue
		}
		uid, path, ok := parseAppLabel(r.Key)
		out.Apps = append(out.Apps, api.App{UID: uid, HasUID: ok, Path: path, Rule: r.Rule, Action: r.Action,
			Flows: r.Flows, Blocked: r.Blocked, BytesUp: r.Up, BytesDown: r.Down, Spend: api.NewAmount(r.Issued), Tickets: r.Tickets})
	}
	return api.VisibleApps(c, out), nil
}
