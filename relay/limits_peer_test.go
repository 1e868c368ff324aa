package relay

import (
	"net"
	"net/netip"
	"testing"
)

// TestPeerKey: links are counted per IPv4 address and per IPv6 /64, and
// an IPv4-mapped address counts as the IPv4 address.
func TestPeerKey(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{net.UDPAddrFromAddrPort(netip.MustParseAddrPort("203.0.113.7:5000")), "203.0.113.7/32"},
		{net.UDPAddrFromAddrPort(netip.MustParseAddrPort("[::ffff:203.0.113.7]:5000")), "203.0.113.7/32"},
		{net.UDPAddrFromAddrPort(netip.MustParseAddrPort("[2001:db8:1:2:3:4:5:6]:5000")), "2001:db8:1:2::/64"},
		{net.UDPAddrFromAddrPort(netip.MustParseAddrPort("[2001:db8:1:2:ffff::1]:1")), "2001:db8:1:2::/64"},
		{net.UDPAddrFromAddrPort(netip.MustParseAddrPort("[fe80::1%eth0]:1")), "fe80::/64"},
		{nil, ""},
		{&net.TCPAddr{IP: net.ParseIP("203.0.113.7"), Port: 1}, ""},
	} {
		p, ok := peerKey(tc.addr)
		got := ""
		if ok {
			got = p.String()
		}
		if got != tc.want {
			t.Errorf("peerKey(%v) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}
