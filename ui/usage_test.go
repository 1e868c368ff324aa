package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/api/apitest"
)

// TestAppsList: the Apps screen lists what each application did this
// month from GET /v1/apps, by the name of its desktop entry where one
// runs the program, with its rule, profile, flows, bytes and spend, most
// spent first; another user's application says whose it is; choosing the
// screen reads the list again.
func TestAppsList(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "applications")
	writeDesktop(t, dir, "org.mozilla.firefox", "[Desktop Entry]\nType=Application\nName=Firefox\nExec=/usr/lib/firefox/firefox %u\n")
	writeDesktop(t, dir, "transmission-gtk", "[Desktop Entry]\nType=Application\nName=Transmission\nExec=env GDK_BACKEND=x11 transmission-gtk %U\n")
	self := uint32(os.Getuid())
	other := self + 1
	b := apitest.NewBackend()
	b.SetApps(api.Apps{
		Apps: []api.App{
			{UID: self, HasUID: true, Path: "/usr/bin/transmission-gtk", Rule: "direct (rule 2)", Action: "direct", Flows: 96, BytesUp: 40 << 20, BytesDown: 900 << 20},
			{UID: self, HasUID: true, Path: "/usr/lib/firefox/firefox", Rule: `tunnel(browsing) (rule 1 "web")`, Action: "tunnel(browsing)",
				Flows: 412, BytesUp: 3 << 20, BytesDown: 180 << 20, Spend: apitest.Tokens("3.1"), Tickets: 61000},
			{UID: self, HasUID: true, Path: "[telemetryd]", Rule: "block (rule 3)", Action: "block", Blocked: 17},
			{UID: other, HasUID: true, Path: "/usr/bin/curl", Rule: "tunnel (default)", Action: "tunnel", Flows: 8, BytesUp: 1 << 10, BytesDown: 70 << 20, Spend: apitest.Tokens("1.7")},
			{Path: "(unknown)", Rule: "tunnel (default)", Action: "tunnel", Flows: 1, BytesUp: 100, BytesDown: 200, Spend: apitest.Tokens("0.0002")},
		},
		Issued: apitest.Tokens("4.9"), Unattributed: apitest.Tokens("0.0998"),
	})
	h := serve(t, b, Options{AppDirs: []string{dir}})
	scr := h.a.apps.content
	want := strings.Join([]string{
		"Firefox",
		`Rule: tunnel(browsing) (rule 1 "web") · Profile: browsing` + "\n412 flows · sent 3.0 MiB, received 180.0 MiB · spent 3.1 PEX (≈ $1.55)",
		fmt.Sprintf("curl (user %d)", other),
		"Rule: tunnel (default) · Profile: " + defaultProfile + "\n8 flows · sent 1.0 KiB, received 70.0 MiB · spent 1.7 PEX (≈ $0.85)",
		"Unknown program (owner unknown)",
		"Rule: tunnel (default) · Profile: " + defaultProfile + "\n1 flows · sent 100 B, received 200 B · spent 0.0002 PEX (< $0.01)",
		"Transmission",
		"Rule: direct (rule 2)\n96 flows · sent 40.0 MiB, received 900.0 MiB · spent 0 PEX (≈ $0.00)",
		"telemetryd",
		"Rule: block (rule 3)\n0 flows, 17 blocked · sent 0 B, received 0 B · spent 0 PEX (≈ $0.00)",
		"Prepaid for circuits no application has used yet: 0.0998 PEX (≈ $0.05)",
	}, "\n")
	h.untilText(scr, want)

	// Choosing the screen reads the applications again.
	b.SetApps(api.Apps{Apps: []api.App{{UID: self, HasUID: true, Path: "/usr/bin/ssh", Rule: "direct (rule 4)", Action: "direct", Flows: 2}}})
	h.ui(func() { h.a.Show("Apps") })
	h.untilText(scr, "ssh\nRule: direct (rule 4)\n2 flows")
	if txt := h.screenText(scr); strings.Contains(txt, "Firefox\n") {
		t.Fatalf("the screen still lists the applications read before:\n%s", txt)
	}
}

// TestBudgetAppNames: the Budget screen's spend per application names
// each by its desktop entry or program, not by the daemon's "uid:path"
// key.
func TestBudgetAppNames(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "applications")
	writeDesktop(t, dir, "org.mozilla.firefox", "[Desktop Entry]\nType=Application\nName=Firefox\nExec=/usr/lib/firefox/firefox %u\n")
	b := apitest.NewBackend()
	h := serve(t, b, Options{AppDirs: []string{dir}})
	whose := func(uid int) string {
		switch {
		case uid == os.Getuid():
			return ""
		case uid == 0:
			return " (root)"
		}
		return fmt.Sprintf(" (user %d)", uid)
	}
	for _, want := range []string{"3.05 PEX (≈ $1.53)\nFirefox" + whose(1000), "1.67 PEX (≈ $0.84)\napt" + whose(0), "0.1 PEX (≈ $0.05)\nUnknown program (owner unknown)"} {
		h.untilText(h.a.budget.perApp, want)
	}
	if txt := h.screenText(h.a.budget.perApp); strings.Contains(txt, ":/") {
		t.Fatalf("the Budget screen shows a raw application key:\n%s", txt)
	}
}

// TestSettingsGuardsFiatRateTimeZone: the Settings screen shows the entry
// guards from the status, and the fiat rate (admin only) and the budget
// month's time zone (anyone), which Save changes; a malformed zone or rate
// is refused before it reaches pexiad.
func TestSettingsGuardsFiatRateTimeZone(t *testing.T) {
	b := apitest.NewBackend()
	set, err := b.Settings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	set.FiatRate, set.FiatRateSetAt, set.TimeZone = "0.5 USD", apitest.Currency.Price.AsOf, "UTC"
	if _, err := b.SetSettings(context.Background(), set); err != nil {
		t.Fatal(err)
	}
	h := serve(t, b, Options{})
	s := h.a.settings
	day := func(y, m, d int) string {
		return dateUTC(y, m, d).Local().Format("2 Jan 2006")
	}
	h.untilText(s.content, "Entry guards")
	h.untilText(s.content, "1. 0x00000000000000000000000000000000000a11ce in DE, kept since "+day(2026, 11, 20)+" until "+day(2027, 1, 15)+
		"\n2. 0x00000000000000000000000000000000000b0b00 in CH, kept since "+day(2026, 11, 28)+" until "+day(2027, 1, 20)+"; failed once")
	h.until("the settings loaded, the fiat rate editable", func() bool {
		return s.fiatRate.Text == "0.5 USD" && s.timeZone.Text == "UTC" && !s.fiatRate.Disabled() && !s.timeZone.Disabled()
	})
	h.untilText(s.content, "Amounts are estimated at 0.5 USD per PEX, set ")

	for _, tc := range []struct{ zone, rate, want string }{
		{"Mars/Olympus", "0.6 USD", "time zone: "},
		{"Europe/Berlin", "lots", "fiat rate: "},
	} {
		h.ui(func() { s.timeZone.SetText(tc.zone); s.fiatRate.SetText(tc.rate) })
		before := len(b.Calls())
		h.tap(s.save)
		h.untilText(s.content, tc.want)
		if slices.Contains(b.Calls()[before:], "SetSettings") {
			t.Fatalf("zone %q, rate %q reached pexiad", tc.zone, tc.rate)
		}
	}
	h.ui(func() { s.timeZone.SetText("Europe/Berlin"); s.fiatRate.SetText("0.6 EUR") })
	h.tap(s.save)
	h.untilText(s.content, "Saved.")
	got, err := h.c.Settings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.TimeZone != "Europe/Berlin" || got.FiatRate != "0.6 EUR" {
		t.Fatalf("pexiad's settings after Save: time zone %q, fiat rate %q", got.TimeZone, got.FiatRate)
	}
}

func dateUTC(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
