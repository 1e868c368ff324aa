package api

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func validSettings() Settings {
	return Settings{Hops: 3, KillSwitch: true, DNSMode: DNSTunnel, ExcludedDNS: DNSTunnel}
}

func TestSettingsValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Settings)
		want   []string // substrings of the error; none: valid
	}{
		{"defaults", func(*Settings) {}, nil},
		{"all set", func(s *Settings) {
			s.Hops, s.ExitCountries, s.Lockdown, s.AllowLAN = 5, []string{"DE", "NL"}, true, true
			s.ExcludeCIDRs = []string{"192.168.0.0/16", "fd00::/8"}
			s.DNSMode, s.NetworkFile, s.RPCURL = DNSSystem, "/etc/pexia/network.json", "https://rpc.example.org/v1"
			s.PriceCapPerGB, s.MonthlyBudget = AmountOf(5), AmountOf(10)
		}, nil},
		{"hops 0", func(s *Settings) { s.Hops = 0 }, []string{"hops: 0 out of range 1-5"}},
		{"hops 6", func(s *Settings) { s.Hops = 6 }, []string{"hops: 6 out of range 1-5"}},
		{"lower-case country", func(s *Settings) { s.ExitCountries = []string{"de"} }, []string{`exit_countries: "de" is not a two-letter upper-case country code`}},
		{"long country", func(s *Settings) { s.ExitCountries = []string{"DEU"} }, []string{`"DEU" is not a two-letter`}},
		{"duplicate country", func(s *Settings) { s.ExitCountries = []string{"DE", "DE"} }, []string{"DE listed twice"}},
		{"lockdown without kill switch", func(s *Settings) { s.KillSwitch, s.Lockdown = false, true }, []string{"lockdown: needs kill_switch on"}},
		{"not a prefix", func(s *Settings) { s.ExcludeCIDRs = []string{"10.0.0.1"} }, []string{`"10.0.0.1" is not a CIDR prefix`}},
		{"host bits", func(s *Settings) { s.ExcludeCIDRs = []string{"10.1.2.3/8"} }, []string{"did you mean 10.0.0.0/8?"}},
		{"exclude everything", func(s *Settings) { s.ExcludeCIDRs = []string{"::/0"} }, []string{"would exclude all traffic"}},
		{"dns mode", func(s *Settings) { s.DNSMode = "plain" }, []string{`dns_mode: "plain" is not one of "tunnel", "system"`}},
		{"empty dns mode", func(s *Settings) { s.DNSMode = "" }, []string{`dns_mode: ""`}},
		{"excluded dns", func(s *Settings) { s.ExcludedDNS = "direct" }, []string{`excluded_dns: "direct" is not one of "tunnel", "system"`}},
		{"relative network file", func(s *Settings) { s.NetworkFile = "devnet/network.json" }, []string{"network_file: \"devnet/network.json\" is not an absolute path"}},
		{"rpc scheme", func(s *Settings) { s.RPCURL = "ftp://x" }, []string{"scheme must be http, https, ws or wss"}},
		{"rpc host", func(s *Settings) { s.RPCURL = "http://" }, []string{"has no host"}},
		{"several at once", func(s *Settings) { s.Hops, s.DNSMode = 9, "x" }, []string{"hops: 9", "; dns_mode:"}},
		{"stop at the limit", func(s *Settings) { s.AtLimit = LimitStop }, nil},
		{"throttle at the limit", func(s *Settings) { s.AtLimit, s.FloorKbps = LimitThrottle, 500 }, nil},
		{"throttle without a floor", func(s *Settings) { s.AtLimit = LimitThrottle }, []string{"at_limit: throttle needs floor_kbps"}},
		{"floor too high", func(s *Settings) { s.AtLimit, s.FloorKbps = LimitThrottle, MaxFloorKbps+1 }, []string{"floor_kbps: 100001 out of range 0-100000"}},
		{"negative floor", func(s *Settings) { s.FloorKbps = -1 }, []string{"floor_kbps: -1 out of range"}},
		{"unknown action", func(s *Settings) { s.AtLimit = "pause" }, []string{`at_limit: "pause" is not one of "stop", "throttle", "direct"`}},
		{"direct with the kill switch", func(s *Settings) { s.KillSwitch, s.AtLimit = true, LimitDirect }, []string{"at_limit: direct would send traffic outside the tunnel, which the kill switch forbids"}},
		{"direct without the kill switch", func(s *Settings) { s.KillSwitch, s.Lockdown, s.AtLimit = false, false, LimitDirect }, nil},
		{"direct with the admin's consent", func(s *Settings) { s.KillSwitch, s.AtLimit, s.AllowDirectAtLimit = true, LimitDirect, true }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := validSettings()
			tc.change(&s)
			err := s.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error with %q", tc.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Validate() = %v, does not wrap ErrInvalid", err)
			}
			if !strings.HasPrefix(err.Error(), "invalid settings: ") {
				t.Errorf("Validate() = %q, want the prefix %q", err, "invalid settings: ")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestConnectRequestValidate(t *testing.T) {
	for _, tc := range []struct {
		req  ConnectRequest
		want string
	}{
		{ConnectRequest{}, ""},
		{ConnectRequest{Hops: 1, Country: "SE"}, ""},
		{ConnectRequest{Hops: -1}, "hops: -1 out of range 1-5"},
		{ConnectRequest{Hops: 6}, "hops: 6 out of range 1-5"},
		{ConnectRequest{Country: "se"}, `country: "se" is not a two-letter`},
	} {
		err := tc.req.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid)) {
			t.Errorf("%+v.Validate() = %v, want %q", tc.req, err, tc.want)
		}
	}
}

// TestExcludeCoversFamily: a set of exclusions whose union is a whole
// address family sends nothing through the tunnel while the status says
// connected, however it is split.
func TestExcludeCoversFamily(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cidrs   []string
		covered string // "IPv4" or "IPv6" when refused
	}{
		{"two halves", []string{"0.0.0.0/1", "128.0.0.0/1"}, "IPv4"},
		{"halves in reverse", []string{"128.0.0.0/1", "0.0.0.0/1"}, "IPv4"},
		{"four quarters", []string{"192.0.0.0/2", "0.0.0.0/2", "128.0.0.0/2", "64.0.0.0/2"}, "IPv4"},
		{"overlapping", []string{"0.0.0.0/1", "0.0.0.0/2", "64.0.0.0/3", "100.0.0.0/8", "128.0.0.0/1"}, "IPv4"},
		{"half and its quarters", []string{"0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/1", "10.0.0.0/8"}, "IPv4"},
		{"ladder", []string{"0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3", "224.0.0.0/4", "240.0.0.0/5", "248.0.0.0/5"}, "IPv4"},
		{"v6 halves", []string{"::/1", "8000::/1"}, "IPv6"},
		{"v6 halves among v4", []string{"10.0.0.0/8", "8000::/1", "::/1"}, "IPv6"},
		{"v6 overlapping", []string{"::/1", "4000::/2", "8000::/2", "c000::/2", "fe80::/10"}, "IPv6"},
		{"v4 gap at the top", []string{"0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3", "224.0.0.0/4", "240.0.0.0/5", "248.0.0.0/6"}, ""},
		{"v4 gap at the bottom", []string{"1.0.0.0/8", "2.0.0.0/7", "4.0.0.0/6", "8.0.0.0/5", "16.0.0.0/4", "32.0.0.0/3", "64.0.0.0/2", "128.0.0.0/1"}, ""},
		{"v4 gap inside", []string{"0.0.0.0/2", "128.0.0.0/1"}, ""},
		{"halves of different families", []string{"0.0.0.0/1", "8000::/1"}, ""},
		{"v4-mapped v6 is not v4", []string{"::ffff:0.0.0.0/97", "::ffff:128.0.0.0/97"}, ""},
		{"v6 gap", []string{"::/1", "8000::/2", "c000::/3", "e000::/4"}, ""},
		{"single addresses", []string{"255.255.255.255/32", "0.0.0.0/32"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := validSettings()
			s.ExcludeCIDRs = tc.cidrs
			err := s.Validate()
			if tc.covered == "" {
				if err != nil {
					t.Fatalf("Validate(%v) = %v, want nil", tc.cidrs, err)
				}
				return
			}
			want := "exclude_cidrs: together they cover all of " + tc.covered
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
				t.Fatalf("Validate(%v) = %v, want an invalid error with %q", tc.cidrs, err, want)
			}
		})
	}
}

func TestCheckChange(t *testing.T) {
	admin, member := Caller{UID: 0, Access: AccessAdmin}, Caller{UID: 1000, Access: AccessMember}
	cur := validSettings()
	cur.Networks, cur.Network, cur.MonthlyBudget, cur.MaxMonthlyBudget = []string{"alt", "main"}, "main", AmountOf(5), AmountOf(20)
	for _, tc := range []struct {
		name   string
		caller Caller
		change func(*Settings)
		want   error // nil: allowed
	}{
		{"member: nothing", member, func(*Settings) {}, nil},
		{"member: hops and kill switch", member, func(s *Settings) { s.Hops, s.KillSwitch = 5, false }, nil},
		{"member: allowed network", member, func(s *Settings) { s.Network = "alt" }, nil},
		{"member: default network", member, func(s *Settings) { s.Network = "" }, nil},
		{"member: other network", member, func(s *Settings) { s.Network = "evil" }, ErrInvalid},
		{"admin: other network", admin, func(s *Settings) { s.Network = "evil" }, ErrInvalid},
		{"member: network file", member, func(s *Settings) { s.NetworkFile = "/home/m/net.json" }, ErrForbidden},
		{"member: rpc url", member, func(s *Settings) { s.RPCURL = "http://127.0.0.1:8545" }, ErrForbidden},
		{"admin: network file and rpc", admin, func(s *Settings) { s.NetworkFile, s.RPCURL = "/etc/pexia/x.json", "http://127.0.0.1:8545" }, nil},
		{"member: budget at the limit", member, func(s *Settings) { s.MonthlyBudget = AmountOf(20) }, nil},
		{"member: budget above the limit", member, func(s *Settings) { s.MonthlyBudget = AmountOf(21) }, ErrForbidden},
		{"admin: budget above the limit", admin, func(s *Settings) { s.MonthlyBudget = AmountOf(500) }, nil},
		{"caller unknown is a member", Caller{}, func(s *Settings) { s.RPCURL = "http://x" }, ErrForbidden},
		{"member: fiat rate", member, func(s *Settings) { s.FiatRate = "2500 USD" }, ErrForbidden},
		{"admin: fiat rate", admin, func(s *Settings) { s.FiatRate = "2500 USD" }, nil},
		{"member: excluded programs' dns", member, func(s *Settings) { s.ExcludedDNS = DNSSystem }, ErrForbidden},
		{"member: excluded dns empty is tunnel", member, func(s *Settings) { s.ExcludedDNS = "" }, nil},
		{"admin: excluded programs' dns", admin, func(s *Settings) { s.ExcludedDNS = DNSSystem }, nil},
		{"member: time zone", member, func(s *Settings) { s.TimeZone = "Europe/Berlin" }, nil},
		{"member: stop at the limit", member, func(s *Settings) { s.AtLimit = LimitStop }, nil},
		{"member: direct at the limit", member, func(s *Settings) { s.AtLimit = LimitDirect }, nil},
		{"member: throttle past an admin's limit", member, func(s *Settings) { s.AtLimit, s.FloorKbps = LimitThrottle, 500 }, ErrForbidden},
		{"admin: throttle", admin, func(s *Settings) { s.AtLimit, s.FloorKbps = LimitThrottle, 500 }, nil},
		{"member: direct with the kill switch on", member, func(s *Settings) { s.AllowDirectAtLimit = true }, ErrForbidden},
		{"admin: direct with the kill switch on", admin, func(s *Settings) { s.AllowDirectAtLimit = true }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := cur
			tc.change(&next)
			err := CheckChange(tc.caller, cur, next)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("CheckChange = %v, want %v", err, tc.want)
			}
		})
	}
	// An admin's network file stands: a member must send it back as is.
	cur.NetworkFile = "/etc/pexia/x.json"
	next := cur
	next.Hops = 2
	if err := CheckChange(member, cur, next); err != nil {
		t.Errorf("member keeping the admin's network_file: %v", err)
	}
	next.NetworkFile = ""
	if err := CheckChange(member, cur, next); !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "network_file: only an admin") {
		t.Errorf("member clearing the admin's network_file: %v", err)
	}
	if c := CallerFrom(context.Background()); c.Admin() {
		t.Error("a context without a caller is an admin's")
	}
	if c := CallerFrom(WithCaller(context.Background(), admin)); !c.Admin() {
		t.Error("WithCaller(admin) is not an admin")
	}
}
