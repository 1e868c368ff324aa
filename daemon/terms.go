package daemon

import (
	"context"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/internal/payhop"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/dir"
)

// Nodes are not trusted: the terms each hop announces are checked before a
// ticket is signed for it (payhop.TermsCheck) against the registry entry
// the selector read when it picked the node, the user's price cap, and a
// claim cost bounded by the chain's recent gas price. A refused hop is
// avoided by the pool, which builds through another node.

// gasRefresh is how often the claim cost bound follows the chain's gas
// price.
const gasRefresh = time.Minute

// termsCheck returns the check of node terms for a session whose selector
// is sel, paying in the zero-address coin.
func termsCheck(ctx context.Context, cl *chain.Client, sel *selector, plan Plan, logf func(string, ...any)) (*payhop.TermsCheck, error) {
	g := &gasBound{cl: cl, ctx: ctx, logf: logf}
	if err := g.refresh(); err != nil {
		return nil, err
	}
	return &payhop.TermsCheck{Registry: sel.entry, Token: common.Address{}, MaxPricePerGB: plan.MaxPricePerGB, MaxClaimCost: g.limit}, nil
}

// gasBound is payhop.ClaimCostLimit of the chain's gas price ceiling, read
// again when older than gasRefresh.
type gasBound struct {
	cl   *chain.Client
	ctx  context.Context
	logf func(string, ...any)

	mu  sync.Mutex
	max *big.Int  // guarded by mu
	at  time.Time // guarded by mu
}

func (g *gasBound) refresh() error {
	ctx, cancel := context.WithTimeout(g.ctx, 10*time.Second)
	defer cancel()
	p, err := g.cl.GasPriceCeiling(ctx)
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.max, g.at = payhop.ClaimCostLimit(p), time.Now()
	g.mu.Unlock()
	return nil
}

// limit is the current bound; a failed refresh keeps the last one.
func (g *gasBound) limit() *big.Int {
	g.mu.Lock()
	stale := time.Since(g.at) > gasRefresh
	g.mu.Unlock()
	if stale {
		if err := g.refresh(); err != nil {
			g.logf("chain: gas price for the claim cost bound: %v (keeping the last bound)", err)
			g.mu.Lock()
			g.at = time.Now() // retry after gasRefresh, not on every hop
			g.mu.Unlock()
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.max
}

// entry is the registry entry the selector read for node when it picked
// it.
func (s *selector) entry(node common.Address) (dir.Node, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.last[onion.Address(node)]
	return n, ok
}
