package api

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	"github.com/pexia-network/pexia/rules"
)

// RulesBackend is what a Backend implements to serve the split-tunnel
// rules and profiles (/v1/rules…, /v1/profiles…); the Server answers 404
// for those endpoints on a Backend without it.
type RulesBackend interface {
	// Rules returns the rule set in use.
	Rules(ctx context.Context) (rules.Set, error)
	// ChangeRules applies ch for the caller in ctx (ApplyRulesChange,
	// which also checks the caller may make it), saves the result and uses
	// it for the next flow, atomically: a refused or invalid change
	// changes nothing. It returns the new set.
	ChangeRules(ctx context.Context, ch RulesChange) (rules.Set, error)
	// TestRule explains which rule a hypothetical flow hits and why.
	TestRule(ctx context.Context, t RuleTest) (rules.Explanation, error)
}

// RulesOp names a change of the rule set.
type RulesOp string

// The changes of the rule set.
const (
	OpAddRule       RulesOp = "add_rule"
	OpRemoveRule    RulesOp = "remove_rule"
	OpMoveRule      RulesOp = "move_rule"
	OpSetDefault    RulesOp = "set_default"
	OpAddProfile    RulesOp = "add_profile"
	OpRemoveProfile RulesOp = "remove_profile"
)

// RulesChange is one change of the rule set, as the endpoints take it.
type RulesChange struct {
	Op RulesOp `json:"op"`
	// Rule is the rule to add (OpAddRule).
	Rule *rules.Rule `json:"rule,omitempty"`
	// Position is where a rule goes (OpAddRule; 1-based, 0 for the end)
	// or which rule goes (OpRemoveRule, OpMoveRule: 1-based).
	Position int `json:"position,omitempty"`
	// To is where OpMoveRule puts the rule (1-based).
	To int `json:"to,omitempty"`
	// Default is the new default (OpSetDefault).
	Default *rules.Target `json:"default,omitempty"`
	// Profile is the profile to add or replace (OpAddProfile).
	Profile *rules.Profile `json:"profile,omitempty"`
	// Name is the profile to remove (OpRemoveProfile).
	Name string `json:"name,omitempty"`
}

// RuleTest is a hypothetical flow for `pexia rules test`. Application
// fields left empty are unknown, as for a flow whose owner was not found.
type RuleTest struct {
	Proto string `json:"proto"`          // tcp (default), udp or icmp
	Dst   string `json:"dst"`            // address:port, or address for icmp
	Exe   string `json:"exe,omitempty"`  // executable path
	Name  string `json:"name,omitempty"` // process name
	// Desktop is the desktop-entry id; if empty, the one Cgroup names.
	Desktop string  `json:"desktop,omitempty"`
	Cgroup  string  `json:"cgroup,omitempty"`
	UID     *uint32 `json:"uid,omitempty"`
	// Names are the names the destination is known by; if none, the
	// daemon uses what its DNS answers gave the address while connected.
	Names []string `json:"names,omitempty"`
}

// Flow turns t into the engine's flow; the error wraps ErrInvalid.
func (t RuleTest) Flow() (rules.Flow, error) {
	p := rules.Proto(t.Proto)
	switch p {
	case "":
		p = rules.TCP
	case rules.TCP, rules.UDP, rules.ICMP:
	default:
		return rules.Flow{}, fmt.Errorf("%w proto %q: want tcp, udp or icmp", ErrInvalid, t.Proto)
	}
	var dst netip.AddrPort
	if a, err := netip.ParseAddr(t.Dst); err == nil && p == rules.ICMP {
		dst = netip.AddrPortFrom(a, 0)
	} else if dst, err = netip.ParseAddrPort(t.Dst); err != nil {
		return rules.Flow{}, fmt.Errorf("%w dst %q: want address:port, such as 192.0.2.1:443 or [2001:db8::1]:443", ErrInvalid, t.Dst)
	}
	f := rules.Flow{Proto: p, Dst: dst}
	for _, n := range t.Names {
		d, err := rules.NormalizeDomain(n)
		if err != nil || d[0] == '.' {
			return rules.Flow{}, fmt.Errorf("%w name %q: want a domain name", ErrInvalid, n)
		}
		f.Names = append(f.Names, d)
	}
	o := rules.Owner{Exe: t.Exe, Name: t.Name, Cgroup: t.Cgroup, Desktop: t.Desktop}
	if o.Desktop == "" {
		o.Desktop = rules.DesktopID(o.Cgroup)
	}
	if o.Exe != "" || o.Name != "" || o.Cgroup != "" || o.Desktop != "" {
		o.PID = rules.HypotheticalPID
	}
	if t.UID != nil {
		o.UID, o.HasUID = *t.UID, true
	}
	f.Owner = o
	return f, nil
}

// ApplyRulesChange applies ch to s for caller c, or says why c may not
// make it (ErrForbidden) or why it is malformed (ErrInvalid). The rules
// on who may do what are in the package doc ("Split-tunnel rules"). The
// result still has to validate (rules.Set.Validate).
func ApplyRulesChange(c Caller, s *rules.Set, ch RulesChange) error {
	admin := c.Admin()
	mine := func(by *uint32) bool { return admin || by != nil && *by == c.UID }
	stamp := func() *uint32 {
		if admin {
			return nil
		}
		u := c.UID
		return &u
	}
	switch ch.Op {
	case OpAddRule:
		if ch.Rule == nil {
			return fmt.Errorf("%w: add_rule needs a rule", ErrInvalid)
		}
		r := *ch.Rule
		if !admin && r.Action == rules.Direct && !(len(r.Match.UID) == 1 && r.Match.UID[0] == c.UID) {
			return fmt.Errorf("%w: a group member's direct rule must match only their own traffic: add uid %d to its match (only root and pexiad's own user may send other users' traffic around the tunnel)", ErrForbidden, c.UID)
		}
		r.AddedBy = stamp()
		pos := ch.Position
		if pos == 0 {
			pos = len(s.Rules) + 1
		}
		if pos < 1 || pos > len(s.Rules)+1 {
			return fmt.Errorf("%w: position %d: want 1 to %d", ErrInvalid, pos, len(s.Rules)+1)
		}
		s.Rules = slices.Insert(s.Rules, pos-1, r)
	case OpRemoveRule, OpMoveRule:
		i := ch.Position
		if i < 1 || i > len(s.Rules) {
			return fmt.Errorf("%w: no rule %d (there are %d)", ErrInvalid, i, len(s.Rules))
		}
		if !mine(s.Rules[i-1].AddedBy) {
			return fmt.Errorf("%w: rule %d was not added by you; a group member may remove or move only the rules they added", ErrForbidden, i)
		}
		r := s.Rules[i-1]
		s.Rules = slices.Delete(s.Rules, i-1, i)
		if ch.Op == OpMoveRule {
			if ch.To < 1 || ch.To > len(s.Rules)+1 {
				return fmt.Errorf("%w: to %d: want 1 to %d", ErrInvalid, ch.To, len(s.Rules)+1)
			}
			s.Rules = slices.Insert(s.Rules, ch.To-1, r)
		}
	case OpSetDefault:
		if ch.Default == nil {
			return fmt.Errorf("%w: set_default needs a default", ErrInvalid)
		}
		if !admin && ch.Default.Action == rules.Direct {
			return fmt.Errorf("%w: only root and pexiad's own user may make direct the default (it sends every user's traffic around the tunnel)", ErrForbidden)
		}
		s.Default = *ch.Default
	case OpAddProfile:
		if ch.Profile == nil {
			return fmt.Errorf("%w: add_profile needs a profile", ErrInvalid)
		}
		p := *ch.Profile
		p.AddedBy = stamp()
		if i := slices.IndexFunc(s.Profiles, func(x rules.Profile) bool { return x.Name == p.Name }); i >= 0 {
			if !mine(s.Profiles[i].AddedBy) {
				return fmt.Errorf("%w: profile %q was not added by you; a group member may replace only the profiles they added", ErrForbidden, p.Name)
			}
			s.Profiles[i] = p
		} else {
			s.Profiles = append(s.Profiles, p)
		}
	case OpRemoveProfile:
		i := slices.IndexFunc(s.Profiles, func(x rules.Profile) bool { return x.Name == ch.Name })
		if i < 0 {
			return fmt.Errorf("%w: no profile %q", ErrInvalid, ch.Name)
		}
		if !mine(s.Profiles[i].AddedBy) {
			return fmt.Errorf("%w: profile %q was not added by you; a group member may remove only the profiles they added", ErrForbidden, ch.Name)
		}
		for j, r := range s.Rules {
			if r.Profile == ch.Name {
				return fmt.Errorf("%w: profile %q is used by rule %d; remove or change that rule first", ErrInvalid, ch.Name, j+1)
			}
		}
		if s.Default.Profile == ch.Name {
			return fmt.Errorf("%w: profile %q is the default's; change the default first", ErrInvalid, ch.Name)
		}
		s.Profiles = slices.Delete(s.Profiles, i, i+1)
	default:
		return fmt.Errorf("%w: unknown op %q", ErrInvalid, ch.Op)
	}
	return nil
}
