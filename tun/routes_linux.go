package tun

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Up installs the rules and routes for cfg. If anything fails, whatever was
// already added is removed again before Up returns the error.
func (r *Routes) Up(cfg RouteConfig) error {
	cfg, err := cfg.normalize()
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.plan != nil {
		return fmt.Errorf("routes: already up on %s", r.cfg.Iface)
	}
	h, err := netlinkHandle(cfg.NetNS)
	if err != nil {
		return fmt.Errorf("routes: %w", err)
	}
	defer h.Close()
	link, err := h.LinkByName(cfg.Iface)
	if err != nil {
		return fmt.Errorf("routes: interface %s: %w", cfg.Iface, err)
	}
	plan := routePlan(cfg, kernelHasIPv6())
	if err := writeJournal(cfg.StateDir, journalRoutes, plan); err != nil {
		return fmt.Errorf("routes: %w", err)
	}

	var added routesJournal // what to roll back on failure
	fail := func(err error) error {
		if uerr := undoRoutes(h, added); uerr != nil {
			return errors.Join(err, fmt.Errorf("routes: roll back: %w", uerr))
		}
		if jerr := removeJournal(cfg.StateDir, journalRoutes); jerr != nil {
			return errors.Join(err, jerr)
		}
		return err
	}
	for _, rs := range plan.Routes {
		if err := h.RouteAdd(rs.route(link.Attrs().Index)); err != nil {
			if rs.Family == 6 && errors.Is(err, unix.EACCES) {
				err = fmt.Errorf("%w (IPv6 is disabled on %s; set IPv6 false)", err, cfg.Iface)
			}
			return fail(fmt.Errorf("routes: add %s: %w", rs, err))
		}
		added.Routes = append(added.Routes, rs)
	}
	for _, rs := range plan.Rules {
		if err := h.RuleAdd(rs.rule()); err != nil {
			return fail(fmt.Errorf("routes: add rule %s: %w", rs, err))
		}
		added.Rules = append(added.Rules, rs)
	}
	r.cfg, r.plan = cfg, &plan
	return nil
}

// Down removes exactly the rules and routes Up added, leaving everything
// else, and clears the journal. Routes that vanished with the interface are
// not an error. Down on Routes that are not up does nothing.
func (r *Routes) Down() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.plan == nil {
		return nil
	}
	h, err := netlinkHandle(r.cfg.NetNS)
	if err != nil {
		return fmt.Errorf("routes: %w", err)
	}
	defer h.Close()
	if err := undoRoutes(h, *r.plan); err != nil {
		return fmt.Errorf("routes: %w", err)
	}
	if err := removeJournal(r.cfg.StateDir, journalRoutes); err != nil {
		return fmt.Errorf("routes: %w", err)
	}
	r.plan = nil
	return nil
}

// undoRoutes deletes the rules of j in reverse order (so traffic stops
// entering the tunnel table first), then its routes. Entries already gone
// are skipped.
func undoRoutes(h *netlink.Handle, j routesJournal) error {
	var errs []error
	for _, rs := range slices.Backward(j.Rules) {
		if err := h.RuleDel(rs.rule()); err != nil && !isNotExist(err) {
			errs = append(errs, fmt.Errorf("delete rule %s: %w", rs, err))
		}
	}
	for _, rs := range slices.Backward(j.Routes) {
		if err := deleteTableRoute(h, rs); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// deleteTableRoute removes the default route rs describes, matching it by
// table, family, type and our protocol number rather than by interface index,
// so it also works after the interface was recreated.
func deleteTableRoute(h *netlink.Handle, rs routeSpec) error {
	filter := &netlink.Route{Table: rs.Table, Protocol: routeProto}
	routes, err := h.RouteListFiltered(rs.family(), filter, netlink.RT_FILTER_TABLE|netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		return fmt.Errorf("list table %d: %w", rs.Table, err)
	}
	for _, rt := range routes {
		if !isDefaultRoute(rt) {
			continue
		}
		if (rt.Type == unix.RTN_UNREACHABLE) != rs.Unreachable {
			continue
		}
		if err := h.RouteDel(&rt); err != nil && !isNotExist(err) {
			return fmt.Errorf("delete %s: %w", rs, err)
		}
	}
	return nil
}

func isDefaultRoute(rt netlink.Route) bool {
	if rt.Dst == nil {
		return true
	}
	ones, _ := rt.Dst.Mask.Size()
	return ones == 0
}

func (rs ruleSpec) rule() *netlink.Rule {
	r := netlink.NewRule()
	r.Family = familyConst(rs.Family)
	r.Priority = rs.Priority
	r.Table = rs.Table
	r.Protocol = routeProto
	r.Invert = rs.Invert
	r.SuppressPrefixlen = rs.SuppressPrefixlen
	if rs.Mark != 0 {
		r.Mark = rs.Mark
		mask := uint32(0xffffffff)
		r.Mask = &mask
	}
	if rs.Dst != "" {
		if p, err := netip.ParsePrefix(rs.Dst); err == nil {
			r.Dst = prefixToIPNet(p)
		}
	}
	return r
}

func (rs ruleSpec) String() string {
	s := fmt.Sprintf("v%d prio %d", rs.Family, rs.Priority)
	if rs.Invert {
		s += " not"
	}
	if rs.Mark != 0 {
		s += fmt.Sprintf(" fwmark %#x", rs.Mark)
	}
	if rs.Dst != "" {
		s += " to " + rs.Dst
	}
	s += fmt.Sprintf(" lookup %d", rs.Table)
	if rs.SuppressPrefixlen >= 0 {
		s += fmt.Sprintf(" suppress_prefixlength %d", rs.SuppressPrefixlen)
	}
	return s
}

func (rs routeSpec) route(ifindex int) *netlink.Route {
	rt := &netlink.Route{
		Family:   familyConst(rs.Family),
		Dst:      defaultDst(rs.Family),
		Table:    rs.Table,
		Protocol: routeProto,
	}
	switch {
	case rs.Unreachable:
		rt.Type = unix.RTN_UNREACHABLE
	case rs.Family == 4:
		rt.LinkIndex = ifindex
		rt.Scope = netlink.SCOPE_LINK
	default:
		rt.LinkIndex = ifindex
	}
	return rt
}

func (rs routeSpec) String() string {
	if rs.Unreachable {
		return fmt.Sprintf("v%d unreachable default table %d", rs.Family, rs.Table)
	}
	return fmt.Sprintf("v%d default dev %s table %d", rs.Family, rs.Iface, rs.Table)
}

func (rs routeSpec) family() int { return familyConst(rs.Family) }

func familyConst(f int) int {
	if f == 6 {
		return netlink.FAMILY_V6
	}
	return netlink.FAMILY_V4
}

func defaultDst(f int) *net.IPNet {
	if f == 6 {
		return &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
	}
	return &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}
}

// kernelHasIPv6 reports whether the kernel was built with IPv6.
func kernelHasIPv6() bool {
	_, err := os.Stat("/proc/sys/net/ipv6")
	return err == nil
}

func isNotExist(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH)
}
