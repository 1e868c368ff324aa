// Package dir selects nodes for circuits from the on-chain directory:
// stake-weighted draws through Directory.scan, joined with each node's
// Registry entry, then filtered by role, price, country, withdrawal delay,
// curated list and distinct operators. A draw that fails a filter is
// resampled; selection is thus stake-weighted among the nodes that pass.
package dir

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/curator"
	"github.com/pexia-network/pexia/contracts/directory"
	"github.com/pexia-network/pexia/contracts/registry"
)

// Roles a node can register.
const (
	RoleRelay uint8 = 1
	RoleExit  uint8 = 2
)

// ErrNoNode is returned when no node passing the filter was drawn.
var ErrNoNode = errors.New("dir: no node passes the filter")

// Caller runs read-only contract calls (wallet/chain.Client does).
type Caller interface {
	Call(ctx context.Context, to common.Address, data []byte) ([]byte, error)
}

// Node is a staked, registered node.
type Node struct {
	Address        common.Address
	Staker         common.Address
	Stake          *big.Int
	Delay          uint64 // seconds between pull and take
	URL            string
	HandshakeKey   [32]byte
	TLSFingerprint [32]byte
	Token          common.Address
	PricePerGB     *big.Int
	Country        string
	Roles          uint8
	ExitPolicy     string
}

// Filter says which nodes may be picked. Zero fields do not filter.
type Filter struct {
	Role          uint8    // required role bits
	MinDelay      uint64   // minimum withdrawal delay of the stake, seconds
	MaxPricePerGB *big.Int // price cap (the budget engine's)
	Country       string   // ISO code
	Token         *common.Address
	List          *common.Hash // curated list the node must be on
	Exclude       map[common.Address]bool
	Only          map[common.Address]bool // if set, the nodes that may be picked
}

// Directory reads the Directory, Registry and Curator contracts.
type Directory struct {
	c     Caller
	addrs contracts.Addresses
	dir   *directory.Directory
	reg   *registry.Registry
	cur   *curator.Curator
}

// New returns a Directory over the network's contracts.
func New(c Caller, addrs contracts.Addresses) *Directory {
	return &Directory{c: c, addrs: addrs, dir: directory.NewDirectory(), reg: registry.NewRegistry(), cur: curator.NewCurator()}
}

// Pick draws nodes stake-weighted until one passes f, up to tries draws.
func (d *Directory) Pick(ctx context.Context, f Filter, tries int) (Node, error) {
	for i := 0; i < tries; i++ {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return Node{}, err
		}
		out, err := d.c.Call(ctx, d.addrs.Directory, d.dir.PackScan(new(big.Int).SetBytes(b[:])))
		if err != nil {
			return Node{}, fmt.Errorf("dir: scan: %w", err)
		}
		s, err := d.dir.UnpackScan(out)
		if err != nil {
			return Node{}, fmt.Errorf("dir: scan: %w", err)
		}
		if f.Exclude[s.Stakee] || s.Delay < f.MinDelay || f.Only != nil && !f.Only[s.Stakee] {
			continue
		}
		n, ok, err := d.Lookup(ctx, s.Stakee)
		if err != nil {
			return Node{}, err
		}
		if !ok {
			continue
		}
		n.Staker, n.Stake, n.Delay = s.Staker, s.Amount, s.Delay
		if pass, err := d.passes(ctx, n, f); err != nil {
			return Node{}, err
		} else if pass {
			return n, nil
		}
	}
	return Node{}, ErrNoNode
}

// Lookup reads a node's registry entry; ok is false if it has none.
func (d *Directory) Lookup(ctx context.Context, node common.Address) (Node, bool, error) {
	out, err := d.c.Call(ctx, d.addrs.Registry, d.reg.PackLook(node))
	if err != nil {
		return Node{}, false, fmt.Errorf("dir: registry: %w", err)
	}
	r, err := d.reg.UnpackLook(out)
	if err != nil {
		return Node{}, false, fmt.Errorf("dir: registry: %w", err)
	}
	if r.HandshakeKey == ([32]byte{}) {
		return Node{}, false, nil
	}
	return Node{
		Address: node, URL: r.Url, HandshakeKey: r.HandshakeKey, TLSFingerprint: r.TlsFingerprint,
		Token: r.Token, PricePerGB: r.PricePerGB, Country: string(r.Country[:]), Roles: r.Roles, ExitPolicy: r.ExitPolicy,
	}, true, nil
}

func (d *Directory) passes(ctx context.Context, n Node, f Filter) (bool, error) {
	switch {
	case n.Roles&f.Role != f.Role:
		return false, nil
	case f.MaxPricePerGB != nil && n.PricePerGB.Cmp(f.MaxPricePerGB) > 0:
		return false, nil
	case f.Country != "" && n.Country != f.Country:
		return false, nil
	case f.Token != nil && n.Token != *f.Token:
		return false, nil
	}
	if f.List != nil {
		out, err := d.c.Call(ctx, d.addrs.Curator, d.cur.PackGood(*f.List, n.Address))
		if err != nil {
			return false, fmt.Errorf("dir: curator: %w", err)
		}
		ok, err := d.cur.UnpackGood(out)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// Circuit picks hops distinct nodes with distinct operators (stakers): the
// last passes exit (which should require RoleExit), the others relay.
func (d *Directory) Circuit(ctx context.Context, hops int, relay, exit Filter) ([]Node, error) {
	if hops < 1 {
		return nil, fmt.Errorf("dir: %d hops", hops)
	}
	used := map[common.Address]bool{}
	operators := map[common.Address]bool{}
	out := make([]Node, hops)
	// The exit first: it is the scarcest role.
	for i := hops - 1; i >= 0; i-- {
		f := relay
		if i == hops-1 {
			f = exit
		}
		excl := map[common.Address]bool{}
		for a := range f.Exclude {
			excl[a] = true
		}
		for a := range used {
			excl[a] = true
		}
		f.Exclude = excl
		var n Node
		var err error
		for try := 0; try < 8; try++ {
			if n, err = d.Pick(ctx, f, 32); err != nil {
				return nil, fmt.Errorf("dir: hop %d: %w", i, err)
			}
			if !operators[n.Staker] {
				break
			}
			excl[n.Address] = true
			err = ErrNoNode
		}
		if err != nil {
			return nil, fmt.Errorf("dir: hop %d: distinct operators: %w", i, err)
		}
		used[n.Address], operators[n.Staker] = true, true
		out[i] = n
	}
	return out, nil
}
