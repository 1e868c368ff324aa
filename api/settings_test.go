package api

import (
	"errors"
	"strings"
	"testing"
)

func validSettings() Settings {
	return Settings{Hops: 3, KillSwitch: true, DNSMode: DNSTunnel}
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
		{"relative network file", func(s *Settings) { s.NetworkFile = "devnet/network.json" }, []string{"network_file: \"devnet/network.json\" is not an absolute path"}},
		{"rpc scheme", func(s *Settings) { s.RPCURL = "ftp://x" }, []string{"scheme must be http, https, ws or wss"}},
		{"rpc host", func(s *Settings) { s.RPCURL = "http://" }, []string{"has no host"}},
		{"several at once", func(s *Settings) { s.Hops, s.DNSMode = 9, "x" }, []string{"hops: 9", "; dns_mode:"}},
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
