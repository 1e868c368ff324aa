package rules

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pexia-network/pexia/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

// names is a NameLookup over a map, counting its calls.
type names struct {
	m     map[netip.Addr][]string
	calls int
}

func (n *names) Lookup(a netip.Addr) []string { n.calls++; return n.m[a] }

func firefox() Owner {
	return Owner{PID: 4242, UID: 1000, HasUID: true, Exe: "/usr/lib/firefox/firefox", Name: "firefox",
		Cgroup: "/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-firefox-4242.scope", Desktop: "firefox"}
}

func flow(proto Proto, dst string, o Owner) *Flow {
	return &Flow{Proto: proto, Src: netip.MustParseAddrPort("10.88.0.1:40000"), Dst: netip.MustParseAddrPort(dst), Owner: o}
}

func testSet() Set {
	return Set{
		Version: Version,
		Default: Target{Action: Tunnel},
		Profiles: []Profile{
			{Name: "far", Hops: 3, ExitCountries: []string{"DE"}, PriceCapPerGB: "2000000000000000"},
			{Name: "near", Hops: 1},
		},
		Rules: []Rule{
			{Name: "torrent", Match: Match{Name: []string{"transmission-gtk"}}, Target: Target{Action: Block}},
			{Name: "bank", Match: Match{Domain: []string{".bank.example"}}, Target: Target{Action: Direct}},
			{Name: "lan", Match: Match{Dst: []string{"192.168.0.0/16", "fd00::/8"}}, Target: Target{Action: Direct}},
			{Name: "game", Match: Match{Proto: []string{"udp"}, Port: []string{"27000-27050"}}, Target: Target{Action: Direct}},
			{Name: "browser", Match: Match{Desktop: []string{"firefox"}}, Target: Target{Action: Tunnel, Profile: "far"}},
			{Name: "alice", Match: Match{UID: []uint32{1001}, Exe: []string{"/opt/*/bin/tool"}}, Target: Target{Action: Tunnel, Profile: "near"}},
			{Name: "work", Match: Match{Cgroup: []string{"/work.slice"}}, Target: Target{Action: Direct}},
		},
	}
}

func TestClassify(t *testing.T) {
	e, err := NewEngine(testSet())
	if err != nil {
		t.Fatal(err)
	}
	if !e.NeedsOwner() {
		t.Fatal("NeedsOwner false with application rules")
	}
	nl := &names{m: map[netip.Addr][]string{
		netip.MustParseAddr("192.0.2.10"): {"www.bank.example"},
		netip.MustParseAddr("192.0.2.11"): {"bank.example"},
		netip.MustParseAddr("192.0.2.12"): {"notbank.example"},
	}}
	tool := Owner{PID: 7, UID: 1001, HasUID: true, Exe: "/opt/acme/bin/tool", Name: "tool"}
	for _, c := range []struct {
		name string
		f    *Flow
		want string
	}{
		{"block by name (comm)", flow(TCP, "198.51.100.1:443", Owner{PID: 9, Name: "transmission-gtk", Exe: "/usr/bin/transmission-gtk"}), "block (rule 1 \"torrent\")"},
		{"block by exe base name", flow(UDP, "198.51.100.1:6881", Owner{PID: 9, Name: "transmission-g", Exe: "/usr/bin/transmission-gtk"}), "block (rule 1 \"torrent\")"},
		{"domain under suffix", flow(TCP, "192.0.2.10:443", firefox()), "direct (rule 2 \"bank\")"},
		{"domain equal to suffix", flow(TCP, "192.0.2.11:443", Owner{}), "direct (rule 2 \"bank\")"},
		{"domain not under suffix", flow(TCP, "192.0.2.12:443", firefox()), "tunnel(far) (rule 5 \"browser\")"},
		{"lan v4", flow(TCP, "192.168.1.5:22", Owner{}), "direct (rule 3 \"lan\")"},
		{"lan v6", flow(TCP, "[fd12::1]:22", Owner{}), "direct (rule 3 \"lan\")"},
		{"lan v4-mapped", flow(TCP, "[::ffff:192.168.1.5]:22", Owner{}), "direct (rule 3 \"lan\")"},
		{"game port range", flow(UDP, "203.0.113.5:27015", Owner{}), "direct (rule 4 \"game\")"},
		{"game port, wrong proto", flow(TCP, "203.0.113.5:27015", Owner{}), "tunnel (default)"},
		{"game range end", flow(UDP, "203.0.113.5:27051", Owner{}), "tunnel (default)"},
		{"desktop id", flow(TCP, "203.0.113.5:443", firefox()), "tunnel(far) (rule 5 \"browser\")"},
		{"uid and exe pattern", flow(TCP, "203.0.113.5:443", tool), "tunnel(near) (rule 6 \"alice\")"},
		{"exe pattern, other uid", flow(TCP, "203.0.113.5:443", Owner{PID: 7, UID: 1000, HasUID: true, Exe: "/opt/acme/bin/tool"}), "tunnel (default)"},
		{"cgroup child", flow(TCP, "203.0.113.5:443", Owner{PID: 8, Cgroup: "/work.slice/x.scope"}), "direct (rule 7 \"work\")"},
		{"cgroup itself", flow(TCP, "203.0.113.5:443", Owner{PID: 8, Cgroup: "/work.slice"}), "direct (rule 7 \"work\")"},
		{"cgroup sibling with the same prefix", flow(TCP, "203.0.113.5:443", Owner{PID: 8, Cgroup: "/work.slicer/x.scope"}), "tunnel (default)"},
		{"unknown owner falls through app rules", flow(TCP, "203.0.113.5:443", Owner{UID: 1001, HasUID: true}), "tunnel (default)"},
		{"icmp", flow(ICMP, "192.168.1.1:0", Owner{}), "direct (rule 3 \"lan\")"},
	} {
		if got := e.Classify(c.f, nl).String(); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
		// Explain decides the same.
		c.f.Names = nil
		if got := e.Explain(c.f, nl).Decision.String(); got != c.want {
			t.Errorf("%s: Explain %s, want %s", c.name, got, c.want)
		}
	}
}

// TestClassifyLooksUpNamesOnlyWhenNeeded: a flow decided before any domain
// rule costs no name lookup, and a flow opened by name uses that name.
func TestClassifyLooksUpNamesOnlyWhenNeeded(t *testing.T) {
	e, err := NewEngine(testSet())
	if err != nil {
		t.Fatal(err)
	}
	nl := &names{}
	e.Classify(flow(TCP, "1.1.1.1:443", Owner{PID: 9, Name: "transmission-gtk"}), nl)
	if nl.calls != 0 {
		t.Fatalf("%d lookups for a flow the first rule decided", nl.calls)
	}
	f := flow(TCP, "1.1.1.1:443", Owner{})
	f.Names = []string{"login.bank.example"}
	if d := e.Classify(f, nl); d.Rule != 2 || nl.calls != 0 {
		t.Fatalf("flow by name: %v after %d lookups, want rule 2 after none", d, nl.calls)
	}
	e.Classify(flow(TCP, "1.1.1.1:443", Owner{}), nl)
	if nl.calls != 1 {
		t.Fatalf("%d lookups, want 1", nl.calls)
	}
}

func TestExplain(t *testing.T) {
	e, err := NewEngine(testSet())
	if err != nil {
		t.Fatal(err)
	}
	f := flow(TCP, "203.0.113.5:443", firefox())
	x := e.Explain(f, &names{})
	got := x.String()
	for _, want := range []string{
		`no  rule 1 "torrent" -> block: name "firefox" (exe "/usr/lib/firefox/firefox") is not transmission-gtk`,
		`no  rule 2 "bank" -> direct: no DNS answer seen for 203.0.113.5, so it has no name`,
		`no  rule 3 "lan" -> direct: destination 203.0.113.5 is not in 192.168.0.0/16,fd00::/8`,
		`no  rule 4 "game" -> direct: proto tcp is not udp`,
		`YES rule 5 "browser" -> tunnel(far): every condition holds: desktop firefox`,
		`decision: tunnel(far) (rule 5 "browser")`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("explanation lacks %q:\n%s", want, got)
		}
	}
	if len(x.Steps) != 5 {
		t.Errorf("%d steps, want 5 (up to the deciding rule)", len(x.Steps))
	}
	x = e.Explain(flow(TCP, "203.0.113.5:443", Owner{UID: 1001, HasUID: true}), nil)
	got = x.String()
	for _, want := range []string{
		`exe: the owning process is unknown (unknown process of uid 1001)`,
		"no rule matched: the default, tunnel",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("explanation lacks %q:\n%s", want, got)
		}
	}
}

// TestValidateNamesRuleAndField: every mistake is refused with an error
// that names the rule (position and name) or profile, and the field.
func TestValidateNamesRuleAndField(t *testing.T) {
	for _, c := range []struct {
		change func(*Set)
		want   string
	}{
		{func(s *Set) { s.Rules[2].Match.Dst[0] = "192.168.0.0/33" }, `rule 3 ("lan"): match.dst: "192.168.0.0/33" is not a prefix`},
		{func(s *Set) { s.Rules[2].Match.Dst[0] = "192.168.1.0/16" }, `rule 3 ("lan"): match.dst: "192.168.1.0/16" has bits set past /16 (did you mean 192.168.0.0/16?)`},
		{func(s *Set) { s.Rules[3].Match.Port[0] = "27050-27000" }, `rule 4 ("game"): match.port: range "27050-27000" runs backwards`},
		{func(s *Set) { s.Rules[3].Match.Port[0] = "70000" }, `rule 4 ("game"): match.port: "70000" is not a port`},
		{func(s *Set) { s.Rules[3].Match.Proto[0] = "sctp" }, `rule 4 ("game"): match.proto: "sctp": want tcp, udp or icmp`},
		{func(s *Set) { s.Rules[3].Match.Proto = []string{"icmp"} }, `rule 4 ("game"): match.port: icmp flows have no port`},
		{func(s *Set) { s.Rules[1].Match.Domain[0] = "*.bank.example" }, `rule 2 ("bank"): match.domain: "*.bank.example": wildcards are not supported; ".bank.example" means`},
		{func(s *Set) { s.Rules[1].Match.Domain[0] = "bank..example" }, `rule 2 ("bank"): match.domain: "bank..example" is not a domain name`},
		{func(s *Set) { s.Rules[5].Match.Exe[0] = "tool" }, `rule 6 ("alice"): match.exe: "tool" is not an absolute path`},
		{func(s *Set) { s.Rules[5].Match.Exe[0] = "/opt/[/tool" }, `rule 6 ("alice"): match.exe: "/opt/[/tool": bad pattern`},
		{func(s *Set) { s.Rules[6].Match.Cgroup[0] = "work.slice" }, `rule 7 ("work"): match.cgroup: "work.slice": want a path from the cgroup root`},
		{func(s *Set) { s.Rules[4].Profile = "nowhere" }, `rule 5 ("browser"): profile "nowhere" does not exist (profiles: far, near)`},
		{func(s *Set) { s.Rules[4].Action = "tunel" }, `rule 5 ("browser"): action "tunel": want tunnel, tunnel(profile), direct or block`},
		{func(s *Set) { s.Rules[1].Profile = "far" }, `rule 2 ("bank"): profile "far": only a tunnel takes a profile`},
		{func(s *Set) { s.Rules[0].Match = Match{} }, `rule 1 ("torrent"): match: no condition`},
		{func(s *Set) { s.Rules[0].Name = ""; s.Rules[0].Match = Match{} }, `rule 1: match: no condition`},
		{func(s *Set) { s.Default = Target{Action: Tunnel, Profile: "gone"} }, `default: profile "gone" does not exist`},
		{func(s *Set) { s.Default = Target{} }, `default: action missing`},
		{func(s *Set) { s.Profiles[0].Hops = 6 }, `profile 1 ("far"): hops: 6, want 1 to 5`},
		{func(s *Set) { s.Profiles[0].ExitCountries[0] = "de" }, `profile 1 ("far"): exit_countries: "de" is not an ISO 3166-1 alpha-2 code`},
		{func(s *Set) { s.Profiles[0].PriceCapPerGB = "1.5" }, `profile 1 ("far"): price_cap_per_gb: "1.5" is not a whole number`},
		{func(s *Set) { s.Profiles[0].Nodes = []string{"0x1234"} }, `profile 1 ("far"): nodes: "0x1234" is not a node address`},
		{func(s *Set) { s.Profiles[0].Nodes = []string{"0x" + strings.Repeat("ab", 20)} }, `profile 1 ("far"): nodes: 1 listed, too few for a 3-hop circuit`},
		{func(s *Set) { s.Profiles[1].Name = "far" }, `profile 2 ("far"): name: a profile of that name exists already`},
		{func(s *Set) { s.Profiles[1].Name = "Near" }, `profile 2 ("Near"): name "Near": want lower-case letters`},
		{func(s *Set) { s.Version = 2 }, `version 2: written by a newer pexiad (this one reads up to 1)`},
	} {
		s := testSet().Clone()
		c.change(&s)
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
	s := testSet()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	var re *RuleError
	s.Rules[2].Match.Dst[0] = "nope"
	if err := s.Validate(); !errors.As(err, &re) || re.Index != 3 || re.Name != "lan" {
		t.Fatalf("error %v is not a RuleError for rule 3", err)
	}
}

func TestParseTarget(t *testing.T) {
	for in, want := range map[string]Target{
		"tunnel":      {Action: Tunnel},
		"tunnel(far)": {Action: Tunnel, Profile: "far"},
		"direct":      {Action: Direct},
		" block ":     {Action: Block},
	} {
		got, err := ParseTarget(in)
		if err != nil || got != want {
			t.Errorf("ParseTarget(%q) = %v, %v; want %v", in, got, err, want)
		}
		if err == nil && strings.TrimSpace(in) != got.String() {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), strings.TrimSpace(in))
		}
	}
	for _, in := range []string{"", "tunnel(far", "tunnel(Far)", "drop", "direct(far)"} {
		if _, err := ParseTarget(in); err == nil {
			t.Errorf("ParseTarget(%q) accepted", in)
		}
	}
}

func TestDesktopID(t *testing.T) {
	for in, want := range map[string]string{
		"/user.slice/user-1000.slice/user@1000.service/app.slice/app-firefox-1234.scope":                      "firefox",
		"/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-org.gnome.Terminal-5678.scope":     "org.gnome.Terminal",
		"/user.slice/user-1000.slice/user@1000.service/app.slice/app-flatpak-org.mozilla.firefox-91.scope":    "org.mozilla.firefox",
		"/user.slice/user-1000.slice/user@1000.service/app.slice/app-org.kde.konsole@a1b2c3.service":          "org.kde.konsole",
		"/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-google\\x2dchrome-99.scope":        "google-chrome",
		"/user.slice/user-1000.slice/user@1000.service/app.slice/app-google-chrome-99.scope":                  "google-chrome",
		"/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-org.gnome.Terminal-5678.scope/tab": "org.gnome.Terminal",
		"/user.slice/user-1000.slice/user@1000.service/gnome-launched-firefox.desktop-4321.scope":             "firefox",
		"/user.slice/user-1000.slice/user@1000.service/app.slice/snap.firefox.firefox-0b3f.scope":             "firefox_firefox",
		"/user.slice/user-1000.slice/session-2.scope":                                                         "",
		"/system.slice/sshd.service": "",
		"/":                          "",
		"":                           "",
		"/app-.scope":                "",
	} {
		if got := DesktopID(in); got != want {
			t.Errorf("DesktopID(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestStoreKeepsOldOnBadChange: a change that does not validate, or a
// file that cannot be written, changes neither the file nor the rules in
// use; a good change is on disk and in use for the next flow.
func TestStoreKeepsOldOnBadChange(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.json")
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("Open wrote a file: %v", err)
	}
	f := flow(TCP, "192.168.1.5:22", Owner{})
	if d := st.Engine().Classify(f, nil); d.String() != "tunnel (default)" {
		t.Fatalf("no file: %v", d)
	}
	if _, err := st.Update(func(s *Set) error { *s = testSet(); return nil }); err != nil {
		t.Fatal(err)
	}
	if d := st.Engine().Classify(f, nil); d.Rule != 3 {
		t.Fatalf("after the change the next flow got %v, want rule 3", d)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	_, err = st.Update(func(s *Set) error { s.Rules[2].Match.Dst = []string{"192.168.0.0/99"}; return nil })
	if err == nil || !strings.Contains(err.Error(), `rule 3 ("lan"): match.dst`) {
		t.Fatalf("bad change: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != string(good) {
		t.Fatal("a refused change altered the file")
	}
	if d := st.Engine().Classify(f, nil); d.Rule != 3 {
		t.Fatalf("a refused change altered the rules in use: %v", d)
	}
	if _, err := st.Update(func(*Set) error { return errors.New("no such rule") }); err == nil || err.Error() != "no such rule" {
		t.Fatalf("change's error: %v", err)
	}

	// A write that fails (the directory is gone) leaves the rules in use.
	st2, err := Open(filepath.Join(dir, "missing", "rules.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st2.Update(func(s *Set) error { *s = testSet(); return nil }); err == nil {
		t.Fatal("a write into a missing directory succeeded")
	}
	if d := st2.Engine().Classify(f, nil); d.Rule != 0 {
		t.Fatalf("an unsaved change is in use: %v", d)
	}

	// The file reads back to the same set; no temporary file is left.
	st3, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := st3.Engine().Classify(f, nil); d.Rule != 3 {
		t.Fatalf("reopened: %v", d)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("%d entries in the directory, want only rules.json", len(ents))
	}
}

// TestOpenRefusesTypos: a hand-edited file with a typo is refused with
// the line or the rule and field, and left as it is.
func TestOpenRefusesTypos(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ body, want string }{
		{`{"version":1,"default":{"action":"tunnel"},"rules":[{"match":{"dts":["10.0.0.0/8"]},"action":"direct"}]}`, `unknown field "dts"`},
		{"{\"version\":1,\n\"default\":{\"action\":\"tunnel\"},\n\"rules\":[{\"match\":{\"uid\":[\"x\"]},\"action\":\"direct\"}]}", "line 3:"},
		{`{"version":1,"default":{"action":"tunnel"},"rules":[{"name":"x","match":{"dst":["10.0.0.0/88"]},"action":"direct"}]}`, `rule 1 ("x"): match.dst`},
		{`{"version":3,"default":{"action":"tunnel"}}`, "written by a newer pexiad"},
		{`{"version":1,"default":{"action":"tunnel"}} {}`, "unexpected data after the JSON object"},
		{`{"version":1,"default":{"action":"tunnel"}`, "unexpected EOF"},
	} {
		path := filepath.Join(dir, "rules.json")
		if err := os.WriteFile(path, []byte(c.body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Open(path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: got %v, want the path and %q", c.body, err, c.want)
		}
		if b, _ := os.ReadFile(path); string(b) != c.body {
			t.Errorf("%s: the file was changed", c.body)
		}
	}
}

// TestEngineConcurrentChange: flows classified while the set changes see
// the old set or the new one, never a mix (run with -race).
func TestEngineConcurrentChange(t *testing.T) {
	st, err := Open(filepath.Join(t.TempDir(), "rules.json"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 50 {
			st.Update(func(s *Set) error {
				a := Direct
				if i%2 == 0 {
					a = Block
				}
				s.Rules = []Rule{{Match: Match{Dst: []string{"10.0.0.0/8"}}, Target: Target{Action: a}},
					{Match: Match{Port: []string{"22"}}, Target: Target{Action: a}}}
				return nil
			})
		}
	}()
	for {
		select {
		case <-done:
			return
		default:
		}
		a := st.Engine().Classify(flow(TCP, "10.0.0.1:22", Owner{}), nil)
		b := st.Engine().Set()
		if a.Rule != 0 && a.Rule != 1 || len(b.Rules) != 0 && len(b.Rules) != 2 {
			t.Fatalf("decision %v, %d rules", a, len(b.Rules))
		}
	}
}

func BenchmarkClassify(b *testing.B) {
	s := testSet()
	// Many rules before the one that decides, as a long list would have.
	for i := range 100 {
		s.Rules = append([]Rule{{Match: Match{Exe: []string{"/usr/bin/app" + string(rune('a'+i%26))}, Dst: []string{"10.0.0.0/8"}},
			Target: Target{Action: Direct}}}, s.Rules...)
	}
	e, err := NewEngine(s)
	if err != nil {
		b.Fatal(err)
	}
	nl := &names{m: map[netip.Addr][]string{}}
	f := flow(TCP, "203.0.113.5:443", firefox())
	b.ReportAllocs()
	for b.Loop() {
		f.Names = nil
		if d := e.Classify(f, nl); d.Rule != 105 {
			b.Fatalf("decision %v", d)
		}
	}
}
