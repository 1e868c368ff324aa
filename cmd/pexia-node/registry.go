package main

import (
	"context"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/hop/wire"
	"github.com/pexia-network/pexia/internal/payhop"
	"github.com/pexia-network/pexia/wallet/dir"
)

// The registry a relay extends circuits by.
//
// A relay extends a circuit only to a node registered on chain with the
// URL and certificate pin the EXTEND names (relay.NodeConfig.LookupNode).
// Entries are read from the Registry contract and kept for registryTTL, so
// a busy relay does not ask the chain for every EXTEND and a node that
// re-registers elsewhere is followed within that time. At most
// registryMaxEntries are kept; a lookup that fails (the chain is
// unreachable) is not cached and refuses the EXTEND.

const (
	registryTTL        = 30 * time.Second
	registryMaxEntries = 4096
)

// registryLookup reads node entries through d, with a cache.
type registryLookup struct {
	dir *dir.Directory
	now func() time.Time

	mu      sync.Mutex
	entries map[onion.Address]registryEntry
}

type registryEntry struct {
	info wire.HopInfo
	ok   bool
	at   time.Time
}

func newRegistryLookup(d *dir.Directory) *registryLookup {
	return &registryLookup{dir: d, now: time.Now, entries: map[onion.Address]registryEntry{}}
}

// lookup is a relay.NodeConfig.LookupNode.
func (r *registryLookup) lookup(ctx context.Context, addr onion.Address) (wire.HopInfo, bool, error) {
	now := r.now()
	r.mu.Lock()
	e, hit := r.entries[addr]
	r.mu.Unlock()
	if hit && now.Sub(e.at) < registryTTL {
		return e.info, e.ok, nil
	}
	nd, ok, err := r.dir.Lookup(ctx, common.Address(addr))
	if err != nil {
		return wire.HopInfo{}, false, err
	}
	e = registryEntry{ok: ok, at: now}
	if ok {
		e.info = payhop.HopInfo(nd)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.entries) >= registryMaxEntries {
		for a, old := range r.entries {
			if now.Sub(old.at) >= registryTTL {
				delete(r.entries, a)
			}
		}
	}
	if len(r.entries) < registryMaxEntries {
		r.entries[addr] = e
	}
	return e.info, e.ok, nil
}
