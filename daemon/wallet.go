package daemon

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"path/filepath"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/internal/logger"
	"github.com/pexia-network/pexia/internal/payhop"
	"github.com/pexia-network/pexia/wallet"
	"github.com/pexia-network/pexia/wallet/budget"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/hopacct"
	"github.com/pexia-network/pexia/wallet/ticket"
)

// payments is the client's side of the market: the master funder key, the
// per-hop lottery accounts derived from it (wallet/hopacct), the budget
// engine and its ledger. The ledger and engine live as long as the daemon
// (the budget is shown while disconnected); issuers need the chain and are
// made on connect.
//
// Each hop position of a circuit is paid from its own account, rotated
// every epoch of sched, so no two hops of a circuit (and no hop across
// epochs) see the same funder or signer, and no hop sees the master.
type payments struct {
	master *ecdsa.PrivateKey
	funder common.Address // the master's address
	sched  hopacct.Schedule
	book   *hopacct.Book
	now    func() time.Time
	// budgetNow is the budget engine's clock: time.Now, or a test's
	// compressed BudgetClock.
	budgetNow func() time.Time
	engine    *budget.Engine
	ledger    *budget.Ledger
	// face, if set, is a flat face value for every hop (pexiad's -face, a
	// test override); nil lets the budget engine plan each hop's tickets
	// and size the accounts.
	face *big.Int
	// horizon is how often the accounts are topped up while connected.
	horizon time.Duration
	// publish sends an API event (the daemon's feed).
	publish func(api.Event)

	// funding serialises what moves the hop accounts' money (topUp and
	// maintain): two top-ups of one account at once would each size
	// their deposit by the balance before the other's, and one would
	// find its funder's coin spent by the other.
	funding sync.Mutex

	mu      sync.Mutex
	keys    map[acctSlot]*hopacct.Keys
	ready   map[acctSlot]bool // funded by this process
	issuers map[issuerSlot]*ticket.Issuer
	legacy  *hopacct.Keys
	started time.Time
}

type acctSlot struct {
	pos   int
	epoch uint64
}

type issuerSlot struct {
	acctSlot
	lottery common.Address
	cl      *chain.Client
}

// openPayments opens the payments of funderKey: the engine keeps monthly
// within calendar months of loc, on clock (nil: real time).
func openPayments(funderKey *ecdsa.PrivateKey, face, monthly *big.Int, loc *time.Location, stateDir string, clock *BudgetClock) (*payments, error) {
	legacy, err := hopacct.LegacyKeys(funderKey)
	if err != nil {
		return nil, err
	}
	p := &payments{
		master:    funderKey,
		funder:    crypto.PubkeyToAddress(funderKey.PublicKey),
		now:       time.Now,
		budgetNow: time.Now,
		face:      face,
		horizon:   time.Minute,
		keys:      map[acctSlot]*hopacct.Keys{},
		ready:     map[acctSlot]bool{},
		issuers:   map[issuerSlot]*ticket.Issuer{},
		legacy:    legacy,
		started:   time.Now(),
	}
	bc := budget.Config{Budget: monthly, Location: loc}
	if clock != nil {
		// The accounts are tended every minute of real time, which is a
		// longer span of the compressed month.
		p.budgetNow, p.horizon = clock.Now, clock.span(p.horizon)
		bc.Clock, bc.Sleep, bc.ClaimWindow = clock.Now, clock.Sleep, clock.claimWindow()
	}
	if p.book, err = hopacct.OpenBook(filepath.Join(stateDir, "hop-accounts.json")); err != nil {
		return nil, err
	}
	p.book.SetObserver(p.chainEvent)
	if p.ledger, err = budget.OpenLedger(filepath.Join(stateDir, "ledger.db")); err != nil {
		return nil, err
	}
	// With a flat face the client refuses nodes whose claim cost is above
	// face/payhop.MaxClaimShare, so that is the most a claim costs; else
	// the claim cost follows the chain's gas price from connect on
	// (setClaimCost).
	claimCost := new(big.Int)
	if face != nil {
		claimCost.Quo(face, big.NewInt(payhop.MaxClaimShare))
	}
	bc.ClaimCost, bc.Ledger = claimCost, p.ledger
	p.engine, err = budget.New(bc)
	if err != nil {
		p.ledger.Close()
		return nil, err
	}
	return p, nil
}

// account returns the keys of hop position pos in epoch.
func (p *payments) account(pos int, epoch uint64) (*hopacct.Keys, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := acctSlot{pos, epoch}
	if k := p.keys[s]; k != nil {
		return k, nil
	}
	k, err := hopacct.Derive(p.master, pos, epoch)
	if err != nil {
		return nil, err
	}
	p.keys[s] = k
	return k, nil
}

// fund makes sure the accounts of the first hops positions of the current
// epoch hold enough to pay with (see hopacct.Fund), and records them in
// the book.
func (p *payments) fund(ctx context.Context, cl *chain.Client, hops int, logf logger.Logf) error {
	_, err := p.topUp(ctx, cl, hops, logf)
	return err
}

// topUp is fund, reporting whether it moved money (a transfer to a
// funder or a deposit).
func (p *payments) topUp(ctx context.Context, cl *chain.Client, hops int, logf logger.Logf) (bool, error) {
	p.funding.Lock()
	defer p.funding.Unlock()
	if err := p.setClaimCost(ctx, cl); err != nil {
		return false, err
	}
	p.resolve(ctx, cl, logf)
	return p.fundEpochMoved(ctx, cl, hops, p.sched.Epoch(p.now()), logf)
}

// setClaimCost gives the engine the claim cost of the moment: the chain's
// recent gas price ceiling times the measured gas of a claim
// (payhop.ClaimGas). Nothing to do with a flat face.
func (p *payments) setClaimCost(ctx context.Context, cl *chain.Client) error {
	if p.face != nil {
		return nil
	}
	gp, err := cl.GasPriceCeiling(ctx)
	if err != nil {
		return fmt.Errorf("gas price for the claim cost: %w", err)
	}
	return p.engine.SetClaimCost(new(big.Int).Mul(gp, big.NewInt(payhop.ClaimGas)))
}

// policy is how the accounts are funded: from the budget (the engine's
// Deposit for the top-up horizon), or in faces of the flat face.
func (p *payments) policy() (hopacct.Policy, error) {
	if p.face != nil {
		return hopacct.Policy{Face: p.face}, nil
	}
	d, err := p.engine.Deposit(p.horizon)
	if err != nil {
		return hopacct.Policy{}, err
	}
	return hopacct.Policy{Balance: d.Balance, Escrow: d.Escrow, Low: d.Low}, nil
}

func (p *payments) fundEpoch(ctx context.Context, cl *chain.Client, hops int, epoch uint64, logf logger.Logf) error {
	_, err := p.fundEpochMoved(ctx, cl, hops, epoch, logf)
	return err
}

// fundEpochMoved is fundEpoch, reporting whether it moved money.
func (p *payments) fundEpochMoved(ctx context.Context, cl *chain.Client, hops int, epoch uint64, logf logger.Logf) (moved bool, err error) {
	pol, err := p.policy()
	if err != nil {
		return false, err
	}
	for pos := range min(hops, hopacct.MaxPositions) {
		k, err := p.account(pos, epoch)
		if err != nil {
			return moved, err
		}
		f, err := p.book.Fund(ctx, cl, p.master, k, pol, p.now())
		if err != nil {
			return moved, err
		}
		moved = moved || f.Transferred != nil || f.Deposited != nil
		p.mu.Lock()
		p.ready[acctSlot{pos, epoch}] = true
		p.mu.Unlock()
		if f.Transferred != nil {
			logf("sent %s to hop %d funder %s (epoch %d)", wallet.FormatNative(f.Transferred), pos, k.Funder, epoch)
		}
		if f.Deposited != nil {
			logf("deposited %s (escrow %s) from hop %d funder %s for signer %s (epoch %d)", wallet.FormatNative(f.Deposited), wallet.FormatNative(f.Escrow), pos, k.Funder, k.Signer, epoch)
		}
	}
	return moved, nil
}

// payingEpoch is the epoch whose account pays hop position pos now: the
// current one once it is funded, until then the newest funded one before it
// (so a rotation waits for its deposits instead of failing circuits).
func (p *payments) payingEpoch(pos int) (uint64, error) {
	cur := p.sched.Epoch(p.now())
	best, found := uint64(0), false
	p.mu.Lock()
	defer p.mu.Unlock()
	for s := range p.ready {
		if s.pos == pos && s.epoch <= cur && (!found || s.epoch > best) {
			best, found = s.epoch, true
		}
	}
	if !found {
		return 0, fmt.Errorf("no funded account for hop %d", pos)
	}
	return best, nil
}

// payer returns the circuit payer for profile app: hop k of each circuit
// is paid from the account of position k of the epoch the circuit is built
// in. It refuses nodes whose terms fail check. Each ticket's expected
// value is shared among the applications by the bytes window(app) says
// they carried.
func (p *payments) payer(n *contracts.Network, cl *chain.Client, app string, window func(profile string) func() []budget.Share, onIssue func(*contracts.Signed, int, common.Address), check *payhop.TermsCheck) hop.Payer {
	issuers := func(k int) (*ticket.Issuer, error) {
		epoch, err := p.payingEpoch(k)
		if err != nil {
			return nil, err
		}
		keys, err := p.account(k, epoch)
		if err != nil {
			return nil, err
		}
		s := issuerSlot{acctSlot{k, epoch}, n.Addresses.Lottery, cl}
		p.mu.Lock()
		defer p.mu.Unlock()
		is := p.issuers[s]
		if is == nil {
			for old := range p.issuers {
				if old.cl != cl { // from an earlier session
					delete(p.issuers, old)
				}
			}
			is = ticket.NewIssuer(ticket.Lottery{ChainID: n.ChainID, Address: n.Addresses.Lottery}, keys.Funder, keys.SignerKey, ticket.ChainAccounts{Client: cl})
			p.issuers[s] = is
		}
		return is, nil
	}
	var attribute func() func() []budget.Share
	if window != nil {
		attribute = func() func() []budget.Share { return window(app) }
	}
	t := payhop.ClientTerms{Face: p.face, WindowBytes: payhop.DefaultWindow, Budget: p.engine, App: app,
		Attribute: attribute, Expire: time.Hour, OnIssue: onIssue, Check: check}
	if p.face == nil {
		t.Plan = func(k int, _ common.Address, terms hop.Terms) (budget.TicketParams, error) {
			return p.plan(cl, k, terms)
		}
	}
	return payhop.PerHop(issuers, t)
}

// plan is the budget engine's ticket plan for hop k of a circuit built
// now, whose node announced terms: the node's price and minimum face (at
// least its claim cost's share, payhop.MaxClaimShare), one ticket per
// payment window, and the depletion risk of the account paying the hop
// held to what it pays until its next top-up.
func (p *payments) plan(cl *chain.Client, k int, terms hop.Terms) (budget.TicketParams, error) {
	epoch, err := p.payingEpoch(k)
	if err != nil {
		return budget.TicketParams{}, err
	}
	keys, err := p.account(k, epoch)
	if err != nil {
		return budget.TicketParams{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	acct, _, err := cl.Account(ctx, common.Address{}, keys.Funder, keys.Signer)
	if err != nil {
		return budget.TicketParams{}, fmt.Errorf("lottery account of hop %d: %w", k, err)
	}
	d, err := p.engine.Deposit(p.horizon)
	if err != nil {
		return budget.TicketParams{}, err
	}
	minFace := new(big.Int).Mul(orZero(terms.ClaimCost), big.NewInt(payhop.MaxClaimShare))
	if terms.MinFace != nil && terms.MinFace.Cmp(minFace) > 0 {
		minFace.Set(terms.MinFace)
	}
	return p.engine.Params(budget.HopQuote{Hop: k, PricePerGB: orZero(terms.PricePerGB), MinFace: minFace,
		BytesPerTicket: payhop.DefaultWindow, Spend: d.RiskSpend()}, acct)
}

// prefundWindow is how long before a rotation the next epoch's accounts
// are funded, so circuits built after it find them ready.
const prefundWindow = 24 * time.Hour

// maintain keeps the accounts in order while connected: it tops up the
// current epoch's accounts, funds the next epoch's ahead of the rotation,
// lists the master's legacy account if it holds money, and reclaims the
// accounts of retired epochs once none of their tickets can still win.
func (p *payments) maintain(ctx context.Context, cl *chain.Client, hops int, logf logger.Logf) {
	p.funding.Lock()
	defer p.funding.Unlock()
	now := p.now()
	cur := p.sched.Epoch(now)
	if err := p.setClaimCost(ctx, cl); err != nil {
		logf("hop accounts: %v", err)
	}
	p.resolve(ctx, cl, logf)
	if err := p.fundEpoch(ctx, cl, hops, cur, logf); err != nil {
		logf("hop accounts: %v", err)
	}
	p.trim(ctx, cl, hops, cur, logf)
	if p.sched.End(cur).Sub(now) < min(prefundWindow, p.sched.Length()/4) {
		if err := p.fundEpoch(ctx, cl, hops, cur+1, logf); err != nil {
			logf("hop accounts of epoch %d: %v", cur+1, err)
		}
	}
	if !p.book.Has(p.legacy.Account) {
		if a, _, err := cl.Account(ctx, common.Address{}, p.legacy.Funder, p.legacy.Signer); err == nil &&
			new(big.Int).Add(orZero(a.Balance), orZero(a.Escrow)).Sign() > 0 {
			if err := p.book.Add(p.legacy.Account, now); err != nil {
				logf("hop accounts: %v", err)
			}
		}
	}
	for _, e := range p.book.Entries() {
		if e.Done || !p.retired(e.Account, now) {
			continue
		}
		k := p.legacy
		if e.Position != hopacct.Legacy {
			var err error
			if k, err = p.account(e.Position, e.Epoch); err != nil {
				continue
			}
			p.mu.Lock()
			delete(p.ready, acctSlot{e.Position, e.Epoch}) // pays no circuit any more
			p.mu.Unlock()
		}
		step, unlock, err := hopacct.Reclaim(p.book.Journal(ctx, k.Account, false), cl, p.master, k, now)
		if err != nil {
			logf("reclaim account of hop %d epoch %d (signer %s): %v", e.Position, e.Epoch, e.Signer, err)
			continue
		}
		switch step {
		case hopacct.ReclaimWarned:
			logf("retired account of hop %d epoch %d (signer %s) warned; back to %s after %s", e.Position, e.Epoch, e.Signer, p.funder, unlock.UTC().Format(time.RFC3339))
		case hopacct.ReclaimWithdrew, hopacct.ReclaimNothing:
			if step == hopacct.ReclaimWithdrew {
				logf("retired account of hop %d epoch %d (signer %s) withdrawn to %s", e.Position, e.Epoch, e.Signer, p.funder)
			}
			if err := p.book.SetDone(e.Account); err != nil {
				logf("hop accounts: %v", err)
			}
		}
	}
}

// chainEvent publishes a transaction the book recorded for a hop account
// (transfers, deposits, and the warns and withdrawals of retired
// accounts) as a "chain" event: before it is sent, and once mined with
// its gas or failed.
func (p *payments) chainEvent(a hopacct.Action) {
	if p.publish == nil {
		return
	}
	ev := api.ChainAction{Action: a.Kind, Phase: a.Phase, Hop: a.Position, Epoch: a.Epoch, Signer: a.Signer.Hex(),
		Amount: api.NewAmount(orZero(a.Amount)), Gas: a.Gas, Tx: a.Tx.Hex()}
	if a.Kind == "transfer" {
		ev.From, ev.To = a.From.Hex(), a.To.Hex()
	}
	if a.Phase == hopacct.PhaseFailed {
		ev.Error = a.Error
	}
	p.publish(api.Event{Type: api.EventChain, Time: time.Now(), Chain: &ev})
}

// resolve completes the book's transactions whose outcome a crash or an
// unreachable chain left unknown (see hopacct.Book.Resolve).
func (p *payments) resolve(ctx context.Context, cl *chain.Client, logf logger.Logf) {
	before := 0
	for _, a := range p.book.Actions() {
		if a.Phase == hopacct.PhaseSending {
			before++
		}
	}
	if before == 0 {
		return
	}
	left, err := p.book.Resolve(ctx, cl)
	if err != nil {
		logf("hop accounts: transactions sent before: %v", err)
		return
	}
	logf("hop accounts: %d of %d transactions sent before found mined and recorded; %d not mined yet", before-left, before, left)
}

// trim gives back what the current epoch's accounts hold beyond what the
// budget's deposit plan wants (a lowered budget, a new month with money
// left): each warn and withdraw is published before it is sent and after
// it is mined, with its gas.
func (p *payments) trim(ctx context.Context, cl *chain.Client, hops int, epoch uint64, logf logger.Logf) {
	pol, err := p.policy()
	if err != nil || pol.Balance == nil {
		return
	}
	for pos := range min(hops, hopacct.MaxPositions) {
		k, err := p.account(pos, epoch)
		if err != nil {
			continue
		}
		ev := func(a api.ChainAction) {
			a.Hop, a.Epoch, a.Signer = pos, epoch, k.Signer.Hex()
			if p.publish != nil {
				p.publish(api.Event{Type: api.EventChain, Time: time.Now(), Chain: &a})
			}
		}
		var action string
		var amount *big.Int
		// Recorded in the book; published here, with the unlock time.
		jctx := p.book.Journal(ctx, k.Account, true)
		t, err := hopacct.Trim(jctx, cl, p.master, k, pol, p.now(), func(a string, x *big.Int) {
			action, amount = a, x
			logf("hop %d account (signer %s) holds %s unused at the budget: %s it", pos, k.Signer, wallet.FormatNative(x), a)
			ev(api.ChainAction{Action: a, Phase: "sending", Amount: api.NewAmount(x)})
		})
		if err != nil {
			logf("hop accounts: %v", err)
			if action != "" {
				ev(api.ChainAction{Action: action, Phase: "failed", Amount: api.NewAmount(amount), Error: err.Error()})
			}
			continue
		}
		if t.Step == hopacct.TrimWarned || t.Step == hopacct.TrimWithdrew {
			ev(api.ChainAction{Action: action, Phase: "done", Amount: api.NewAmount(t.Amount), Gas: t.Gas, UnlockAt: t.Unlock})
		}
	}
}

// retired reports whether no ticket of account a can still win at now: its
// epoch ended (for the legacy account: the daemon started) Retention ago.
func (p *payments) retired(a hopacct.Account, now time.Time) bool {
	end := p.sched.End(a.Epoch)
	if a.Position == hopacct.Legacy {
		end = p.started
	}
	return now.Sub(end) > hopacct.Retention
}

// followed are the lottery accounts whose wins the daemon follows: every
// booked account not yet emptied, and the legacy account.
func (p *payments) followed() []common.Hash {
	out := []common.Hash{contracts.AccountKey(common.Address{}, p.legacy.Funder, p.legacy.Signer)}
	for _, e := range p.book.Entries() {
		if !e.Done && e.Position != hopacct.Legacy {
			out = append(out, contracts.AccountKey(common.Address{}, e.Funder, e.Signer))
		}
	}
	return out
}

func (p *payments) close() error {
	p.engine.Flush()
	return p.ledger.Close()
}
