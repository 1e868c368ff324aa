package daemon

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/rules"
	"github.com/pexia-network/pexia/rules/owner"
)

var _ api.RulesBackend = (*Daemon)(nil)

func rulesPathIn(dir string) string { return filepath.Join(dir, "rules.json") }

// openOwners returns the flow-owner lookup for TUN mode, or nil (with a
// log line saying what that means) where the OS has none.
func (d *Daemon) openOwners() *owner.Table {
	if d.cfg.Mode != api.ModeTUN {
		return nil // proxy clients' flows carry no owner
	}
	t, err := owner.New()
	if err != nil {
		d.cfg.Logf("rules: %v; rules on applications match no flow", err)
		return nil
	}
	return t
}

// Rules implements api.RulesBackend.
func (d *Daemon) Rules(context.Context) (rules.Set, error) { return d.rules.Set(), nil }

// ChangeRules implements api.RulesBackend: the change is checked for the
// caller, validated, saved and used for the next flow, or nothing
// changes. Flows already open keep their way.
func (d *Daemon) ChangeRules(ctx context.Context, ch api.RulesChange) (rules.Set, error) {
	c := api.CallerFrom(ctx)
	s, err := d.rules.Update(func(s *rules.Set) error { return api.ApplyRulesChange(c, s, ch) })
	if errors.Is(err, rules.ErrInvalid) {
		return rules.Set{}, fmt.Errorf("%w rules: %w", api.ErrInvalid, err)
	}
	if err != nil {
		return rules.Set{}, err
	}
	d.cfg.Logf("rules: %s by uid %d (%d rules, default %s)", ch.Op, c.UID, len(s.Rules), s.Default)
	return s, nil
}

// TestRule implements api.RulesBackend. A flow without names gets those
// the connected session's DNS answers gave its destination.
func (d *Daemon) TestRule(_ context.Context, t api.RuleTest) (rules.Explanation, error) {
	f, err := t.Flow()
	if err != nil {
		return rules.Explanation{}, err
	}
	var nl rules.NameLookup
	if n := d.names.Load(); n != nil {
		nl = n
	}
	return d.rules.Engine().Explain(&f, nl), nil
}
