// Package payhop connects the wallet's tickets to the circuit layer: it
// implements the client's payment sessions (hop) and the node's (relay)
// with wallet/ticket's Issuer, Receiver and Meter. It is wiring, so that
// hop and relay never import the wallet and the wallet never imports them.
package payhop

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/relay"
	"github.com/pexia-network/pexia/wallet/budget"
	"github.com/pexia-network/pexia/wallet/ticket"
)

// payment is the blob a PAY cell carries.
type payment struct {
	Signer common.Address
	Ticket *contracts.Signed
}

// NodeTerms are a node's prices and credit limits.
type NodeTerms struct {
	PricePerGB *big.Int
	ClaimCost  *big.Int
	// ClaimCostNow, if set, is the claim cost at the moment (it follows
	// the chain's gas price) and is announced instead of ClaimCost. Each
	// circuit is credited at the cost announced to it, since its client
	// priced its tickets by that.
	ClaimCostNow func() *big.Int
	// Window is the credit a client may be behind before it is throttled;
	// DebtLimit the debt at which its circuit is dropped.
	Window, DebtLimit *big.Int
	// Stats, if set, counts the tickets the node accepts and refuses.
	Stats *TicketStats
}

// Payee returns a relay.NodeConfig.Payee crediting tickets to recv.
func Payee(recv *ticket.Receiver, t NodeTerms) func() relay.PayeeSession {
	return func() relay.PayeeSession {
		return &payee{recv: recv, terms: t, meter: ticket.NewMeter(t.PricePerGB, t.Window, t.DebtLimit)}
	}
}

type payee struct {
	recv  *ticket.Receiver
	terms NodeTerms
	meter *ticket.Meter

	mu   sync.Mutex
	cost *big.Int // the claim cost announced to this circuit; guarded by mu
}

func (p *payee) Terms() hop.Terms {
	cost := p.terms.ClaimCost
	if p.terms.ClaimCostNow != nil {
		cost = p.terms.ClaimCostNow()
	}
	p.mu.Lock()
	p.cost = cost
	p.mu.Unlock()
	return hop.Terms{Commit: p.recv.Commit(), PricePerGB: p.terms.PricePerGB, ClaimCost: cost, MinFace: p.recv.MinFace()}
}

func (p *payee) Carry(n int) {
	p.meter.Carry(n)
	p.terms.Stats.carry(n)
}

func (p *payee) State() relay.MeterState {
	switch p.meter.State() {
	case ticket.MeterThrottle:
		return relay.MeterThrottle
	case ticket.MeterDrop:
		return relay.MeterDrop
	}
	return relay.MeterOK
}

func (p *payee) Accept(ctx context.Context, blob []byte) ([32]byte, error) {
	var pm payment
	if err := json.Unmarshal(blob, &pm); err != nil || pm.Ticket == nil || pm.Ticket.FaceValue == nil {
		p.terms.Stats.refused(RefusedMalformed)
		return p.recv.Commit(), fmt.Errorf("payhop: malformed payment: %v", err)
	}
	rc, err := p.recv.Accept(ctx, pm.Signer, pm.Ticket)
	p.terms.Stats.record(rc, err)
	if err != nil {
		return p.recv.Commit(), err
	}
	credit := rc.Credit
	p.mu.Lock()
	cost := p.cost
	p.mu.Unlock()
	if cost != nil && cost.Cmp(pm.Ticket.FaceValue) < 0 {
		credit = ticket.ExpectedValue(new(big.Int).Sub(pm.Ticket.FaceValue, cost), pm.Ticket.Ratio)
	}
	p.terms.Stats.paid(pm.Ticket.FaceValue, ticket.ExpectedValue(pm.Ticket.FaceValue, pm.Ticket.Ratio), credit, cost,
		(float64(pm.Ticket.Ratio)+1)/18446744073709551616.0, rc.Win)
	p.meter.Credit(credit)
	return rc.Commit, nil
}

// Meter exposes a session's meter (for tests and metrics).
func Meter(s relay.PayeeSession) *ticket.Meter {
	if p, ok := s.(*payee); ok {
		return p.meter
	}
	return nil
}

// DefaultWindow is the traffic clients prepay each hop for (ClientTerms.
// WindowBytes): 2 MiB at the hop's price.
const DefaultWindow = 2 << 20

// ClientTerms set how a client pays: tickets of the face Plan chooses for
// each hop (or a flat Face), keeping each hop prepaid for WindowBytes of
// traffic at its price.
type ClientTerms struct {
	// Plan, if set, chooses the tickets of hop k from the terms the node
	// announced (the budget engine's plan: wallet/budget.Engine.Params);
	// its face value is the hop's, and a hop it refuses is refused before
	// anything is paid (a *PlanError). Without Plan every hop gets Face.
	Plan func(k int, node common.Address, terms hop.Terms) (budget.TicketParams, error)
	// Face is the face value of every hop's tickets when Plan is nil.
	Face        *big.Int
	WindowBytes int64
	Expire      time.Duration // ticket validity (default 1 hour)
	// Budget, if set, keeps payments within the user's budget: each ticket
	// waits for the engine's throttle (so a circuit that outruns the
	// budget's spend rate falls behind on payment and its nodes slow it
	// down), none is issued once the budget is spent, and every ticket is
	// recorded in the engine's ledger under its hop, node and App.
	Budget *budget.Engine
	// App names the spender in the ledger (a circuit profile, say).
	App string
	// Attribute, if set with Budget, shares each ticket's expected value
	// among the applications that used the circuit: it is called once for
	// each hop of each new circuit, and the function it returns gives the
	// bytes each application carried on that circuit since its previous
	// call. The ticket is then recorded with RecordIssuedShared under
	// profile App; a ticket whose window carried nothing (the prepayment
	// of a new circuit) waits unattributed until a window that carries
	// bytes takes it over.
	Attribute func() func() []budget.Share
	// OnIssue, if set, learns of every ticket issued, with the hop and node
	// it paid, so that its win can be attributed when the node claims it.
	OnIssue func(t *contracts.Signed, hop int, node common.Address)
	// Check bounds the terms a node may announce (see TermsCheck); nodes
	// whose terms fail it are refused before anything is paid. Nil still
	// bounds the claim cost to 1/MaxClaimShare of Face.
	Check *TermsCheck
}

// BytesWorth is what n bytes cost at pricePerGB.
func BytesWorth(n int64, pricePerGB *big.Int) *big.Int {
	v := new(big.Int).Mul(big.NewInt(n), pricePerGB)
	return v.Quo(v, big.NewInt(1e9))
}

// Payer returns a hop.BuildConfig.Payer issuing tickets from issuer for
// every hop. Every hop then sees the same funder and signer; PerHop pays
// each hop position from its own account.
func Payer(issuer *ticket.Issuer, t ClientTerms) hop.Payer {
	return PerHop(func(int) (*ticket.Issuer, error) { return issuer, nil }, t)
}

// PerHop returns a hop.BuildConfig.Payer paying hop k of a new circuit with
// the issuer issuers(k) returns, so that each hop position can be paid from
// its own lottery account (funder and signer) and no two hops of a circuit
// see the same address.
func PerHop(issuers func(hop int) (*ticket.Issuer, error), t ClientTerms) hop.Payer {
	if t.Expire == 0 {
		t.Expire = time.Hour
	}
	return func(k int, node [20]byte, terms hop.Terms) (hop.PayerSession, error) {
		face := t.Face
		if t.Plan != nil {
			tp, err := t.Plan(k, common.Address(node), terms)
			if err != nil {
				return nil, &PlanError{Node: common.Address(node), Hop: k, MinFace: terms.MinFace, Err: err}
			}
			face = tp.Face
		}
		if err := t.Check.Check(k, common.Address(node), face, terms); err != nil {
			return nil, err
		}
		issuer, err := issuers(k)
		if err != nil {
			return nil, fmt.Errorf("payhop: hop %d: %w", k, err)
		}
		net := new(big.Int).Sub(face, terms.ClaimCost)
		if net.Sign() <= 0 {
			return nil, fmt.Errorf("payhop: face %v does not cover the node's claim cost %v", face, terms.ClaimCost)
		}
		w := BytesWorth(t.WindowBytes, terms.PricePerGB)
		p := &payer{issuer: issuer, hop: k, node: common.Address(node), terms: t, face: face, net: net,
			meter: ticket.NewMeter(terms.PricePerGB, w, w)}
		if t.Attribute != nil && t.Budget != nil {
			p.window = t.Attribute()
		}
		return p, nil
	}
}

// PlanError says that no ticket plan within the budget pays a node: its
// minimum face is above what the budget's accounts back, or its price
// above what is left of the budget. It wraps hop.ErrTermsRefused, so the
// pool builds through another node, and the plan's error (a wallet/budget
// error such as budget.ErrUnderfunded).
type PlanError struct {
	Node    common.Address
	Hop     int
	MinFace *big.Int // the node's announced minimum face; nil if none
	Err     error
}

func (e *PlanError) Error() string {
	if e.MinFace != nil {
		return fmt.Sprintf("payhop: node %s (hop %d, min face %v) refused: no ticket plan within the budget: %v", e.Node, e.Hop, e.MinFace, e.Err)
	}
	return fmt.Sprintf("payhop: node %s (hop %d) refused: no ticket plan within the budget: %v", e.Node, e.Hop, e.Err)
}

func (e *PlanError) Unwrap() []error { return []error{hop.ErrTermsRefused, e.Err} }

type payer struct {
	issuer *ticket.Issuer
	hop    int
	node   common.Address
	terms  ClientTerms
	face   *big.Int // the hop's face value
	net    *big.Int // face minus the node's claim cost: what a win is worth to it
	meter  *ticket.Meter

	// window gives the applications' bytes since the previous ticket
	// (nil without attribution); held is expected value recorded
	// unattributed because its window carried nothing.
	window func() []budget.Share
	mu     sync.Mutex
	held   *big.Int
}

func (p *payer) Carry(n int)   { p.meter.Carry(n) }
func (p *payer) Due() *big.Int { return p.meter.Due() }

func (p *payer) Pay(ctx context.Context, commit [32]byte, amount *big.Int) ([]byte, error) {
	ratio := ticket.RatioFor(amount, p.net)
	face := p.face
	if b := p.terms.Budget; b != nil {
		tp := budget.TicketParams{Hop: p.hop, Face: face, Ratio: ratio, ExpectedValue: ticket.ExpectedValue(face, ratio), Bytes: uint64(max(p.terms.WindowBytes, 0))}
		if err := b.Wait(ctx, tp); err != nil {
			return nil, fmt.Errorf("payhop: budget: %w", err)
		}
	}
	s, err := p.issuer.Issue(ctx, p.node, commit, face, ratio, p.terms.Expire)
	if err != nil {
		return nil, err
	}
	if p.terms.OnIssue != nil {
		p.terms.OnIssue(s, p.hop, p.node)
	}
	if b := p.terms.Budget; b != nil {
		if err := p.record(b, ticket.ExpectedValue(face, ratio), face); err != nil {
			return nil, fmt.Errorf("payhop: budget ledger: %w", err)
		}
	}
	p.meter.Credit(ticket.ExpectedValue(p.net, ratio))
	return json.Marshal(payment{Signer: p.issuer.Signer(), Ticket: s})
}

// record writes an issued ticket to the budget's ledger, shared among the
// applications that carried bytes in its window if attribution is on.
func (p *payer) record(b *budget.Engine, ev, face *big.Int) error {
	if p.window == nil {
		return b.RecordIssued(ev, face, p.hop, p.node, p.terms.App)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	shares := p.window()
	err := b.RecordIssuedShared(budget.Issue{ExpectedValue: ev, Face: face, Hop: p.hop, Node: p.node,
		Profile: p.terms.App, Shares: shares, Held: p.held})
	carried := false
	for _, s := range shares {
		carried = carried || s.Bytes > 0
	}
	if carried {
		p.held = nil
	} else {
		p.held = new(big.Int).Add(orZero(p.held), ev)
	}
	return err
}

func orZero(x *big.Int) *big.Int {
	if x == nil {
		return new(big.Int)
	}
	return x
}
