package tun

import (
	"context"
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
)

// Recover undoes whatever a previous run left behind, typically after the
// daemon was killed: first what the journals in stateDir record, then any
// rule, route, TUN interface or nftables table (the exclusion's included)
// that carries this package's identifiers (protocol number, table,
// interface or table name) even without a journal entry. The network namespace for that sweep is the daemon's own
// or the one given with InNetNS; journal entries carry their own.
//
// The kill switch goes last, so nothing leaks while the rest is undone, and
// stays if KeepKillSwitch is given. Recover is idempotent and returns nil
// when there is nothing to undo. A journal entry is removed only once what
// it records is gone. Call it at start, before creating anything: it treats
// every TUN called DefaultName as a leftover.
func Recover(ctx context.Context, stateDir string, opts ...Option) error {
	o := collect(opts)
	var errs []error
	keep := func(err error) {
		if err != nil && !errors.Is(err, errNetNSGone) {
			errs = append(errs, err)
		}
	}
	// Namespaces to sweep, each with the tables and interface names that
	// are ours there.
	type target struct {
		tables  map[int]bool
		ifnames map[string]bool
	}
	targets := map[string]*target{}
	sweep := func(ns string) *target {
		if targets[ns] == nil {
			targets[ns] = &target{
				tables:  map[int]bool{DefaultTable: true},
				ifnames: map[string]bool{DefaultName: true},
			}
		}
		return targets[ns]
	}
	sweep(o.netNS)

	var rj routesJournal
	if ok, err := readJournal(stateDir, journalRoutes, &rj); err != nil {
		keep(err)
	} else if ok {
		if ourTable(rj.Table) {
			sweep(rj.NetNS).tables[rj.Table] = true
		}
		err := withHandle(rj.NetNS, func(h *netlink.Handle) error { return undoRoutes(h, rj) })
		if err == nil || errors.Is(err, errNetNSGone) {
			err = removeJournal(stateDir, journalRoutes)
		}
		keep(wrap("recover routes", err))
	}

	var dj dnsJournal
	if ok, err := readJournal(stateDir, journalDNS, &dj); err != nil {
		keep(err)
	} else if ok {
		err := undoDNS(ctx, dj, "resolvectl")
		if err == nil {
			err = removeJournal(stateDir, journalDNS)
		}
		keep(wrap("recover dns", err))
	}

	var vj deviceJournal
	if ok, err := readJournal(stateDir, journalDevice, &vj); err != nil {
		keep(err)
	} else if ok {
		sweep(vj.NetNS).ifnames[vj.Name] = true
	}

	for ns, tg := range targets {
		err := withHandle(ns, func(h *netlink.Handle) error {
			return errors.Join(sweepRules(h, tg.tables), sweepRoutes(h, tg.tables), sweepLinks(h, tg.ifnames))
		})
		keep(wrap("recover leftovers", err))
		// The exclusion's table: without it no program is routed around
		// the tunnel any more. Its cgroup stays, with whatever runs in it.
		keep(wrap("recover exclusion", removeExcludeTable(ns)))
	}
	if vj.Name != "" && len(errs) == 0 {
		keep(wrap("recover device", removeJournal(stateDir, journalDevice)))
	}

	var kj killSwitchJournal
	ksNS := map[string]bool{o.netNS: true}
	if ok, err := readJournal(stateDir, journalKillSwitch, &kj); err != nil {
		keep(err)
	} else if ok {
		ksNS[kj.NetNS] = true
	}
	if !o.keepKS {
		var kerr error
		for ns := range ksNS {
			if err := removeKillSwitch(ns); err != nil && !errors.Is(err, errNetNSGone) {
				kerr = errors.Join(kerr, err)
			}
		}
		if kerr == nil {
			kerr = removeJournal(stateDir, journalKillSwitch)
		}
		keep(wrap("recover kill switch", kerr))
	}
	return errors.Join(errs...)
}

// sweepRules deletes every rule that carries our protocol number or looks
// up one of our tables.
func sweepRules(h *netlink.Handle, tables map[int]bool) error {
	rules, err := h.RuleList(netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("list rules: %w", err)
	}
	var errs []error
	for _, r := range rules {
		if r.Protocol != routeProto && !tables[r.Table] {
			continue
		}
		if err := h.RuleDel(&r); err != nil && !isNotExist(err) {
			errs = append(errs, fmt.Errorf("delete rule %v: %w", r, err))
		}
	}
	return errors.Join(errs...)
}

// sweepRoutes deletes every route that carries our protocol number, in any
// table, and everything in our tables.
func sweepRoutes(h *netlink.Handle, tables map[int]bool) error {
	type filter struct {
		r    netlink.Route
		mask uint64
	}
	// Table 0 with RT_FILTER_TABLE means every table.
	filters := []filter{{netlink.Route{Protocol: routeProto}, netlink.RT_FILTER_TABLE | netlink.RT_FILTER_PROTOCOL}}
	for t := range tables {
		if ourTable(t) { // never 0 (every table) or the kernel's own
			filters = append(filters, filter{netlink.Route{Table: t}, netlink.RT_FILTER_TABLE})
		}
	}
	var errs []error
	for _, f := range filters {
		routes, err := h.RouteListFiltered(netlink.FAMILY_ALL, &f.r, f.mask)
		if err != nil {
			return fmt.Errorf("list routes: %w", err)
		}
		for _, rt := range routes {
			if err := h.RouteDel(&rt); err != nil && !isNotExist(err) {
				errs = append(errs, fmt.Errorf("delete route %v: %w", rt, err))
			}
		}
	}
	return errors.Join(errs...)
}

// sweepLinks deletes TUN interfaces with the given names. A TUN normally
// disappears with the process that opened it; one still present was made
// persistent or is held by a stray process.
func sweepLinks(h *netlink.Handle, names map[string]bool) error {
	var errs []error
	for name := range names {
		link, err := h.LinkByName(name)
		if err != nil {
			continue // not there
		}
		if link.Type() != "tuntap" {
			continue
		}
		if err := h.LinkDel(link); err != nil && !isNotExist(err) {
			errs = append(errs, fmt.Errorf("delete link %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// ourTable reports whether t can be a table of ours: not 0, which filters
// read as "every table", and not one of the kernel's own.
func ourTable(t int) bool { return t > 0 && (t < 253 || t > 255) }

func withHandle(netNS string, fn func(*netlink.Handle) error) error {
	h, err := netlinkHandle(netNS)
	if err != nil {
		return err
	}
	defer h.Close()
	return fn(h)
}

func wrap(op string, err error) error {
	if err == nil || errors.Is(err, errNetNSGone) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}
