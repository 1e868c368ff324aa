package daemon

import (
	"context"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/internal/logger"
	"github.com/pexia-network/pexia/internal/payhop"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/dir"
)

// Nodes are not trusted: the terms each hop announces are checked before a
// ticket is signed for it (payhop.TermsCheck) against the registry entry
// the selector read when it picked the node, the user's price cap, and a
// claim cost bounded by the chain's recent gas price. A refused hop is
// avoided by the pool, which builds through another node.

// termsCheck returns the check of node terms for a session whose selector
// is sel, paying in the zero-address coin.
func termsCheck(ctx context.Context, cl *chain.Client, sel *selector, plan Plan, logf logger.Logf) (*payhop.TermsCheck, error) {
	g, err := payhop.NewGasBound(ctx, cl, logf)
	if err != nil {
		return nil, err
	}
	return &payhop.TermsCheck{Registry: sel.entry, Token: common.Address{}, MaxPricePerGB: plan.MaxPricePerGB, MaxClaimCost: g.Limit}, nil
}

// entry is the registry entry the selector read for node when it picked
// it.
func (s *selector) entry(node common.Address) (dir.Node, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.last[onion.Address(node)]
	return n, ok
}
