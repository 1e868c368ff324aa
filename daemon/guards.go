package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/internal/atomicfile"
	"github.com/pexia-network/pexia/wallet/dir"
)

// Guards: the first hop of every circuit of 2 hops or more comes from a
// small set of entry guards (the seed's §7.2, Tor's guards), so that over
// weeks few nodes ever see the client's address, instead of a fresh draw
// each circuit. The set is drawn stake-weighted from the directory's
// relays, kept in guards.json in the state directory (per network) and
// lives guardLifetime; a guard is replaced earlier only after
// guardMaxFailures failures in a row (a circuit that could not reach it,
// or that lost its link to it). While a guard has just failed (the pool
// avoids it for hop.FailFor) the next one is used; if none can be used,
// one more is drawn, up to maxGuards.
//
// A one-hop circuit's only hop is its exit, chosen for the exit's
// requirements: a guard that meets them is preferred, otherwise any exit
// is (the exit sees the client's address whatever the choice). A profile
// with a curated node list or a price cap that no guard meets also picks
// its first hop freely: guards never widen what the user allowed.

// The set starts with one guard, which every circuit enters at while it
// works; a guard is added when those there have just failed, up to
// maxGuards.
const (
	maxGuards        = 6
	guardMaxFailures = 3
	guardLifetime    = 30 * 24 * time.Hour // plus up to as much again, at random
)

// guardEntry is one guard as kept on disk.
type guardEntry struct {
	Address  common.Address `json:"address"`
	Staker   common.Address `json:"staker"`
	Country  string         `json:"country,omitempty"`
	Added    time.Time      `json:"added"`
	Expires  time.Time      `json:"expires"`
	Failures int            `json:"failures,omitempty"` // in a row
	LastFail time.Time      `json:"last_failure,omitzero"`
}

type guardFile struct {
	Version  int                     `json:"version"`
	Networks map[string][]guardEntry `json:"networks"`
}

// guards is the daemon's guard sets, one per network.
type guards struct {
	path string
	logf func(string, ...any)

	mu   sync.Mutex
	file guardFile
}

func guardsPathIn(dir string) string { return filepath.Join(dir, "guards.json") }

// openGuards reads the guard sets; a missing file is an empty one, a
// damaged one is set aside (new guards are drawn) rather than stop the
// daemon.
func openGuards(path string, logf func(string, ...any)) *guards {
	g := &guards{path: path, logf: logf, file: guardFile{Version: 1, Networks: map[string][]guardEntry{}}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return g
	}
	var f guardFile
	if err == nil {
		err = json.Unmarshal(b, &f)
	}
	if err == nil && f.Version != 1 {
		err = fmt.Errorf("version %d, want 1", f.Version)
	}
	if err != nil {
		logf("guards: %s: %v; drawing new guards", path, err)
		return g
	}
	if f.Networks == nil {
		f.Networks = map[string][]guardEntry{}
	}
	g.file = f
	return g
}

// saveLocked writes the guard sets atomically.
func (g *guards) saveLocked() {
	b, err := json.MarshalIndent(g.file, "", "  ")
	if err == nil {
		err = atomicfile.Write(g.path, b, 0o600)
	}
	if err != nil {
		g.logf("guards: save: %v", err)
	}
}

// list returns network's guards.
func (g *guards) list(network string) []guardEntry {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.file.Networks[network])
}

// tend drops network's expired guards and those that failed too often,
// and draws new ones until it has want usable guards (not in avoid), at
// most maxGuards in all. It returns the guards.
func (g *guards) tend(ctx context.Context, network string, nd NodeDirectory, relay dir.Filter, avoid map[common.Address]bool, want int) []guardEntry {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	set := g.file.Networks[network]
	changed := false
	dropped := map[common.Address]bool{} // not drawn again at once
	set = slices.DeleteFunc(set, func(e guardEntry) bool {
		drop := now.After(e.Expires) || e.Failures >= guardMaxFailures
		if drop {
			changed = true
			dropped[e.Address] = true
			g.logf("guards: dropping %s (%d failures in a row, expires %s)", e.Address, e.Failures, e.Expires.UTC().Format(time.DateOnly))
		}
		return drop
	})
	usable := func() int {
		n := 0
		for _, e := range set {
			if !avoid[e.Address] {
				n++
			}
		}
		return n
	}
	for usable() < want && len(set) < maxGuards {
		f := relay
		f.Exclude = map[common.Address]bool{}
		for a := range relay.Exclude {
			f.Exclude[a] = true
		}
		for _, e := range set {
			f.Exclude[e.Address] = true
		}
		for a := range dropped {
			f.Exclude[a] = true
		}
		// One stake-weighted relay: a one-hop "circuit" whose exit filter
		// is the relay filter.
		nodes, err := nd.Circuit(ctx, 1, f, f)
		if err != nil || len(nodes) != 1 {
			if err != nil {
				g.logf("guards: drawing a guard: %v", err)
			}
			break
		}
		n := nodes[0]
		life := guardLifetime + rand.N(guardLifetime)
		set = append(set, guardEntry{Address: n.Address, Staker: n.Staker, Country: n.Country, Added: now, Expires: now.Add(life)})
		changed = true
		g.logf("guards: added %s (%s) until %s", n.Address, n.Country, now.Add(life).UTC().Format(time.DateOnly))
	}
	if changed {
		g.file.Networks[network] = set
		g.saveLocked()
	}
	return slices.Clone(set)
}

// result records a circuit's outcome at node, if node is one of network's
// guards: a failure counts against it, a built circuit clears its count.
func (g *guards) result(network string, node common.Address, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	set := g.file.Networks[network]
	i := slices.IndexFunc(set, func(e guardEntry) bool { return e.Address == node })
	if i < 0 {
		return
	}
	e := &set[i]
	switch {
	case ok && e.Failures == 0:
		return
	case ok:
		e.Failures = 0
	default:
		e.Failures++
		e.LastFail = time.Now()
		g.logf("guards: %s failed (%d in a row)", e.Address, e.Failures)
	}
	g.saveLocked()
}

// status is network's guards as the API shows them.
func (g *guards) status(network string) []api.Guard {
	var out []api.Guard
	for _, e := range g.list(network) {
		out = append(out, api.Guard{Address: e.Address.Hex(), Country: e.Country, Added: e.Added, Expires: e.Expires, Failures: e.Failures})
	}
	return out
}

// guardNetwork names a network's guard set: its chain and directory.
func guardNetwork(n *contracts.Network) string {
	return fmt.Sprintf("%s:%s", n.ChainID, n.Addresses.Directory.Hex())
}

// passes says whether node n meets f, as the directory would (the
// curated list and the withdrawal delay aside: guards are drawn with
// them).
func passes(n dir.Node, f dir.Filter) bool {
	switch {
	case f.Exclude[n.Address], f.Only != nil && !f.Only[n.Address]:
		return false
	case n.Roles&f.Role != f.Role:
		return false
	case f.MaxPricePerGB != nil && n.PricePerGB.Cmp(f.MaxPricePerGB) > 0:
		return false
	case f.Country != "" && n.Country != f.Country:
		return false
	case f.Token != nil && n.Token != *f.Token:
		return false
	}
	return true
}

// guarded picks a circuit of hops hops whose first hop is one of the
// guards (see above), or, where no guard can serve, any.
func (s *selector) guarded(ctx context.Context, hops int, relay, exit dir.Filter) ([]dir.Node, error) {
	gf := s.guardFilter
	gf.Exclude = relay.Exclude // the nodes the pool avoids
	set := s.guards.tend(ctx, s.network, s.d, gf, relay.Exclude, 1)
	for _, g := range set {
		if relay.Exclude[g.Address] {
			continue
		}
		n, ok, err := s.d.Lookup(ctx, g.Address)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue // no longer registered; it fails and is replaced
		}
		n.Staker = g.Staker
		if hops == 1 {
			if passes(n, exit) {
				return []dir.Node{n}, nil
			}
			continue
		}
		if !passes(n, relay) {
			continue
		}
		rf, ef := withExcluded(relay, g.Address), withExcluded(exit, g.Address)
		for range 3 {
			rest, err := s.d.Circuit(ctx, hops-1, rf, ef)
			if err != nil {
				break
			}
			i := slices.IndexFunc(rest, func(r dir.Node) bool { return r.Staker == g.Staker })
			if i < 0 {
				return append([]dir.Node{n}, rest...), nil
			}
			rf, ef = withExcluded(rf, rest[i].Address), withExcluded(ef, rest[i].Address) // the guard's operator
		}
	}
	return s.d.Circuit(ctx, hops, relay, exit)
}

// withExcluded returns f excluding a as well.
func withExcluded(f dir.Filter, a common.Address) dir.Filter {
	ex := make(map[common.Address]bool, len(f.Exclude)+1)
	for k, v := range f.Exclude {
		ex[k] = v
	}
	ex[a] = true
	f.Exclude = ex
	return f
}
