package apitest

import (
	"context"
	"fmt"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/rules"
)

var _ api.RulesBackend = (*Backend)(nil)

// Rules implements api.RulesBackend: the rule set, in memory, starting
// from rules.DefaultSet.
func (b *Backend) Rules(context.Context) (rules.Set, error) {
	err := b.enter("Rules")
	defer b.mu.Unlock()
	if err != nil {
		return rules.Set{}, err
	}
	return b.rules.Clone(), nil
}

// ChangeRules implements api.RulesBackend as the daemon does, without a
// file.
func (b *Backend) ChangeRules(ctx context.Context, ch api.RulesChange) (rules.Set, error) {
	err := b.enter("ChangeRules")
	defer b.mu.Unlock()
	if err != nil {
		return rules.Set{}, err
	}
	s := b.rules.Clone()
	if err := api.ApplyRulesChange(api.CallerFrom(ctx), &s, ch); err != nil {
		return rules.Set{}, err
	}
	if err := s.Validate(); err != nil {
		return rules.Set{}, fmt.Errorf("%w rules: %w", api.ErrInvalid, err)
	}
	b.rules = s
	return s.Clone(), nil
}

// TestRule implements api.RulesBackend.
func (b *Backend) TestRule(_ context.Context, t api.RuleTest) (rules.Explanation, error) {
	err := b.enter("TestRule")
	defer b.mu.Unlock()
	if err != nil {
		return rules.Explanation{}, err
	}
	f, err := t.Flow()
	if err != nil {
		return rules.Explanation{}, err
	}
	e, err := rules.NewEngine(b.rules)
	if err != nil {
		return rules.Explanation{}, err
	}
	return e.Explain(&f, nil), nil
}
