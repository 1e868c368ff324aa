package relay_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/pexia-network/pexia/relay"
)

func mustPolicy(t testing.TB, s string) *relay.ExitPolicy {
	t.Helper()
	p, err := relay.ParseExitPolicy(s)
	if err != nil {
		t.Fatalf("ParseExitPolicy(%q): %v", s, err)
	}
	return p
}

func TestExitPolicyMatch(t *testing.T) {
	const example = "reject 10.0.0.0/8:*, reject [fc00::]/7:*, accept *:80,443, accept *:1024-65535, reject *:*"
	type probe struct {
		network, dst string
		allow        bool
	}
	tests := []struct {
		policy string
		probes []probe
	}{
		{example, []probe{
			{"tcp", "93.184.216.34:80", true},
			{"tcp", "93.184.216.34:443", true},
			{"udp", "93.184.216.34:443", true},
			{"tcp", "93.184.216.34:22", false},
			{"tcp", "93.184.216.34:1023", false},
			{"tcp", "93.184.216.34:1024", true},
			{"tcp", "93.184.216.34:65535", true},
			{"tcp", "10.1.2.3:80", false},
			{"tcp", "[::ffff:10.1.2.3]:80", false}, // mapped is IPv4
			{"tcp", "[fd00::1]:443", false},
			{"tcp", "[2001:db8::1]:443", true},
		}},
		{"accept tcp *:53; reject *:*", []probe{
			{"tcp", "1.1.1.1:53", true},
			{"udp", "1.1.1.1:53", false},
			{"tcp4", "1.1.1.1:53", true},
		}},
		{"reject udp *:*; accept *:*", []probe{
			{"udp", "1.1.1.1:443", false},
			{"tcp", "1.1.1.1:443", true},
		}},
		{"accept *4:*; reject *:*", []probe{
			{"tcp", "1.1.1.1:1", true},
			{"tcp", "[2606:4700::1111]:1", false},
		}},
		{"reject *6:*; accept *:*", []probe{
			{"tcp", "1.1.1.1:1", true},
			{"tcp", "[2606:4700::1111]:1", false},
		}},
		// A mapped prefix in a rule covers the IPv4 addresses.
		{"reject [::ffff:127.0.0.0]/104:*; accept *:*", []probe{
			{"tcp", "127.0.0.1:80", false},
			{"tcp", "[::ffff:127.0.0.1]:80", false},
			{"tcp", "128.0.0.1:80", true},
		}},
		// Several targets in one rule, with a port list after a target.
		{"accept 192.0.2.1:80,443,[2001:db8::]/32:22,*:8080; reject *:*", []probe{
			{"tcp", "192.0.2.1:443", true},
			{"tcp", "192.0.2.2:443", false},
			{"tcp", "[2001:db8::7]:22", true},
			{"tcp", "8.8.8.8:8080", true},
			{"tcp", "8.8.8.8:80", false},
		}},
		// ICMP echo has no port: only targets with every port match it.
		{example, []probe{
			{"icmp", "93.184.216.34:0", false},
			{"icmp", "10.1.2.3:0", false},
		}},
		{"reject 10.0.0.0/8:*; reject *:25; accept *:*", []probe{
			{"icmp", "10.1.2.3:0", false},
			{"icmp", "93.184.216.34:0", true},
			{"icmp", "93.184.216.34:25", true}, // the port is ignored
			{"icmp", "[2001:db8::1]:0", true},
		}},
		{"reject icmp *:*; accept *:*", []probe{
			{"icmp", "1.1.1.1:0", false},
			{"tcp", "1.1.1.1:443", true},
			{"udp", "1.1.1.1:443", true},
		}},
		{"accept icmp *6:*; accept tcp *:*; reject *:*", []probe{
			{"icmp", "[2606:4700::1111]:0", true},
			{"icmp", "1.1.1.1:0", false},
			{"udp", "[2606:4700::1111]:53", false},
		}},
		{"accept udp *:*; reject *:*", []probe{{"icmp", "1.1.1.1:0", false}}},
		{"accept *:*", []probe{{"sctp", "1.1.1.1:80", false}}},
		// No rule matches: refused.
		{"accept *:80", []probe{{"tcp", "1.1.1.1:81", false}}},
		// Host bits are masked.
		{"reject 10.1.2.3/8:*; accept *:*", []probe{{"tcp", "10.200.0.1:1", false}}},
	}
	for _, tt := range tests {
		p := mustPolicy(t, tt.policy)
		for _, pr := range tt.probes {
			err := p.Allow(pr.network, netip.MustParseAddrPort(pr.dst))
			if (err == nil) != pr.allow {
				t.Errorf("%q: Allow(%s, %s) = %v, want allow=%v", tt.policy, pr.network, pr.dst, err, pr.allow)
			}
			if err != nil && !errors.Is(err, relay.ErrExitPolicy) {
				t.Errorf("error %v does not wrap ErrExitPolicy", err)
			}
		}
	}
}

func TestExitPolicyString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"reject 10.0.0.0/8:*, reject [fc00::]/7:*, accept *:80,443, accept *:1024-65535, reject *:*",
			"reject 10.0.0.0/8:*; reject [fc00::]/7:*; accept *:80,443; accept *:1024-65535; reject *:*"},
		{"accept *:80,*:443; reject *:25", "accept *:80,*:443; reject *:25"},
		{"  ACCEPT  UDP  *:443 ;reject *:*  ", "accept udp *:443; reject *:*"},
		{"Reject ICMP 10.0.0.0/8:* ; accept *:*", "reject icmp 10.0.0.0/8:*; accept *:*"},
		{"accept 10.1.2.3/8:*", "accept 10.0.0.0/8:*"},
		{"accept 10.1.2.3/32:*", "accept 10.1.2.3:*"},
		{"accept [::1]/128:1-1", "accept [::1]:1"},
		{"accept [::ffff:10.0.0.0]/104:*", "accept 10.0.0.0/8:*"},
		{"accept *:80 , 443", "accept *:80,443"},
		{"reject *:25\n\n  # comment\naccept *:* # the rest\n", "reject *:25; accept *:*"},
		{"reject *:25;\naccept *:*;", "reject *:25; accept *:*"},
	}
	for _, tt := range tests {
		got := mustPolicy(t, tt.in).String()
		if got != tt.want {
			t.Errorf("ParseExitPolicy(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
		if again := mustPolicy(t, got).String(); again != got {
			t.Errorf("canonical form %q reparses as %q", got, again)
		}
	}
}

func TestExitPolicyErrors(t *testing.T) {
	tests := []struct {
		in      string
		col     int
		line    int
		message string
	}{
		{"", 1, 1, "empty policy"},
		{"  # only a comment\n", 1, 1, "empty policy"},
		{"acept *:*", 1, 1, `expected accept or reject, found "acept"`},
		{"accept", 7, 1, "expected a space"},
		{"accept *", 9, 1, "expected ':' and ports"},
		{"accept *:", 10, 1, "expected a port"},
		{"accept *:0", 10, 1, "out of range"},
		{"accept *:65536", 10, 1, "out of range"},
		{"accept *:443-80", 14, 1, "backwards"},
		{"accept *:80x", 12, 1, `unexpected "x"`},
		{"accept *:*x", 11, 1, "after port *"},
		{"accept fc00::/7:*", 8, 1, "must be in brackets"},
		{"accept 2001:db8::1:80", 8, 1, "must be in brackets"},
		{"accept example.com:80", 8, 1, "host names are not allowed"},
		{"accept 1e100.net:80", 8, 1, "host names are not allowed"},
		{"accept 10.0.0.256:*", 8, 1, "bad IPv4 address"},
		{"accept 010.0.0.1:*", 8, 1, "bad IPv4 address"},
		{"accept 10.0.0.0/33:*", 17, 1, `bad prefix length "33"`},
		{"accept 10.0.0.0/:*", 17, 1, `bad prefix length ":*"`},
		{"accept [fc00::]/129:*", 17, 1, "bad prefix length"},
		{"accept [fc00::/7]:*", 9, 1, "bad IPv6 address"},
		{"accept [fc00::/7:*", 8, 1, "missing ']'"},
		{"accept [fc00::", 8, 1, "missing ']'"},
		{"accept [1.2.3.4]:*", 9, 1, "in brackets"},
		{"accept [fe80::1%eth0]:*", 9, 1, "bad IPv6 address"},
		{"accept *:80 reject *:*", 13, 1, "expected ',' or ';'"},
		{"accept *:80;; reject *:*", 13, 1, "empty rule"},
		{"accept *:80\nreject *:*\nallow *:*", 1, 3, "expected accept or reject"},
		{"accept *:80, foo", 14, 1, "expected a port"},
		{strings.Repeat("accept *:* ", 400), relay.MaxExitPolicyLen + 1, 1, "longer than"},
	}
	for _, tt := range tests {
		_, err := relay.ParseExitPolicy(tt.in)
		var pe *relay.ExitPolicyError
		if !errors.As(err, &pe) {
			t.Errorf("ParseExitPolicy(%q) = %v, want an *ExitPolicyError", tt.in, err)
			continue
		}
		if pe.Column != tt.col || pe.Line != tt.line || !strings.Contains(pe.Msg, tt.message) {
			t.Errorf("ParseExitPolicy(%q) = %v (line %d column %d), want line %d column %d and %q", tt.in, err, pe.Line, pe.Column, tt.line, tt.col, tt.message)
		}
	}
	// Single-line policies report a column, multi-line ones a line too.
	_, err := relay.ParseExitPolicy("accept *:x")
	if got := err.Error(); got != `exit policy: column 10: expected a port, a port range or *, found "x"` {
		t.Errorf("error text %q", got)
	}
	_, err = relay.ParseExitPolicy("reject *:25\naccept *:x")
	if !strings.HasPrefix(err.Error(), "exit policy: line 2, column 10: ") {
		t.Errorf("error text %q", err)
	}
}

func TestDefaultExitPolicy(t *testing.T) {
	p := relay.DefaultExitPolicy()
	if n := len(p.String()); n > 512 {
		t.Fatalf("default policy is %d bytes in canonical form; the registry holds 512", n)
	}
	refused := []string{
		"0.0.0.0:80", "10.0.0.1:80", "100.64.0.1:80", "127.0.0.1:80", "127.255.255.254:443",
		"169.254.169.254:80", "172.16.0.1:80", "172.31.255.255:80", "192.0.0.8:80", "192.168.1.1:80",
		"198.18.0.1:80", "224.0.0.251:5353", "239.255.255.250:1900", "255.255.255.255:80", "240.0.0.1:80",
		"[::]:80", "[::1]:80", "[::ffff:127.0.0.1]:80", "[::ffff:192.168.0.1]:80", "[fc00::1]:80",
		"[fd12:3456::1]:80", "[fe80::1]:80", "[ff02::1]:80", "[64:ff9b:1::a00:1]:80",
		"93.184.216.34:25", "[2606:2800:220:1::]:25",
	}
	for _, d := range refused {
		if err := p.Allow("tcp", netip.MustParseAddrPort(d)); err == nil {
			t.Errorf("default policy allows %s", d)
		}
	}
	allowed := []string{"93.184.216.34:80", "93.184.216.34:443", "1.1.1.1:53", "[2606:4700::1111]:443", "172.32.0.1:80", "100.128.0.1:80", "11.0.0.1:587"}
	for _, d := range allowed {
		for _, network := range []string{"tcp", "udp"} {
			if err := p.Allow(network, netip.MustParseAddrPort(d)); err != nil {
				t.Errorf("default policy refuses %s %s: %v", network, d, err)
			}
		}
	}
}

func FuzzParseExitPolicy(f *testing.F) {
	for _, s := range []string{
		relay.DefaultExitPolicyText,
		"reject 10.0.0.0/8:*, reject [fc00::]/7:*, accept *:80,443, accept *:1024-65535, reject *:*",
		"accept *:80,*:443; reject *:25",
		"accept udp [::ffff:1.2.3.4]/120:1-2,3 # c\nreject *6:*",
		"accept *:80 , 443,",
	} {
		f.Add(s)
	}
	dsts := []netip.AddrPort{
		netip.MustParseAddrPort("127.0.0.1:80"), netip.MustParseAddrPort("93.184.216.34:443"),
		netip.MustParseAddrPort("[::1]:25"), netip.MustParseAddrPort("[2001:db8::1]:65535"),
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := relay.ParseExitPolicy(s)
		if err != nil {
			var pe *relay.ExitPolicyError
			if !errors.As(err, &pe) || pe.Offset < 0 || pe.Offset > len(s) || pe.Line < 1 || pe.Column < 1 {
				t.Fatalf("bad error for %q: %#v", s, err)
			}
			return
		}
		// The canonical form parses to the same policy and decides alike.
		c := p.String()
		q, err := relay.ParseExitPolicy(c)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", c, s, err)
		}
		if q.String() != c {
			t.Fatalf("canonical form %q reparses as %q", c, q.String())
		}
		for _, d := range dsts {
			for _, network := range []string{"tcp", "udp"} {
				if (p.Allow(network, d) == nil) != (q.Allow(network, d) == nil) {
					t.Fatalf("%q and %q disagree on %s %s", s, c, network, d)
				}
			}
		}
	})
}

// TestExitPolicyNames: Names says whether the operator accepted an address
// by naming it (a prefix containing it) rather than by a wildcard; the
// first rule naming it decides.
func TestExitPolicyNames(t *testing.T) {
	for _, tc := range []struct {
		policy, network, dst string
		want                 bool
	}{
		{"accept *:*", "tcp", "203.0.113.7:22", false},
		{"accept *4:*", "tcp", "203.0.113.7:22", false},
		{"accept 203.0.113.0/24:*", "tcp", "203.0.113.7:22", true},
		{"accept 203.0.113.7:80", "tcp", "203.0.113.7:80", true},
		{"accept 203.0.113.7:80", "tcp", "203.0.113.7:22", false},
		{"accept udp 203.0.113.7:*", "tcp", "203.0.113.7:22", false},
		{"reject 203.0.113.7:*; accept 203.0.113.0/24:*", "tcp", "203.0.113.7:22", false},
		{"reject *:25; accept 203.0.113.7:*", "tcp", "203.0.113.7:22", true},
		{"accept [::ffff:127.0.0.1]:*", "tcp", "127.0.0.1:80", true},
		{relay.DefaultExitPolicyText, "tcp", "127.0.0.1:80", false},
		{"accept 127.0.0.0/8:*\n" + relay.DefaultExitPolicyText, "tcp", "127.0.0.1:80", true},
	} {
		p, err := relay.ParseExitPolicy(tc.policy)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Names(tc.network, netip.MustParseAddrPort(tc.dst)); got != tc.want {
			t.Errorf("%q names %s %s: got %v, want %v", tc.policy, tc.network, tc.dst, got, tc.want)
		}
	}
}
