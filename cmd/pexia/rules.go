package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/rules"
)

func init() {
	commandHelp["rules"] = "Split-tunnel rules decide each new flow: the first rule that matches wins,\n" +
		"a flow no rule matches gets the default.\n\n" +
		"  pexia rules [list]\n" +
		"  pexia rules add [-at N] [-name LABEL] ACTION CONDITION...\n" +
		"  pexia rules remove N\n" +
		"  pexia rules move N TO\n" +
		"  pexia rules default ACTION\n" +
		"  pexia rules test [tcp|udp|icmp] DST [CONDITION...]\n\n" +
		"ACTION is tunnel, tunnel(PROFILE), direct or block. A CONDITION is KEY=VALUE,\n" +
		"values separated by commas (any one may hold; every key must hold):\n" +
		"  exe=/usr/bin/firefox      executable path, or a pattern such as /opt/*/bin/app\n" +
		"  name=firefox              process name (comm) or the executable's base name\n" +
		"  desktop=org.mozilla.firefox  desktop-entry id of the app\n" +
		"  cgroup=/user.slice/user-1000.slice  a cgroup v2 path and everything under it\n" +
		"  uid=1000                  user owning the socket\n" +
		"  domain=.bank.example      a name; with a leading dot, the name and all under it\n" +
		"  dst=10.0.0.0/8            destination address or prefix\n" +
		"  port=443,6881-6889        destination port or range\n" +
		"  proto=tcp,udp             tcp, udp or icmp\n\n" +
		"For test, DST is address:port (address for icmp) and the conditions describe the\n" +
		"flow instead (exe, name, desktop, cgroup, uid, domain: the names of DST).\n\n" +
		"Group members may add tunnel and block rules, direct rules only for their own\n" +
		"uid (uid=YOURS), and remove or move only the rules they added; root and\n" +
		"pexiad's own user may do anything.\n"
	commandHelp["profiles"] = "Circuit profiles name what a tunnel(PROFILE) rule asks of its circuit.\n\n" +
		"  pexia profiles [list]\n" +
		"  pexia profiles add NAME hops=N [exit_countries=DE,NL] [price_cap_per_gb=0.05] [nodes=0x..,0x..]\n" +
		"  pexia profiles remove NAME\n\n" +
		"Adding a profile of an existing name replaces it. A profile in use by a rule\n" +
		"cannot be removed.\n"
}

func runRules(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("rules")
	at := fs.Int("at", 0, "with add: the position of the new rule (default: last)")
	name := fs.String("name", "", "with add: a label for the rule")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	sub := "list"
	if len(pos) > 0 {
		sub, pos = pos[0], pos[1:]
	}
	cl := c.client()
	defer cl.Close()
	var set rules.Set
	switch sub {
	case "list":
		if err := noArgs("rules", pos); err != nil {
			return err
		}
		set, err = cl.Rules(ctx)
	case "add":
		if len(pos) < 2 {
			return fmt.Errorf("rules add: want ACTION and at least one CONDITION; run 'pexia help rules'")
		}
		t, err := rules.ParseTarget(pos[0])
		if err != nil {
			return fmt.Errorf("rules add: %w", err)
		}
		r := rules.Rule{Name: *name, Target: t}
		for _, kv := range pos[1:] {
			if err := setCondition(&r.Match, kv); err != nil {
				return fmt.Errorf("rules add: %w", err)
			}
		}
		set, err = cl.AddRule(ctx, r, *at)
		if err != nil {
			return err
		}
	case "remove":
		n, err := positions("rules remove", pos, 1)
		if err != nil {
			return err
		}
		if set, err = cl.RemoveRule(ctx, n[0]); err != nil {
			return err
		}
	case "move":
		n, err := positions("rules move", pos, 2)
		if err != nil {
			return err
		}
		if set, err = cl.MoveRule(ctx, n[0], n[1]); err != nil {
			return err
		}
	case "default":
		if len(pos) != 1 {
			return fmt.Errorf("rules default: want one ACTION")
		}
		t, err := rules.ParseTarget(pos[0])
		if err != nil {
			return fmt.Errorf("rules default: %w", err)
		}
		if set, err = cl.SetDefaultRule(ctx, t); err != nil {
			return err
		}
	case "test":
		return c.ruleTest(ctx, cl, pos)
	default:
		return fmt.Errorf("rules: unknown subcommand %q; run 'pexia help rules'", sub)
	}
	if err != nil {
		return err
	}
	return c.print(set, func(w io.Writer) { renderRules(w, set) })
}

func (c *cli) ruleTest(ctx context.Context, cl *api.Client, pos []string) error {
	var t api.RuleTest
	if len(pos) > 0 {
		switch pos[0] {
		case "tcp", "udp", "icmp":
			t.Proto, pos = pos[0], pos[1:]
		}
	}
	if len(pos) == 0 {
		return fmt.Errorf("rules test: want DST (address:port); run 'pexia help rules'")
	}
	t.Dst = pos[0]
	for _, kv := range pos[1:] {
		key, val, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("rules test: %q is not KEY=VALUE", kv)
		}
		switch key {
		case "exe":
			t.Exe = val
		case "name":
			t.Name = val
		case "desktop":
			t.Desktop = val
		case "cgroup":
			t.Cgroup = val
		case "uid":
			u, err := strconv.ParseUint(val, 10, 32)
			if err != nil {
				return fmt.Errorf("rules test: uid %q is not a number", val)
			}
			u32 := uint32(u)
			t.UID = &u32
		case "domain":
			t.Names = append(t.Names, list(val, nil, "")...)
		default:
			return fmt.Errorf("rules test: unknown key %q (want exe, name, desktop, cgroup, uid or domain)", key)
		}
	}
	if _, err := t.Flow(); err != nil {
		return err
	}
	x, err := cl.TestRule(ctx, t)
	if err != nil {
		return err
	}
	if c.json {
		return c.print(x, nil)
	}
	_, err = io.WriteString(c.stdout, x.String())
	return err
}

// setCondition adds one KEY=VALUE condition to m; the daemon checks the
// values.
func setCondition(m *rules.Match, kv string) error {
	key, val, ok := strings.Cut(kv, "=")
	if !ok || val == "" {
		return fmt.Errorf("%q is not KEY=VALUE", kv)
	}
	vs := list(val, nil, "")
	switch key {
	case "exe":
		m.Exe = append(m.Exe, vs...)
	case "name":
		m.Name = append(m.Name, vs...)
	case "desktop":
		m.Desktop = append(m.Desktop, vs...)
	case "cgroup":
		m.Cgroup = append(m.Cgroup, vs...)
	case "uid":
		for _, v := range vs {
			u, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return fmt.Errorf("uid %q is not a number", v)
			}
			m.UID = append(m.UID, uint32(u))
		}
	case "domain":
		m.Domain = append(m.Domain, vs...)
	case "dst":
		m.Dst = append(m.Dst, vs...)
	case "port":
		m.Port = append(m.Port, vs...)
	case "proto":
		m.Proto = append(m.Proto, vs...)
	default:
		return fmt.Errorf("unknown condition %q (want exe, name, desktop, cgroup, uid, domain, dst, port or proto)", key)
	}
	return nil
}

// positions reads n 1-based rule positions.
func positions(cmd string, pos []string, n int) ([]int, error) {
	if len(pos) != n {
		return nil, fmt.Errorf("%s: want %d rule position(s) as 'pexia rules' numbers them", cmd, n)
	}
	out := make([]int, n)
	for i, p := range pos {
		v, err := strconv.Atoi(p)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%s: %q is not a rule position (1, 2, ...)", cmd, p)
		}
		out[i] = v
	}
	return out, nil
}

func renderRules(w io.Writer, s rules.Set) {
	if len(s.Rules) == 0 {
		fmt.Fprintln(w, "no rules")
	}
	for i, r := range s.Rules {
		label := r.Name
		if label == "" {
			label = "-"
		}
		by := "admin"
		if r.AddedBy != nil {
			by = "uid " + strconv.FormatUint(uint64(*r.AddedBy), 10)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t(%s)\n", i+1, label, r.Target, conditions(r.Match), by)
	}
	fmt.Fprintf(w, "default: %s\n", s.Default)
}

func conditions(m rules.Match) string {
	var parts []string
	add := func(k string, vs []string) {
		if len(vs) > 0 {
			parts = append(parts, k+"="+strings.Join(vs, ","))
		}
	}
	add("exe", m.Exe)
	add("name", m.Name)
	add("desktop", m.Desktop)
	add("cgroup", m.Cgroup)
	var uids []string
	for _, u := range m.UID {
		uids = append(uids, strconv.FormatUint(uint64(u), 10))
	}
	add("uid", uids)
	add("domain", m.Domain)
	add("dst", m.Dst)
	add("port", m.Port)
	add("proto", m.Proto)
	return strings.Join(parts, " ")
}

func runProfiles(ctx context.Context, c *cli, args []string) error {
	pos, err := c.parse(c.flags("profiles"), args)
	if err != nil {
		return err
	}
	sub := "list"
	if len(pos) > 0 {
		sub, pos = pos[0], pos[1:]
	}
	cl := c.client()
	defer cl.Close()
	var set rules.Set
	switch sub {
	case "list":
		if err := noArgs("profiles", pos); err != nil {
			return err
		}
		set, err = cl.Rules(ctx)
	case "add":
		if len(pos) < 2 {
			return fmt.Errorf("profiles add: want NAME and hops=N; run 'pexia help profiles'")
		}
		p := rules.Profile{Name: pos[0]}
		for _, kv := range pos[1:] {
			if err := setProfileField(&p, kv); err != nil {
				return fmt.Errorf("profiles add: %w", err)
			}
		}
		set, err = cl.AddProfile(ctx, p)
	case "remove":
		if len(pos) != 1 {
			return fmt.Errorf("profiles remove: want one NAME")
		}
		set, err = cl.RemoveProfile(ctx, pos[0])
	default:
		return fmt.Errorf("profiles: unknown subcommand %q; run 'pexia help profiles'", sub)
	}
	if err != nil {
		return err
	}
	return c.print(set.Profiles, func(w io.Writer) { renderProfiles(w, set.Profiles) })
}

func setProfileField(p *rules.Profile, kv string) error {
	key, val, ok := strings.Cut(kv, "=")
	if !ok {
		return fmt.Errorf("%q is not KEY=VALUE", kv)
	}
	switch key {
	case "hops":
		n, err := strconv.Atoi(val)
		if err != nil {
			return fmt.Errorf("hops: %q is not a whole number", val)
		}
		p.Hops = n
	case "exit_countries":
		p.ExitCountries = list(val, strings.ToUpper, "any")
	case "price_cap_per_gb":
		a, err := amountValue(val, api.Currency{})
		if err != nil {
			return fmt.Errorf("price_cap_per_gb: %w", err)
		}
		p.PriceCapPerGB = ""
		if !a.IsZero() {
			p.PriceCapPerGB = a.Big().String()
		}
	case "nodes":
		p.Nodes = list(val, nil, "none")
	default:
		return fmt.Errorf("unknown key %q (want hops, exit_countries, price_cap_per_gb or nodes)", key)
	}
	return nil
}

func renderProfiles(w io.Writer, ps []rules.Profile) {
	if len(ps) == 0 {
		fmt.Fprintln(w, "no profiles")
	}
	for _, p := range ps {
		countries := "any exit"
		if len(p.ExitCountries) > 0 {
			countries = "exit " + strings.Join(p.ExitCountries, ",")
		}
		priceCap := "no price cap"
		if p.PriceCapPerGB != "" {
			if r, ok := newRat(p.PriceCapPerGB); ok {
				priceCap = "cap " + r + "/GB"
			}
		}
		nodes := ""
		if len(p.Nodes) > 0 {
			nodes = fmt.Sprintf("%d curated nodes", len(p.Nodes))
		}
		fmt.Fprintf(w, "%s\t%d hops\t%s\t%s\t%s\n", p.Name, p.Hops, countries, priceCap, nodes)
	}
}
