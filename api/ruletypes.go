package api

import "github.com/pexia-network/pexia/rules"

// The rule types of the /v1/rules endpoints, under names of this package,
// so a client (the desktop app) can read and build rules while importing
// only api.
type (
	// RuleSet is the ordered rule list, its default and the profiles.
	RuleSet = rules.Set
	// Rule is one entry of the rule list.
	Rule = rules.Rule
	// RuleMatch is a rule's conditions.
	RuleMatch = rules.Match
	// RuleTarget is where a matching flow goes: an action and a profile.
	RuleTarget = rules.Target
	// RuleAction is tunnel, direct or block.
	RuleAction = rules.Action
	// RuleProfile is a named circuit profile rules can send flows to.
	RuleProfile = rules.Profile
	// RuleExplanation is TestRule's answer.
	RuleExplanation = rules.Explanation
)

// The actions of a rule.
const (
	ActionTunnel = rules.Tunnel
	ActionDirect = rules.Direct
	ActionBlock  = rules.Block
)
