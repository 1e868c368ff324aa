package tun

import (
	"fmt"
	"net/netip"
	"sync"
)

// RouteConfig says how Routes.Up steers the machine's traffic into the TUN.
// Zero numeric fields take the package defaults.
type RouteConfig struct {
	// Iface is the TUN interface the default routes point at. Required.
	Iface string
	// Mark is the firewall mark of the daemon's own sockets; marked packets
	// skip the tunnel table and use the main table (DefaultMark if zero).
	Mark uint32
	// Table is the routing table for the default routes (DefaultTable if
	// zero). It must not be one of the kernel's own tables 253 to 255.
	Table int
	// Priority is the base rule priority (DefaultPriority if zero); rules are
	// installed at Priority, Priority+10 and Priority+20.
	Priority int
	// Exclude lists destinations that bypass the tunnel and follow the main
	// table, like the daemon's marked traffic.
	Exclude []netip.Prefix
	// IPv6 routes IPv6 into the TUN as well. When false, IPv6 destinations
	// outside the main table's specific routes (the LAN) become unreachable
	// rather than leaking around the tunnel. On a kernel without IPv6 only
	// IPv4 rules are installed.
	IPv6 bool
	// NetNS is the path of the network namespace to act in; empty means the
	// daemon's own.
	NetNS string
	// StateDir, when set, is where Up journals what it adds, for Recover.
	StateDir string
}

// Routes installs and removes the policy routing that sends every packet
// without the daemon's mark into the TUN. It follows wg-quick, per family:
//
//	Priority     to PREFIX lookup main             (each Exclude prefix)
//	Priority+10  from all lookup main suppress_prefixlength 0
//	Priority+20  not fwmark Mark lookup Table
//	table Table: default dev Iface
//
// The suppress rule lets every specific route of the main table (the LAN,
// the TUN's own prefix, other VPNs' subnets) apply while ignoring its default
// route; the mark rule then sends everything unmarked to the tunnel table.
// Marked packets fall through to the main table and its default route, so
// the tunnel never carries itself. Routes are added before rules, and the
// mark rules, which switch traffic over, last; Down removes in the reverse
// order.
//
// The zero value is ready to use. A Routes is safe for concurrent use.
type Routes struct {
	mu   sync.Mutex
	cfg  RouteConfig    // guarded by mu
	plan *routesJournal // guarded by mu; nil while down
}

// ruleSpec describes one policy rule in a form that survives a journal.
type ruleSpec struct {
	Family   int    `json:"family"` // 4 or 6
	Priority int    `json:"priority"`
	Table    int    `json:"table"`
	Dst      string `json:"dst,omitempty"`
	Mark     uint32 `json:"mark,omitempty"`
	Invert   bool   `json:"invert,omitempty"`
	// SuppressPrefixlen is -1 when the rule has none.
	SuppressPrefixlen int `json:"suppress_prefixlen"`
}

// routeSpec describes one route in the tunnel table.
type routeSpec struct {
	Family      int    `json:"family"`
	Table       int    `json:"table"`
	Iface       string `json:"iface,omitempty"`
	Unreachable bool   `json:"unreachable,omitempty"`
}

const (
	mainTable = 254
	// lowest priority the kernel's own main rule uses
	mainRulePriority = 32766
)

// normalize fills defaults and rejects configurations that cannot work.
func (c RouteConfig) normalize() (RouteConfig, error) {
	if c.Iface == "" {
		return c, fmt.Errorf("routes: no interface")
	}
	if c.Mark == 0 {
		c.Mark = DefaultMark
	}
	if c.Table == 0 {
		c.Table = DefaultTable
	}
	if c.Priority == 0 {
		c.Priority = DefaultPriority
	}
	if c.Table < 0 || (c.Table >= 253 && c.Table <= 255) {
		return c, fmt.Errorf("routes: table %d is reserved or invalid", c.Table)
	}
	if c.Priority < 1 || c.Priority+20 >= mainRulePriority {
		return c, fmt.Errorf("routes: priority %d outside 1..%d", c.Priority, mainRulePriority-21)
	}
	ex := make([]netip.Prefix, 0, len(c.Exclude))
	for _, p := range c.Exclude {
		if !p.IsValid() {
			return c, fmt.Errorf("routes: invalid exclude prefix %v", p)
		}
		ex = append(ex, p.Masked())
	}
	c.Exclude = ex
	return c, nil
}

// routePlan lists, in the order they are to be added, the routes and rules
// for c. v6 says whether the kernel has IPv6 at all.
func routePlan(c RouteConfig, v6 bool) routesJournal {
	fams := []int{4}
	if v6 {
		fams = append(fams, 6)
	}
	j := routesJournal{NetNS: c.NetNS, Table: c.Table}
	for _, f := range fams {
		j.Routes = append(j.Routes, routeSpec{
			Family:      f,
			Table:       c.Table,
			Iface:       c.Iface,
			Unreachable: f == 6 && !c.IPv6,
		})
	}
	for _, f := range fams {
		for _, p := range c.Exclude {
			if (f == 4) != p.Addr().Is4() {
				continue
			}
			j.Rules = append(j.Rules, ruleSpec{Family: f, Priority: c.Priority, Table: mainTable,
				Dst: p.String(), SuppressPrefixlen: -1})
		}
	}
	for _, f := range fams {
		j.Rules = append(j.Rules, ruleSpec{Family: f, Priority: c.Priority + 10, Table: mainTable,
			SuppressPrefixlen: 0})
	}
	for _, f := range fams {
		j.Rules = append(j.Rules, ruleSpec{Family: f, Priority: c.Priority + 20, Table: c.Table,
			Mark: c.Mark, Invert: true, SuppressPrefixlen: -1})
	}
	return j
}
