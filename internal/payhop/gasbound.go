package payhop

import (
	"context"
	"math/big"
	"sync"
	"time"

	"github.com/pexia-network/pexia/internal/logger"
)

// GasRefresh is how often a GasBound reads the chain's gas price again.
const GasRefresh = time.Minute

// GasPricer reports the highest gas price of the chain's recent blocks
// (wallet/chain.Client.GasPriceCeiling).
type GasPricer interface {
	GasPriceCeiling(ctx context.Context) (*big.Int, error)
}

// GasBound is the claim cost bound of TermsCheck.MaxClaimCost that follows
// the chain: ClaimCostLimit of the gas price ceiling, read again when older
// than GasRefresh. Both clients (pexiad and pexia fetch) hold nodes to it.
type GasBound struct {
	src  GasPricer
	ctx  context.Context
	logf logger.Logf
	now  func() time.Time

	mu  sync.Mutex
	max *big.Int  // guarded by mu
	at  time.Time // guarded by mu
}

// NewGasBound reads the chain's gas price once (failing if it cannot) and
// returns the bound. ctx bounds the later reads; logf (nil for none)
// learns of a failed refresh, after which the last bound is kept.
func NewGasBound(ctx context.Context, src GasPricer, logf logger.Logf) (*GasBound, error) {
	g := &GasBound{src: src, ctx: ctx, logf: logger.OrDiscard(logf), now: time.Now}
	if err := g.refresh(); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *GasBound) refresh() error {
	ctx, cancel := context.WithTimeout(g.ctx, 10*time.Second)
	defer cancel()
	p, err := g.src.GasPriceCeiling(ctx)
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.max, g.at = ClaimCostLimit(p), g.now()
	g.mu.Unlock()
	return nil
}

// Limit is the current bound (use it as TermsCheck.MaxClaimCost). A failed
// refresh keeps the last bound and is retried after GasRefresh, not on
// every hop.
func (g *GasBound) Limit() *big.Int {
	g.mu.Lock()
	stale := g.now().Sub(g.at) > GasRefresh
	g.mu.Unlock()
	if stale {
		if err := g.refresh(); err != nil {
			g.logf("chain: gas price for the claim cost bound: %v (keeping the last bound)", err)
			g.mu.Lock()
			g.at = g.now()
			g.mu.Unlock()
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return new(big.Int).Set(g.max)
}
