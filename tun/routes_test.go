package tun

import (
	"net/netip"
	"reflect"
	"testing"
)

func TestRoutePlan(t *testing.T) {
	cfg, err := RouteConfig{
		Iface:   "pexia0",
		Exclude: []netip.Prefix{netip.MustParsePrefix("198.51.100.9/24"), netip.MustParsePrefix("2001:db8::/32")},
	}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	got := routePlan(cfg, true)
	want := routesJournal{
		Table: DefaultTable,
		Routes: []routeSpec{
			{Family: 4, Table: DefaultTable, Iface: "pexia0"},
			{Family: 6, Table: DefaultTable, Iface: "pexia0", Unreachable: true}, // IPv6 off: no leak
		},
		Rules: []ruleSpec{
			{Family: 4, Priority: 5070, Table: 254, Dst: "198.51.100.0/24", SuppressPrefixlen: -1},
			{Family: 6, Priority: 5070, Table: 254, Dst: "2001:db8::/32", SuppressPrefixlen: -1},
			{Family: 4, Priority: 5080, Table: 254, SuppressPrefixlen: 0},
			{Family: 6, Priority: 5080, Table: 254, SuppressPrefixlen: 0},
			// The rules that switch traffic over come last.
			{Family: 4, Priority: 5090, Table: DefaultTable, Mark: DefaultMark, Invert: true, SuppressPrefixlen: -1},
			{Family: 6, Priority: 5090, Table: DefaultTable, Mark: DefaultMark, Invert: true, SuppressPrefixlen: -1},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plan:\n%+v\nwant:\n%+v", got, want)
	}

	// A kernel without IPv6 gets IPv4 only.
	for _, rs := range routePlan(cfg, false).Rules {
		if rs.Family != 4 {
			t.Errorf("IPv6 rule %+v planned on a kernel without IPv6", rs)
		}
	}
}

func TestRouteConfigDefaults(t *testing.T) {
	c, err := RouteConfig{Iface: "x", Mark: 7, Table: 100, Priority: 200}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	if c.Mark != 7 || c.Table != 100 || c.Priority != 200 {
		t.Errorf("explicit values replaced: %+v", c)
	}
	c, _ = RouteConfig{Iface: "x"}.normalize()
	if c.Mark != DefaultMark || c.Table != DefaultTable || c.Priority != DefaultPriority {
		t.Errorf("defaults not applied: %+v", c)
	}
}
