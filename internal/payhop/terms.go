package payhop

import (
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/wallet/dir"
)

// Nodes are not trusted. What a node announces in its handshake decides
// what the client pays: the price per GB sets how much is due, and the
// claim cost C sets the win ratio, amount / (face − C), so that a node
// announcing C = face − 1 would be paid a sure winner (the whole face) for
// every payment. The client checks the announced terms before it opens a
// payment session and refuses the hop otherwise (hop.ErrTermsRefused); the
// pool then builds through another node.

// MaxClaimShare bounds a node's claim cost to face/MaxClaimShare (5 %),
// whatever the chain: the share nodes hold themselves to by default
// (pexia-node's payments.min_face_factor, 20). At that bound the client
// pays 1/(1 − 0.05) ≈ 1.053 times the traffic's price.
const MaxClaimShare = 20

// ClaimGas is the gas of a steady-state claim of one ticket, as measured
// by `make bench` (bench/results.json gas.claim_single: 46,914 with the
// Lottery's re-entry lock; the README rounds it to 46,900).
const ClaimGas = 46_914

// ClaimGasSafety is the factor over ClaimGas × gas price that a node's
// claim cost may reach: a node's first claim for a signer takes 81,126 gas
// (1.73 × ClaimGas), nodes budget 50,000 gas a claim by default
// (wallet/chain Options.ClaimGas), and a node's gas price may be a little
// older than the client's ceiling. 4 × 46,914 = 187,656 gas.
const ClaimGasSafety = 4

// ClaimCostLimit is the highest claim cost a client accepts on a chain
// whose recent gas price peaked at gasPrice (chain.Client.GasPriceCeiling):
// gasPrice × ClaimGas × ClaimGasSafety.
func ClaimCostLimit(gasPrice *big.Int) *big.Int {
	return new(big.Int).Mul(gasPrice, big.NewInt(ClaimGas*ClaimGasSafety))
}

// TermsCheck is what a client holds a node's announced terms to. The claim
// cost bound of MaxClaimShare applies even to a zero TermsCheck.
type TermsCheck struct {
	// Registry returns a node's registry entry (as the directory read it
	// when the node was picked); ok false refuses the node. Nil skips the
	// registry checks.
	Registry func(node common.Address) (entry dir.Node, ok bool)
	// Token is the currency the client pays in (the zero address is the
	// chain's coin); a node registered with another one is refused.
	Token common.Address
	// MaxPricePerGB is the user's price cap per hop; nil for none.
	MaxPricePerGB *big.Int
	// MaxClaimCost returns the chain-derived bound on the claim cost
	// (ClaimCostLimit of the chain's recent gas price); nil for none.
	MaxClaimCost func() *big.Int
}

// TermsError says which term of which node was refused. It wraps
// hop.ErrTermsRefused.
type TermsError struct {
	Node      common.Address
	Hop       int
	Term      string   // "registry", "token", "price", "claim cost", "min face"
	Announced *big.Int // the node's figure (nil for registry and token)
	Limit     *big.Int // the most the client accepts (nil for registry and token)
	Reason    string
}

func (e *TermsError) Error() string {
	if e.Announced == nil {
		return fmt.Sprintf("payhop: node %s (hop %d) refused: %s: %s", e.Node, e.Hop, e.Term, e.Reason)
	}
	return fmt.Sprintf("payhop: node %s (hop %d) refused: %s %v above %v (%s)", e.Node, e.Hop, e.Term, e.Announced, e.Limit, e.Reason)
}

func (e *TermsError) Unwrap() error { return hop.ErrTermsRefused }

// Check returns a *TermsError if a client paying tickets of face should
// refuse the terms node announced as hop k, nil if it may pay them.
func (tc *TermsCheck) Check(k int, node common.Address, face *big.Int, t hop.Terms) error {
	refuse := func(term string, announced, limit *big.Int, reason string, a ...any) error {
		return &TermsError{Node: node, Hop: k, Term: term, Announced: announced, Limit: limit, Reason: fmt.Sprintf(reason, a...)}
	}
	price, cost := t.PricePerGB, t.ClaimCost
	if price == nil {
		price = new(big.Int)
	}
	if cost == nil {
		cost = new(big.Int)
	}
	if tc != nil && tc.Registry != nil {
		e, ok := tc.Registry(node)
		switch {
		case !ok:
			return refuse("registry", nil, nil, "no registry entry")
		case e.Token != tc.Token:
			return refuse("token", nil, nil, "registered to be paid in %s, the client pays in %s", e.Token, tc.Token)
		case e.PricePerGB == nil || price.Cmp(e.PricePerGB) > 0:
			return refuse("price", price, e.PricePerGB, "the node's registered price per GB")
		}
	}
	if tc != nil && tc.MaxPricePerGB != nil && price.Cmp(tc.MaxPricePerGB) > 0 {
		return refuse("price", price, tc.MaxPricePerGB, "the user's price cap per GB")
	}
	if share := new(big.Int).Quo(face, big.NewInt(MaxClaimShare)); cost.Cmp(share) > 0 {
		return refuse("claim cost", cost, share, "1/%d of the face value %v", MaxClaimShare, face)
	}
	if t.MinFace != nil && t.MinFace.Cmp(face) > 0 {
		return refuse("min face", t.MinFace, face, "the client's face value: the node would refuse its tickets")
	}
	if tc != nil && tc.MaxClaimCost != nil {
		if limit := tc.MaxClaimCost(); limit != nil && cost.Cmp(limit) > 0 {
			return refuse("claim cost", cost, limit, "%d × %d gas at the chain's recent gas price", ClaimGasSafety, ClaimGas)
		}
	}
	return nil
}
