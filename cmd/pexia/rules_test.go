package main

import (
	"strings"
	"testing"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/api/apitest"
	"github.com/pexia-network/pexia/rules"
)

// TestRulesCommands runs pexia rules and pexia profiles against a real API
// server on a unix socket.
func TestRulesCommands(t *testing.T) {
	b := apitest.NewBackend()
	t.Cleanup(b.Close)
	sock := apitest.Serve(t, b, api.ServerConfig{})
	env := map[string]string{"PEXIA_SOCKET": sock}
	ok := func(args ...string) string {
		t.Helper()
		code, out, errs := runArgs(t, env, args...)
		if code != 0 {
			t.Fatalf("pexia %s: exit %d: %s", strings.Join(args, " "), code, errs)
		}
		return out
	}
	fails := func(want string, args ...string) {
		t.Helper()
		code, _, errs := runArgs(t, env, args...)
		if code != 1 || !strings.Contains(errs, want) {
			t.Fatalf("pexia %s: exit %d, %q; want 1 and %q", strings.Join(args, " "), code, errs, want)
		}
	}
	// contains checks out for each of wants, with runs of spaces (the
	// table's alignment) as one.
	squash := func(s string) string {
		for strings.Contains(s, "  ") {
			s = strings.ReplaceAll(s, "  ", " ")
		}
		return s
	}
	contains := func(out string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(squash(out), squash(w)) {
				t.Fatalf("output lacks %q:\n%s", w, out)
			}
		}
	}

	contains(ok("rules"), "no rules\n", "default: tunnel\n")
	contains(ok("profiles", "add", "far", "hops=3", "exit_countries=de", "price_cap_per_gb=0.05"), "far  3 hops  exit DE  cap 0.0500/GB")
	contains(ok("rules", "add", "-name", "bank", "direct", "domain=.bank.example"), "1        bank  direct  domain=.bank.example  (admin)")
	contains(ok("rules", "add", "-at", "1", "block", "port=6881-6889", "proto=udp"), "1        -     block   port=6881-6889 proto=udp")
	contains(ok("rules", "move", "2", "1"), "1        bank")
	contains(ok("rules", "add", "tunnel(far)", "desktop=org.mozilla.firefox"), "3        -     tunnel(far)  desktop=org.mozilla.firefox")

	contains(ok("rules", "test", "192.0.2.1:443", "domain=www.bank.example"),
		`YES rule 1 "bank" -> direct: every condition holds: domain .bank.example`, `decision: direct (rule 1 "bank")`)
	contains(ok("rules", "test", "tcp", "203.0.113.1:443", "cgroup=/user.slice/app-flatpak-org.mozilla.firefox-12.scope"),
		`no  rule 1 "bank" -> direct: no DNS answer seen for 203.0.113.1`,
		"no  rule 2 -> block: proto tcp is not udp",
		"YES rule 3 -> tunnel(far): every condition holds: desktop org.mozilla.firefox",
		"decision: tunnel(far) (rule 3)")
	contains(ok("rules", "test", "udp", "198.51.100.7:6881"), "decision: block (rule 2)")
	contains(ok("rules", "test", "udp", "198.51.100.7:53"), "no rule matched: the default, tunnel")

	fails(`rule 4: match.dst: "10.0.0.0/33" is not a prefix`, "rules", "add", "direct", "dst=10.0.0.0/33")
	fails(`rules add: action "tunel"`, "rules", "add", "tunel", "dst=10.0.0.0/8")
	fails("unknown condition \"dest\"", "rules", "add", "direct", "dest=10.0.0.0/8")
	fails("no rule 9 (there are 3)", "rules", "remove", "9")
	fails(`profile "far" is used by rule 3`, "profiles", "remove", "far")
	fails(`profile "near" does not exist`, "rules", "add", "tunnel(near)", "port=22")
	fails(`hops: 9, want 1 to 5`, "profiles", "add", "near", "hops=9")
	fails("want DST", "rules", "test")
	fails("rules: unknown subcommand \"frob\"", "rules", "frob")

	contains(ok("rules", "default", "block"), "default: block\n")
	contains(ok("rules", "remove", "3"), "default: block\n")
	ok("profiles", "remove", "far")
	var s rules.Set
	decode(t, ok("rules", "-json"), &s)
	if len(s.Rules) != 2 || s.Default.Action != rules.Block || len(s.Profiles) != 0 || s.Rules[0].Name != "bank" {
		t.Fatalf("rules -json = %+v", s)
	}
	contains(ok("profiles"), "no profiles")
	contains(ok("help", "rules"), "pexia rules test [tcp|udp|icmp] DST")
}
