package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/internal/payhop"
	"github.com/pexia-network/pexia/rules"
)

// Each rules profile a tunnel rule names gets its own circuit from the
// session's pool, built when its first flow comes and rebuilt by the pool
// when it dies; the connection's own circuit (tunnel rules without a
// profile, DNS) is the pool's default profile. A rules profile's pool
// profile is named after the profile and a digest of its requirements, so
// a changed profile gets a new circuit and the old one is closed once
// idle. Every circuit is paid per hop from the same hop accounts, through
// the same budget engine, with the profile's name on its tickets.

// profileIdle is how long, in nanoseconds, a rules profile's circuit is
// kept with no stream and no new flow. Tests shorten it while the
// daemon's tick reads it, hence atomic.
var profileIdle atomic.Int64

func init() { profileIdle.Store(int64(10 * time.Minute)) }

// reapEvery is how often, in ticks, idle profile circuits are closed.
const reapEvery = 10

// poolProfileName is the pool profile of rules profile p.
func poolProfileName(p rules.Profile) string {
	h := sha256.New()
	nodes := make([]string, len(p.Nodes))
	for i, n := range p.Nodes {
		nodes[i] = strings.ToLower(n)
	}
	fmt.Fprintf(h, "%d|%s|%s|%s", p.Hops, strings.Join(p.ExitCountries, ","), p.PriceCapPerGB, strings.Join(nodes, ","))
	return "profile/" + p.Name + "/" + hex.EncodeToString(h.Sum(nil)[:4])
}

// profileFor returns the pool profile of the rules profile named name in
// use now, and tells the selector its plan. A profile without a price cap
// takes the connection's.
func (d *Daemon) profileFor(s *session, name string) (hop.Profile, error) {
	rp, ok := d.rules.Engine().Profile(name)
	if !ok {
		return hop.Profile{}, fmt.Errorf("profile %q does not exist", name)
	}
	pn := poolProfileName(rp)
	s.sel.addPlan(pn, func() profilePlan {
		pl := Plan{Hops: rp.Hops, Countries: rp.ExitCountries, MaxPricePerGB: s.sel.plan.MaxPricePerGB}
		if c, err := rp.PriceCap(); err == nil && c != nil {
			pl.MaxPricePerGB = c
		}
		if len(rp.Nodes) > 0 {
			pl.Nodes = map[common.Address]bool{}
			for _, n := range rp.Nodes {
				pl.Nodes[common.HexToAddress(n)] = true
			}
		}
		return profilePlan{Plan: pl, label: rp.Name}
	})
	return hop.Profile{Name: pn, Hops: rp.Hops}, nil
}

// payerFor returns the payer of a pool profile's circuits: the same hop
// accounts and budget for all, the profile's price cap in the check of
// node terms, and its name on the tickets.
func (d *Daemon) payerFor(s *session, n *contracts.Network, check *payhop.TermsCheck) func(hop.Profile) hop.Payer {
	return func(p hop.Profile) hop.Payer {
		pp := s.sel.planOf(p.Name)
		ck := *check
		ck.MaxPricePerGB = pp.MaxPricePerGB
		onIssue := func(t *contracts.Signed, hop int, node common.Address) {
			d.wins.remember(n, t, hop, node, pp.label)
		}
		return d.pay.payer(n, s.cl, pp.label, d.apps.window, onIssue, &ck)
	}
}

// fundHops makes sure the hop accounts pay circuits of hops hops: a
// profile may be longer than the connection's circuit.
func (d *Daemon) fundHops(s *session) func(ctx context.Context, hops int) error {
	return func(ctx context.Context, hops int) error {
		s.fundMu.Lock()
		defer s.fundMu.Unlock()
		if hops <= s.hops {
			return nil
		}
		if err := d.pay.fund(ctx, s.cl, hops, d.cfg.Logf); err != nil {
			return err
		}
		s.hops = hops
		return nil
	}
}

// describeCircuit is the API's view of circuit c of the pool profile
// named profile.
func (d *Daemon) describeCircuit(s *session, profile string, c *hop.Circuit, at time.Time, ms int64) api.Circuit {
	out := api.Circuit{Profile: profile, BuiltAt: at, BuildMS: ms, Currency: d.currency()}
	st := c.Stats()
	for k, h := range s.sel.describe(c) {
		role := api.RoleRelay
		if h.Exit {
			role = api.RoleExit
		}
		host := h.URL
		if u, err := url.Parse(h.URL); err == nil {
			host = u.Host
		}
		hop := api.Hop{Address: h.Address.Hex(), Host: host, Country: h.Country, Role: role,
			PricePerGB: api.NewAmount(orZero(h.PricePerGB)),
			BytesUp:    st.CellsUp * uint64(st.CellSize), BytesDown: st.CellsDown * uint64(st.CellSize)}
		if k < len(st.Hops) {
			hop.Paid = api.NewAmount(orZero(st.Hops[k].Paid))
			hop.LatencyMS = float64(st.Hops[k].RTT.Microseconds()) / 1000
		}
		out.Hops = append(out.Hops, hop)
	}
	return out
}

// profileCircuits lists the session's circuits: the connection's first,
// then each rules profile's, by the profile's name.
func (d *Daemon) profileCircuits(s *session, pool *hop.Pool) []api.Circuit {
	var out []api.Circuit
	for _, pc := range pool.Circuits() {
		pp := s.sel.planOf(pc.Profile.Name)
		ci := d.describeCircuit(s, pp.label, pc.Circuit, pc.BuiltAt, 0)
		ci.Default = pc.Profile.Name == s.profile.Name
		if ci.Default {
			out = append([]api.Circuit{ci}, out...)
		} else {
			out = append(out, ci)
		}
	}
	return out
}

// reapProfiles closes the rules profiles' circuits that nothing used for
// profileIdle.
func (d *Daemon) reapProfiles() {
	d.mu.Lock()
	s := d.sess
	d.mu.Unlock()
	if s == nil {
		return
	}
	s.mu.Lock()
	pool := s.pool
	s.mu.Unlock()
	if pool == nil {
		return
	}
	idle := time.Duration(profileIdle.Load())
	for _, p := range pool.CloseIdle(idle, func(p hop.Profile) bool { return p.Name == s.profile.Name }) {
		d.cfg.Logf("profile %s: circuit closed after %v unused", s.sel.planOf(p.Name).label, idle)
	}
}
