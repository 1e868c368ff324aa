package ui

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/api/apitest"
)

// TestAddRule adds rules the three ways the Apps screen offers: a domain
// rule from the form, an installed application (from its desktop entry)
// in one click, and an address rule; a malformed address is refused
// before it reaches pexiad; and a rule is removed.
func TestAddRule(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "applications")
	writeDesktop(t, dir, "org.example.Editor", "[Desktop Entry]\nType=Application\nName=Editor\nExec=editor %F\nIcon=editor\n")
	writeDesktop(t, filepath.Join(dir, "kde"), "konsole", "[Desktop Entry]\nType=Application\nName=Konsole\nExec=konsole\n")
	writeDesktop(t, dir, "hidden", "[Desktop Entry]\nType=Application\nName=Hidden\nNoDisplay=true\n")
	writeDesktop(t, dir, "link", "[Desktop Entry]\nType=Link\nName=Link\nURL=https://example.com\n")
	b := apitest.NewBackend()
	h := serve(t, b, Options{AppDirs: []string{dir}})
	s := h.a.apps
	scr := s.content
	h.untilText(scr, "Everything else: tunnel")
	h.untilText(scr, "Editor  (org.example.Editor)")
	h.untilText(scr, "Konsole  (kde-konsole)")
	if txt := h.screenText(scr); strings.Contains(txt, "Hidden") || strings.Contains(txt, "Link  (") {
		t.Fatalf("the screen lists a hidden entry or a link:\n%s", txt)
	}

	h.ui(func() {
		s.kind.SetSelected(kindDomain)
		s.value.SetText("example.org")
		s.action.SetSelected(string(api.ActionBlock))
	})
	h.tap(s.add)
	h.untilText(scr, "1. domain example.org → block")

	// One click on an installed app's Direct.
	var direct *widgetButton
	h.ui(func() { direct = findButton(s.apps, "Editor  (org.example.Editor)", "Direct") })
	if direct == nil {
		t.Fatal("no Direct button next to Editor")
	}
	h.tap(direct)
	h.untilText(scr, "2. app org.example.Editor → direct")

	h.ui(func() {
		s.kind.SetSelected(kindAddress)
		s.value.SetText("not-an-address")
	})
	before := len(b.Calls())
	h.tap(s.add)
	h.untilText(scr, `"not-an-address" is not an address or a prefix such as 192.0.2.0/24`)
	if calls := b.Calls()[before:]; slices.Contains(calls, "ChangeRules") {
		t.Fatalf("a malformed address reached pexiad: %v", calls)
	}
	h.ui(func() {
		s.value.SetText("192.0.2.0/24")
		s.action.SetSelected(string(api.ActionTunnel))
	})
	h.tap(s.add)
	h.untilText(scr, "3. address 192.0.2.0/24 → tunnel")

	set, err := h.c.Rules(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range set.Rules {
		got = append(got, ruleText(r))
	}
	want := []string{"domain example.org → block", "app org.example.Editor → direct", "address 192.0.2.0/24 → tunnel"}
	if !slices.Equal(got, want) {
		t.Fatalf("pexiad's rules are %q, want %q", got, want)
	}

	var rm *widgetButton
	h.ui(func() { rm = findButton(s.rules, "1. domain example.org → block", "Remove") })
	h.tap(rm)
	h.untilText(scr, "1. app org.example.Editor → direct")
	if set, _ = h.c.Rules(context.Background()); len(set.Rules) != 2 {
		t.Fatalf("pexiad has %d rules after the removal, want 2", len(set.Rules))
	}
}
