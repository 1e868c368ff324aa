package daemon

import (
	"net/netip"
	"slices"
	"testing"
)

// The local network sees nothing unless the user asks: like Mullvad's
// "local network sharing", allow_lan is off by default.
func TestDefaultSettingsBlockLAN(t *testing.T) {
	set := defaultSettings()
	if set.AllowLAN {
		t.Error("default settings have allow_lan on; want off")
	}
	if err := set.Validate(); err != nil {
		t.Errorf("default settings: %v", err)
	}
	set.AllowLAN, set.LANCIDRs = true, []string{"10.20.0.0/16"}
	p := ksPolicy(set, "pexia0", 0x5078)
	if !p.AllowLAN || !slices.Equal(p.LAN, []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}) {
		t.Errorf("policy %+v does not carry lan_cidrs", p)
	}
}
