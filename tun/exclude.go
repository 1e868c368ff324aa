package tun

import "net/netip"

// ExcludeTable is the nftables table (family inet) that marks the packets
// of excluded programs. It is apart from KillSwitchTable so that the
// exclusion holds whether the kill switch is on or off.
const ExcludeTable = "pexia_exclude"

// DefaultExcludeCgroup is the cgroup, relative to the root of the cgroup v2
// hierarchy, that holds excluded programs.
const DefaultExcludeCgroup = "pexia-exclude"

// Exclusion routes the programs in one cgroup v2 around the tunnel, in the
// kernel: an nftables chain of type route at the output hook (priority
// mangle, so before the kill switch's filter chains) sets Mark on every
// packet whose socket belongs to the cgroup or one below it (`socket
// cgroupv2 level N`). The mark is the one the daemon's own sockets carry,
// so the policy rules (Routes) send those packets to the main table and the
// kill switch lets them through; the route chain makes the kernel look the
// route up again after the mark changed. Replies come back on the physical
// interface and pass the kill switch as established flows.
//
// What an excluded program sends to the in-tunnel resolver (DNS4, DNS6)
// still enters the TUN, since that address lies inside the TUN's own prefix
// in the main table: by default excluded programs resolve names through the
// tunnel, as everything else does. With SystemDNS set, a fourth chain
// (nat, output) sends their queries to port 53 of DNS4 or DNS6 to the
// system resolver of the same address family instead, around the TUN like
// the rest of their traffic.
//
// The kernel keeps the state: the cgroup and the table. The rule finds the
// cgroup by its inode number, so Add installs the table again when the
// directory was made anew; Recover removes the table a crashed daemon left.
type Exclusion struct {
	// Cgroup is the cgroup's path relative to the root of the cgroup v2
	// hierarchy (DefaultExcludeCgroup if empty).
	Cgroup string
	// Mark is the bypass mark (DefaultMark if zero).
	Mark uint32
	// NetNS is the path of the network namespace whose table to act on;
	// empty means the daemon's own. Cgroups are not per namespace.
	NetNS string
	// SystemDNS are the system's resolvers (at most one per address
	// family is used) that excluded programs' DNS queries to the
	// in-tunnel resolver go to instead; empty keeps them in the tunnel.
	SystemDNS []netip.Addr
}

func (e Exclusion) normalize() Exclusion {
	if e.Cgroup == "" {
		e.Cgroup = DefaultExcludeCgroup
	}
	if e.Mark == 0 {
		e.Mark = DefaultMark
	}
	return e
}
