package tun

import "net/netip"

// KillSwitch manages the firewall that keeps traffic from leaving outside the
// tunnel. It lives entirely in one nftables table, inet KillSwitchTable, with
// three base chains at filter priority whose policy is drop:
//
//	output:  accept oif lo, oif Iface, meta mark Mark;
//	         drop DNS (53/udp, 53/tcp, 853/tcp) to anywhere else;
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
	// AllowLAN lets traffic to and from local networks pass: the private
	// IPv4 ranges, link-local and multicast of both families and IPv6 unique
	// local addresses. DNS to the LAN stays blocked.
	AllowLAN bool
}

// LAN prefixes AllowLAN opens.
var (
	lan4 = []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("169.254.0.0/16"),
		netip.MustParsePrefix("224.0.0.0/4"),
		netip.MustParsePrefix("255.255.255.255/32"),
	}
	lan6 = []netip.Prefix{
		netip.MustParsePrefix("fe80::/10"),
		netip.MustParsePrefix("fc00::/7"),
		netip.MustParsePrefix("ff00::/8"),
	}
)

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
