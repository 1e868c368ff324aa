package ui

import (
	"context"
	"strings"
	"testing"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/api/apitest"
)

// TestAtLimitChoices spends the budget while connected: the banner and
// the Budget screen say what happens (traffic held) and offer the choices
// in place. Throttle, chosen in the banner, and hold, chosen on the Budget
// screen, change pexiad's settings and what it does; going direct is
// shown disabled with why while the kill switch forbids it and offered
// once the admin allows it; raising the budget opens the slider, and a
// higher budget resumes the connection.
func TestAtLimitChoices(t *testing.T) {
	b := apitest.NewBackend()
	h := serve(t, b, Options{})
	home, bud := h.a.home.content, h.a.budget.content
	h.untilText(home, "Disconnected")
	h.until("the settings loaded", func() bool { return h.a.settings.have })
	h.tap(h.a.home.button)
	h.untilText(home, "Connected")

	banner, card := h.a.failure.limit, h.a.budget.atLimit
	h.untilText(bud, "When this month's budget is spent, traffic is held")
	b.SpendAll()
	h.untilBanner("Budget spent: traffic held")
	h.untilBanner("at the budget's limit, traffic is held") // pexiad's own message
	h.untilBanner("This month's budget is spent: traffic is held")
	for _, want := range []string{"[Raise the budget]", "[✓ Keep traffic held]", "[Throttle to 1000 kbit/s]", "[Go direct]",
		"Going direct is not offered: the kill switch forbids traffic outside the tunnel"} {
		h.untilBanner(want)
	}
	h.untilText(home, "Budget spent: traffic held")
	h.untilText(home, "[Disconnect]") // the session holds
	h.untilText(bud, "This month's budget is spent: traffic is held")
	h.ui(func() {
		for _, l := range []*limitChoices{banner, card} {
			if !l.direct.Disabled() || !l.hold.Disabled() || l.throttle.Disabled() || l.raise.Disabled() {
				t.Errorf("direct disabled %v (want true), hold disabled %v (want true: chosen), throttle disabled %v, raise disabled %v (want false)",
					l.direct.Disabled(), l.hold.Disabled(), l.throttle.Disabled(), l.raise.Disabled())
			}
		}
	})

	// Throttle, in the banner: pexiad keeps the tunnel at the floor.
	h.tap(banner.throttle)
	h.untilBanner("Budget spent: throttled to 1000 kbit/s")
	h.untilBanner("traffic goes on through the tunnel at 1000 kbit/s")
	h.untilBanner("[✓ Throttle to 1000 kbit/s]")
	set := settingsOf(t, h.c)
	if set.AtLimit != api.LimitThrottle || set.FloorKbps != 1000 {
		t.Fatalf("pexiad's settings: at_limit %q floor_kbps %d, want throttle 1000", set.AtLimit, set.FloorKbps)
	}
	h.untilText(home, "Connected")
	h.untilText(home, "Exit in NL")
	if st := statusOf(t, h.c); st.State != api.StateConnected || st.AtLimit != api.LimitThrottle {
		t.Fatalf("pexiad's status %s at_limit %q, want connected at throttle", st.State, st.AtLimit)
	}

	// Hold, on the Budget screen.
	h.ui(func() { h.a.Show("Budget") })
	h.tap(card.hold)
	h.untilText(bud, "Saved: When this month's budget is spent, traffic is held")
	h.untilBanner("Budget spent: traffic held")
	h.untilText(home, "Budget spent: traffic held")
	if set := settingsOf(t, h.c); set.AtLimit != api.LimitStop {
		t.Fatalf("pexiad's at_limit is %q, want stop", set.AtLimit)
	}

	// The admin allows going direct (read again with F5's refresh).
	set = settingsOf(t, h.c)
	set.AllowDirectAtLimit = true
	set.ClearReadOnly()
	if _, err := h.c.SetSettings(context.Background(), set); err != nil {
		t.Fatal(err)
	}
	h.a.refresh()
	h.until("going direct offered", func() bool { return !banner.direct.Disabled() })
	if got := h.bannerText(); strings.Contains(got, "Going direct is not offered") {
		t.Fatalf("the banner still says going direct is not offered:\n%s", got)
	}
	h.tap(banner.direct)
	h.untilBanner("Budget spent: traffic goes direct")
	h.untilBanner("traffic goes direct, outside the tunnel")
	if st := statusOf(t, h.c); st.AtLimit != api.LimitDirect {
		t.Fatalf("pexiad's status at_limit %q, want direct", st.AtLimit)
	}

	// Raise the budget: the slider, focused; a higher budget resumes.
	h.ui(func() { h.a.Show("Home") })
	h.tap(banner.raise)
	h.until("the Budget screen with its slider focused", func() bool {
		return h.a.tabs.Selected().Text == "Budget" && h.a.win.Canvas().Focused() == h.a.budget.slider
	})
	h.ui(func() { h.a.budget.slider.OnChanged(12) })
	h.untilText(bud, "Saved: 12 PEX (≈ $6.00) per month.")
	h.until("the banner to go", func() bool { return !h.a.failure.content.Visible() })
	h.untilText(home, "Connected")
	h.untilText(bud, "When this month's budget is spent, traffic goes direct")
}

// TestAtLimitOffer: what a member and an admin may choose at the limit,
// as pexiad's settings check decides.
func TestAtLimitOffer(t *testing.T) {
	max := apitest.Tokens("20")
	for _, tc := range []struct {
		name             string
		set              api.Settings
		admin            bool
		throttle, direct bool
	}{
		{"kill switch off", api.Settings{}, false, true, true},
		{"kill switch on", api.Settings{KillSwitch: true}, false, true, false},
		{"kill switch on, admin allows direct", api.Settings{KillSwitch: true, AllowDirectAtLimit: true}, false, true, true},
		{"member under a highest budget", api.Settings{MaxMonthlyBudget: max}, false, false, true},
		{"member already throttling", api.Settings{MaxMonthlyBudget: max, AtLimit: api.LimitThrottle, FloorKbps: 500}, false, true, true},
		{"admin under a highest budget", api.Settings{MaxMonthlyBudget: max}, true, true, true},
	} {
		o := offerAtLimit(tc.set, tc.admin)
		if o.throttle != tc.throttle || o.direct != tc.direct {
			t.Errorf("%s: throttle %v direct %v, want %v %v", tc.name, o.throttle, o.direct, tc.throttle, tc.direct)
		}
		if (o.whyThrottle == "") != o.throttle || (o.whyDirect == "") != o.direct {
			t.Errorf("%s: a choice not offered without why, or one offered with: %+v", tc.name, o)
		}
		// The settings the choice would send pass pexiad's checks.
		for _, c := range []struct {
			ok     bool
			action api.LimitAction
		}{{o.throttle, api.LimitThrottle}, {o.direct, api.LimitDirect}} {
			next := tc.set
			next.Hops, next.DNSMode, next.AtLimit, next.FloorKbps = 3, api.DNSTunnel, c.action, floorOf(tc.set)
			caller := api.Caller{Access: api.AccessMember}
			if tc.admin {
				caller.Access = api.AccessAdmin
			}
			err := next.Validate()
			if err == nil {
				err = api.CheckChange(caller, tc.set, next)
			}
			if (err == nil) != c.ok {
				t.Errorf("%s: %s offered %v, but pexiad's checks say %v", tc.name, c.action, c.ok, err)
			}
		}
	}
}

func settingsOf(t *testing.T, c *api.Client) api.Settings {
	t.Helper()
	s, err := c.Settings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func statusOf(t *testing.T, c *api.Client) api.Status {
	t.Helper()
	s, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}
