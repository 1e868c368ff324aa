package apitest

import (
	"context"
	"slices"

	"github.com/pexia-network/pexia/api"
)

var _ api.AppsBackend = (*Backend)(nil)

// Apps implements api.AppsBackend: the applications set with SetApps, by
// default three of uid 1000 (one through a profile, one direct, one
// blocked) and one of root.
func (b *Backend) Apps(context.Context) (api.Apps, error) {
	err := b.enter("Apps")
	defer b.mu.Unlock()
	if err != nil {
		return api.Apps{}, err
	}
	a := b.apps
	a.Apps = slices.Clone(a.Apps)
	a.PeriodStart, a.PeriodEnd, a.Currency = b.budget.PeriodStart, b.budget.PeriodEnd, Currency
	return a, nil
}

// SetApps replaces what Apps returns.
func (b *Backend) SetApps(a api.Apps) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.apps = a
}

// defaultApps is what Apps returns until SetApps; the budget's PerApp
// rows carry the same spend under the daemon's "uid:path" keys.
func defaultApps() api.Apps {
	return api.Apps{
		Apps: []api.App{
			{UID: 1000, HasUID: true, Path: "/usr/lib/firefox/firefox", Rule: "tunnel(browsing) (rule 1)", Action: "tunnel(browsing)",
				Flows: 412, BytesUp: 3 << 20, BytesDown: 180 << 20, Spend: Tokens("3.1"), Tickets: 61000},
			{UID: 1000, HasUID: true, Path: "/usr/bin/transmission-gtk", Rule: "direct (rule 2)", Action: "direct",
				Flows: 96, BytesUp: 40 << 20, BytesDown: 900 << 20},
			{UID: 1000, HasUID: true, Path: "[telemetryd]", Rule: "block (rule 3)", Action: "block", Blocked: 17},
			{UID: 0, HasUID: true, Path: "/usr/bin/apt", Rule: "tunnel (default)", Action: "tunnel",
				Flows: 8, BytesUp: 1 << 20, BytesDown: 70 << 20, Spend: Tokens("1.7"), Tickets: 33000},
		},
		Issued: Tokens("4.9"), Unattributed: Tokens("0.1"),
	}
}
