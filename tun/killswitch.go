package tun

import "net/netip"

// KillSwitch manages the firewall that keeps traffic from leaving outside the
// tunnel. It lives entirely in one nftables table, inet KillSwitchTable, with
// three base chains at filter priority whose policy is drop:
//
//	output:  accept oif lo, oif Iface, meta mark Mark;
//	         drop DNS (53/udp, 53/tcp, 853/tcp, 853/udp) to anywhere else;
//	         accept DHCPv4, DHCPv6 and the NDP/MLD messages a host sends;
//	         accept destinations on the LAN if AllowLAN; count and drop.
//	input:   accept iif lo, iif Iface, ct state established,related,
//	         DHCP replies and NDP/MLD messages; sources on the LAN if
//	         AllowLAN; count and drop.
//	forward: accept oif Iface; drop DNS as in output (containers and VMs
//	         behind the host must not leak it either); accept ct state
//	         established,related, destinations on the LAN if AllowLAN;
//	         count and drop.
//
// Interfaces are matched by name, so the rules keep working when the TUN is
// recreated while the kill switch stays in place. The kernel holds all the
// state: a KillSwitch value carries only where to act, so a daemon that
// restarts can ask Installed and Remove a table a previous run installed.
// Lockdown (blocking while disconnected) is simply not calling Remove.
type KillSwitch struct {
	// NetNS is the path of the network namespace to act in; empty means the
	// daemon's own.
	NetNS string
	// StateDir, when set, is where Install journals the table, for Recover.
	StateDir string
}

// Policy is what the kill switch lets through besides loopback.
type Policy struct {
	// Iface is the TUN interface; everything through it passes. Empty while
	// no tunnel exists (lockdown while disconnected).
	Iface string
	// Mark is the firewall mark of the daemon's own sockets, which pass on
	// any interface. Zero lets no marked traffic through.
	Mark uint32
	// AllowLAN lets traffic to and from the local networks pass: the
	// networks the machine is on (the prefixes of the addresses of its
	// interfaces other than loopback and Iface, within the private and
	// link-local ranges: see LocalNetworks), the prefixes in LAN, and the
	// link-local multicast that discovery (mDNS, LLMNR) uses. DNS to the
	// LAN stays blocked. Install reads the interfaces' addresses, so a
	// caller installs again when they change (WatchLocalNetworks).
	AllowLAN bool
	// LAN lists further prefixes that count as local when AllowLAN is on,
	// e.g. a network behind a LAN router.
	LAN []netip.Prefix
}

// privateRanges bound what a network the machine is on may contribute to
// the LAN: an interface prefix counts only as far as it lies inside one of
// them, so a DHCP server handing out a huge netmask (0.0.0.0/1) cannot
// make half the internet "local".
var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("fc00::/7"),
}

// Link-local multicast and broadcast AllowLAN opens: it never crosses a
// router, and service discovery (mDNS, LLMNR, DHCP) lives there. Wider
// scopes (SSDP's 239.255.255.250, ff05::/16 and up) stay blocked.
var linkMulticast = []netip.Prefix{
	netip.MustParsePrefix("224.0.0.0/24"),
	netip.MustParsePrefix("255.255.255.255/32"),
	netip.MustParsePrefix("ff02::/16"),
}

// clampLocal returns the part of an interface prefix that may count as
// LAN: the prefix itself or the private range inside it, whichever is
// narrower, or false if they do not overlap.
func clampLocal(p netip.Prefix) (netip.Prefix, bool) {
	p = p.Masked()
	for _, r := range privateRanges {
		if !p.Overlaps(r) {
			continue
		}
		if p.Bits() >= r.Bits() {
			return p, true
		}
		return r, true
	}
	return netip.Prefix{}, false
}

// ICMPv6 types the host needs to keep its link (RFC 4861, RFC 3810).
const (
	icmp6MLDQuery      = 130
	icmp6RouterSolicit = 133
	icmp6RouterAdvert  = 134
	icmp6NeighSolicit  = 135
	icmp6NeighAdvert   = 136
	icmp6Redirect      = 137
	icmp6MLDv2Report   = 143
)
