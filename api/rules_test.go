package api

import (
	"errors"
	"testing"

	"github.com/pexia-network/pexia/rules"
)

// TestApplyRulesChangePrivileges: what a group member may change in the
// rules (see the package doc), and that an admin may change anything.
func TestApplyRulesChangePrivileges(t *testing.T) {
	admin := Caller{UID: 0, Access: AccessAdmin}
	alice := Caller{UID: 1001, Access: AccessMember}
	bob := Caller{UID: 1002, Access: AccessMember}
	start := func() rules.Set {
		s := rules.DefaultSet()
		s.Profiles = []rules.Profile{{Name: "far", Hops: 3}}
		s.Rules = []rules.Rule{{Name: "lan", Match: rules.Match{Dst: []string{"192.168.0.0/16"}}, Target: rules.Target{Action: rules.Direct}}}
		return s
	}
	tunnelRule := &rules.Rule{Match: rules.Match{Name: []string{"firefox"}}, Target: rules.Target{Action: rules.Tunnel, Profile: "far"}}
	blockRule := &rules.Rule{Match: rules.Match{Port: []string{"6881-6889"}}, Target: rules.Target{Action: rules.Block}}
	directAny := &rules.Rule{Match: rules.Match{Name: []string{"game"}}, Target: rules.Target{Action: rules.Direct}}
	directOwn := &rules.Rule{Match: rules.Match{Name: []string{"game"}, UID: []uint32{1001}}, Target: rules.Target{Action: rules.Direct}}
	directTwo := &rules.Rule{Match: rules.Match{Name: []string{"game"}, UID: []uint32{1001, 1002}}, Target: rules.Target{Action: rules.Direct}}
	for _, c := range []struct {
		name   string
		who    Caller
		setup  []RulesChange // applied as alice first
		ch     RulesChange
		want   error
		verify func(*testing.T, rules.Set)
	}{
		{name: "member adds a tunnel rule", who: alice, ch: RulesChange{Op: OpAddRule, Rule: tunnelRule, Position: 1},
			verify: func(t *testing.T, s rules.Set) {
				if s.Rules[0].AddedBy == nil || *s.Rules[0].AddedBy != 1001 || s.Rules[1].Name != "lan" {
					t.Errorf("rules %+v", s.Rules)
				}
			}},
		{name: "member adds a block rule", who: alice, ch: RulesChange{Op: OpAddRule, Rule: blockRule}},
		{name: "member's direct rule for everyone", who: alice, ch: RulesChange{Op: OpAddRule, Rule: directAny}, want: ErrForbidden},
		{name: "member's direct rule for two users", who: alice, ch: RulesChange{Op: OpAddRule, Rule: directTwo}, want: ErrForbidden},
		{name: "member's direct rule for another user", who: bob, ch: RulesChange{Op: OpAddRule, Rule: directOwn}, want: ErrForbidden},
		{name: "member's direct rule for their own uid", who: alice, ch: RulesChange{Op: OpAddRule, Rule: directOwn}},
		{name: "admin's direct rule for everyone", who: admin, ch: RulesChange{Op: OpAddRule, Rule: directAny},
			verify: func(t *testing.T, s rules.Set) {
				if s.Rules[1].AddedBy != nil {
					t.Errorf("an admin's rule carries added_by %d", *s.Rules[1].AddedBy)
				}
			}},
		{name: "a forged added_by is replaced", who: bob, ch: RulesChange{Op: OpAddRule, Rule: &rules.Rule{Match: blockRule.Match, Target: blockRule.Target, AddedBy: new(uint32)}},
			verify: func(t *testing.T, s rules.Set) {
				if *s.Rules[1].AddedBy != 1002 {
					t.Errorf("added_by %d", *s.Rules[1].AddedBy)
				}
			}},
		{name: "member removes an admin's rule", who: alice, ch: RulesChange{Op: OpRemoveRule, Position: 1}, want: ErrForbidden},
		{name: "member moves an admin's rule", who: alice, setup: []RulesChange{{Op: OpAddRule, Rule: blockRule}}, ch: RulesChange{Op: OpMoveRule, Position: 1, To: 2}, want: ErrForbidden},
		{name: "member removes another member's rule", who: bob, setup: []RulesChange{{Op: OpAddRule, Rule: blockRule}}, ch: RulesChange{Op: OpRemoveRule, Position: 2}, want: ErrForbidden},
		{name: "member removes their own rule", who: alice, setup: []RulesChange{{Op: OpAddRule, Rule: blockRule}}, ch: RulesChange{Op: OpRemoveRule, Position: 2},
			verify: func(t *testing.T, s rules.Set) {
				if len(s.Rules) != 1 {
					t.Errorf("%d rules", len(s.Rules))
				}
			}},
		{name: "member moves their own rule above the admin's", who: alice, setup: []RulesChange{{Op: OpAddRule, Rule: blockRule}}, ch: RulesChange{Op: OpMoveRule, Position: 2, To: 1},
			verify: func(t *testing.T, s rules.Set) {
				if s.Rules[0].Action != rules.Block || s.Rules[1].Name != "lan" {
					t.Errorf("rules %+v", s.Rules)
				}
			}},
		{name: "admin removes a member's rule", who: admin, setup: []RulesChange{{Op: OpAddRule, Rule: blockRule}}, ch: RulesChange{Op: OpRemoveRule, Position: 2}},
		{name: "member makes direct the default", who: alice, ch: RulesChange{Op: OpSetDefault, Default: &rules.Target{Action: rules.Direct}}, want: ErrForbidden},
		{name: "member makes block the default", who: alice, ch: RulesChange{Op: OpSetDefault, Default: &rules.Target{Action: rules.Block}}},
		{name: "admin makes direct the default", who: admin, ch: RulesChange{Op: OpSetDefault, Default: &rules.Target{Action: rules.Direct}}},
		{name: "member adds a profile", who: alice, ch: RulesChange{Op: OpAddProfile, Profile: &rules.Profile{Name: "near", Hops: 1}}},
		{name: "member replaces an admin's profile", who: alice, ch: RulesChange{Op: OpAddProfile, Profile: &rules.Profile{Name: "far", Hops: 1}}, want: ErrForbidden},
		{name: "member removes an admin's profile", who: alice, ch: RulesChange{Op: OpRemoveProfile, Name: "far"}, want: ErrForbidden},
		{name: "member removes their own profile", who: alice, setup: []RulesChange{{Op: OpAddProfile, Profile: &rules.Profile{Name: "near", Hops: 1}}},
			ch: RulesChange{Op: OpRemoveProfile, Name: "near"}},
		{name: "a profile in use stays", who: admin, setup: []RulesChange{{Op: OpAddRule, Rule: tunnelRule}}, ch: RulesChange{Op: OpRemoveProfile, Name: "far"}, want: ErrInvalid},
		{name: "position out of range", who: admin, ch: RulesChange{Op: OpAddRule, Rule: blockRule, Position: 3}, want: ErrInvalid},
		{name: "no such rule", who: admin, ch: RulesChange{Op: OpRemoveRule, Position: 2}, want: ErrInvalid},
		{name: "move past the end", who: admin, ch: RulesChange{Op: OpMoveRule, Position: 1, To: 2}, want: ErrInvalid},
		{name: "unknown op", who: admin, ch: RulesChange{Op: "rename"}, want: ErrInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := start()
			for _, ch := range c.setup {
				if err := ApplyRulesChange(alice, &s, ch); err != nil {
					t.Fatalf("setup %s: %v", ch.Op, err)
				}
			}
			err := ApplyRulesChange(c.who, &s, c.ch)
			switch {
			case c.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("got %v, want %v", err, c.want)
			case c.want == nil:
				if verr := s.Validate(); verr != nil {
					t.Fatalf("result does not validate: %v", verr)
				}
				if c.verify != nil {
					c.verify(t, s)
				}
			}
		})
	}
}

func TestRuleTestFlow(t *testing.T) {
	u := uint32(1000)
	f, err := RuleTest{Proto: "udp", Dst: "192.0.2.1:53", Cgroup: "/user.slice/app-gnome-firefox-12.scope", UID: &u, Names: []string{"Example.COM."}}.Flow()
	if err != nil {
		t.Fatal(err)
	}
	if f.Proto != rules.UDP || f.Owner.Desktop != "firefox" || !f.Owner.Known() || f.Owner.UID != 1000 || f.Names[0] != "example.com" {
		t.Fatalf("flow %+v", f)
	}
	if f, err := (RuleTest{Dst: "[2001:db8::1]:443"}).Flow(); err != nil || f.Proto != rules.TCP || f.Owner.Known() {
		t.Fatalf("bare flow %+v, %v", f, err)
	}
	if f, err := (RuleTest{Proto: "icmp", Dst: "192.0.2.1"}).Flow(); err != nil || f.Dst.Port() != 0 {
		t.Fatalf("icmp flow %+v, %v", f, err)
	}
	for _, bad := range []RuleTest{{Dst: "192.0.2.1"}, {Proto: "sctp", Dst: "192.0.2.1:1"}, {Dst: "x:1"}, {Dst: "192.0.2.1:1", Names: []string{".a.b"}}} {
		if _, err := bad.Flow(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", bad, err)
		}
	}
}
