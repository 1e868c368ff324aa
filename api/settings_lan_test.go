package api

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestSettingsLANCIDRs(t *testing.T) {
	var many []string
	for i := range MaxLANCIDRs + 1 {
		many = append(many, fmt.Sprintf("10.%d.0.0/16", i))
	}
	for _, tc := range []struct {
		cidrs []string
		want  string // substring of the error; empty: valid
	}{
		{[]string{"10.20.0.0/16", "fd12:3456::/48", "192.168.5.0/24"}, ""},
		{[]string{"10.0.0.0/8", "fd00::/16"}, ""},
		{[]string{"10.20.0.1"}, `lan_cidrs: "10.20.0.1" is not a CIDR prefix`},
		{[]string{"10.20.0.1/16"}, "did you mean 10.20.0.0/16?"},
		{[]string{"0.0.0.0/1"}, `"0.0.0.0/1" is too wide`},
		{[]string{"8.0.0.0/7"}, "too wide"},
		{[]string{"::/0"}, "too wide"},
		{[]string{"2000::/3"}, "too wide"},
		{many, fmt.Sprintf("%d prefixes, at most %d", MaxLANCIDRs+1, MaxLANCIDRs)},
	} {
		s := validSettings()
		s.AllowLAN, s.LANCIDRs = true, tc.cidrs
		err := s.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.cidrs, err)
		case tc.want != "" && (err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: Validate() = %v; want an error with %q", tc.cidrs, err, tc.want)
		}
	}
}
