package api

import (
	"context"
	"net/http"

	"github.com/pexia-network/pexia/rules"
)

// Request bodies of the rules endpoints.
type (
	// RuleAddRequest adds Rule at Position (1-based; 0 for the end).
	RuleAddRequest struct {
		Rule     rules.Rule `json:"rule"`
		Position int        `json:"position,omitempty"`
	}
	// RuleRemoveRequest removes the rule at Position (1-based).
	RuleRemoveRequest struct {
		Position int `json:"position"`
	}
	// RuleMoveRequest moves the rule at From to To (1-based, counted
	// after the rule left From).
	RuleMoveRequest struct {
		From int `json:"from"`
		To   int `json:"to"`
	}
	// ProfileRemoveRequest removes the profile Name.
	ProfileRemoveRequest struct {
		Name string `json:"name"`
	}
)

func (s *Server) rulesRoutes() {
	s.routes["/v1/rules"] = map[string]http.HandlerFunc{http.MethodGet: s.handleRules}
	s.routes["/v1/rules/add"] = map[string]http.HandlerFunc{http.MethodPost: s.handleRulesChange(func(r *http.Request, w http.ResponseWriter) (RulesChange, bool) {
		var in RuleAddRequest
		ok := decode(w, r, &in, false)
		return RulesChange{Op: OpAddRule, Rule: &in.Rule, Position: in.Position}, ok
	})}
	s.routes["/v1/rules/remove"] = map[string]http.HandlerFunc{http.MethodPost: s.handleRulesChange(func(r *http.Request, w http.ResponseWriter) (RulesChange, bool) {
		var in RuleRemoveRequest
		ok := decode(w, r, &in, false)
		return RulesChange{Op: OpRemoveRule, Position: in.Position}, ok
	})}
	s.routes["/v1/rules/move"] = map[string]http.HandlerFunc{http.MethodPost: s.handleRulesChange(func(r *http.Request, w http.ResponseWriter) (RulesChange, bool) {
		var in RuleMoveRequest
		ok := decode(w, r, &in, false)
		return RulesChange{Op: OpMoveRule, Position: in.From, To: in.To}, ok
	})}
	s.routes["/v1/rules/default"] = map[string]http.HandlerFunc{http.MethodPut: s.handleRulesChange(func(r *http.Request, w http.ResponseWriter) (RulesChange, bool) {
		var in rules.Target
		ok := decode(w, r, &in, false)
		return RulesChange{Op: OpSetDefault, Default: &in}, ok
	})}
	s.routes["/v1/rules/test"] = map[string]http.HandlerFunc{http.MethodPost: s.handleRuleTest}
	s.routes["/v1/profiles"] = map[string]http.HandlerFunc{http.MethodPost: s.handleRulesChange(func(r *http.Request, w http.ResponseWriter) (RulesChange, bool) {
		var in rules.Profile
		ok := decode(w, r, &in, false)
		return RulesChange{Op: OpAddProfile, Profile: &in}, ok
	})}
	s.routes["/v1/profiles/remove"] = map[string]http.HandlerFunc{http.MethodPost: s.handleRulesChange(func(r *http.Request, w http.ResponseWriter) (RulesChange, bool) {
		var in ProfileRemoveRequest
		ok := decode(w, r, &in, false)
		return RulesChange{Op: OpRemoveProfile, Name: in.Name}, ok
	})}
}

// rulesBackend returns the Backend's rules, or writes 404.
func (s *Server) rulesBackend(w http.ResponseWriter) (RulesBackend, bool) {
	return optionalBackend[RulesBackend](s, w, "this pexiad serves no split-tunnel rules")
}

func (s *Server) handleRules(w http.ResponseWriter, r *http.Request) {
	rb, ok := s.rulesBackend(w)
	if !ok {
		return
	}
	set, err := rb.Rules(r.Context())
	s.reply(w, r, set, err)
}

// handleRulesChange decodes a change with read and applies it. The
// Backend checks the caller again, atomically with the change; checking
// here on a copy first keeps a Backend that forgets from letting a member
// through.
func (s *Server) handleRulesChange(read func(*http.Request, http.ResponseWriter) (RulesChange, bool)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rb, ok := s.rulesBackend(w)
		if !ok {
			return
		}
		ch, ok := read(r, w)
		if !ok {
			return
		}
		cur, err := rb.Rules(r.Context())
		if err == nil {
			err = ApplyRulesChange(CallerFrom(r.Context()), &cur, ch)
		}
		if err != nil {
			s.reply(w, r, nil, err)
			return
		}
		set, err := rb.ChangeRules(r.Context(), ch)
		s.reply(w, r, set, err)
	}
}

func (s *Server) handleRuleTest(w http.ResponseWriter, r *http.Request) {
	rb, ok := s.rulesBackend(w)
	if !ok {
		return
	}
	var in RuleTest
	if !decode(w, r, &in, false) {
		return
	}
	if _, err := in.Flow(); err != nil {
		s.reply(w, r, nil, err)
		return
	}
	x, err := rb.TestRule(r.Context(), in)
	s.reply(w, r, x, err)
}

// Rules returns the split-tunnel rules, default and profiles in use.
func (c *Client) Rules(ctx context.Context) (rules.Set, error) {
	var s rules.Set
	err := c.do(ctx, http.MethodGet, "/v1/rules", nil, &s)
	return s, err
}

// AddRule inserts r at position (1-based; 0 for the end) and returns the
// new set.
func (c *Client) AddRule(ctx context.Context, r rules.Rule, position int) (rules.Set, error) {
	var s rules.Set
	err := c.do(ctx, http.MethodPost, "/v1/rules/add", RuleAddRequest{Rule: r, Position: position}, &s)
	return s, err
}

// RemoveRule removes the rule at position (1-based).
func (c *Client) RemoveRule(ctx context.Context, position int) (rules.Set, error) {
	var s rules.Set
	err := c.do(ctx, http.MethodPost, "/v1/rules/remove", RuleRemoveRequest{Position: position}, &s)
	return s, err
}

// MoveRule moves the rule at from to to (1-based).
func (c *Client) MoveRule(ctx context.Context, from, to int) (rules.Set, error) {
	var s rules.Set
	err := c.do(ctx, http.MethodPost, "/v1/rules/move", RuleMoveRequest{From: from, To: to}, &s)
	return s, err
}

// SetDefaultRule sets what a flow no rule matches gets.
func (c *Client) SetDefaultRule(ctx context.Context, t rules.Target) (rules.Set, error) {
	var s rules.Set
	err := c.do(ctx, http.MethodPut, "/v1/rules/default", t, &s)
	return s, err
}

// TestRule explains which rule a hypothetical flow hits and why.
func (c *Client) TestRule(ctx context.Context, t RuleTest) (rules.Explanation, error) {
	var x rules.Explanation
	err := c.do(ctx, http.MethodPost, "/v1/rules/test", t, &x)
	return x, err
}

// AddProfile adds a circuit profile, or replaces the one of its name.
func (c *Client) AddProfile(ctx context.Context, p rules.Profile) (rules.Set, error) {
	var s rules.Set
	err := c.do(ctx, http.MethodPost, "/v1/profiles", p, &s)
	return s, err
}

// RemoveProfile removes the profile name; no rule may use it.
func (c *Client) RemoveProfile(ctx context.Context, name string) (rules.Set, error) {
	var s rules.Set
	err := c.do(ctx, http.MethodPost, "/v1/profiles/remove", ProfileRemoveRequest{Name: name}, &s)
	return s, err
}
