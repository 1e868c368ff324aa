package hopacct

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/pexia-network/pexia/wallet/chain"
)

// Phases of an Action.
const (
	PhaseSending = "sending" // signed and recorded; not known to be mined
	PhaseDone    = "done"    // mined and succeeded
	PhaseFailed  = "failed"  // refused, or mined and reverted
)

// Action is one transaction the wallet sent for a hop account: a transfer
// from the master to a hop funder (or back), a deposit, a warn or a
// withdrawal. It is written to the Book before the transaction leaves, so
// that a crash between sending and seeing it mined loses nothing: on the
// next start Resolve finds its receipt and completes the entry.
type Action struct {
	ID      uint64         `json:"id"`
	Account                // the hop account it was sent for
	Kind    string         `json:"kind"` // "transfer", "deposit", "warn", "withdraw"
	From    common.Address `json:"from"`
	To      common.Address `json:"to"`
	// Amount is the coin sent, or for a warn or withdrawal its amount.
	Amount *big.Int    `json:"amount"`
	Tx     common.Hash `json:"tx"`
	Nonce  uint64      `json:"nonce"`
	Phase  string      `json:"phase"`
	Gas    uint64      `json:"gas,omitempty"`
	// Fee is the gas paid (gas used × effective price) once mined.
	Fee    *big.Int  `json:"fee,omitempty"`
	Error  string    `json:"error,omitempty"`
	SentAt time.Time `json:"sent_at"`
	DoneAt time.Time `json:"done_at,omitzero"`
}

// maxActions bounds the actions the book keeps: the oldest finished ones
// are dropped first; unfinished ones are always kept.
const maxActions = 1000

// SetObserver makes f see every action as it is recorded and as it
// finishes (nil: none). Actions sent under a quiet Journal are not shown.
func (b *Book) SetObserver(f func(Action)) {
	b.mu.Lock()
	b.observe = f
	b.mu.Unlock()
}

// Journal returns a context whose transactions (sent through
// wallet/chain) are recorded in the book as actions of account a. With
// quiet, warns and withdrawals are recorded but not shown to the observer
// (the caller reports them itself); transfers and deposits always are.
func (b *Book) Journal(ctx context.Context, a Account, quiet bool) context.Context {
	return chain.WithJournal(ctx, &journal{b: b, acct: a, quiet: quiet})
}

type journal struct {
	b     *Book
	acct  Account
	quiet bool
}

func (j *journal) shows(a Action) bool {
	return !j.quiet || (a.Kind != "warn" && a.Kind != "withdraw")
}

func (j *journal) Sending(tx chain.SentTx) error {
	b := j.b
	b.mu.Lock()
	b.next++
	a := Action{ID: b.next, Account: j.acct, Kind: tx.What, From: tx.From, To: tx.To, Amount: new(big.Int).Set(orZero(tx.Amount)),
		Tx: tx.Hash, Nonce: tx.Nonce, Phase: PhaseSending, SentAt: time.Now().UTC()}
	b.actions = append(b.actions, a)
	b.trimLocked()
	err := b.saveLocked()
	obs := b.observe
	b.mu.Unlock()
	if err != nil {
		return err
	}
	if obs != nil && j.shows(a) {
		obs(a)
	}
	return nil
}

func (j *journal) Mined(hash common.Hash, r *types.Receipt, err error) {
	a, ok, _ := j.b.finish(hash, r, err)
	if ok && j.shows(a) {
		j.b.mu.Lock()
		obs := j.b.observe
		j.b.mu.Unlock()
		if obs != nil {
			obs(a)
		}
	}
}

// finish completes the pending action of transaction hash with its
// receipt, or marks it failed when err says it was never sent. Any other
// error leaves it pending (it may still be mined). ok reports a change.
func (b *Book) finish(hash common.Hash, r *types.Receipt, err error) (Action, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range b.actions {
		a := &b.actions[i]
		if a.Tx != hash || a.Phase != PhaseSending {
			continue
		}
		switch {
		case r != nil:
			a.Gas = r.GasUsed
			a.Fee = new(big.Int).Mul(new(big.Int).SetUint64(r.GasUsed), orZero(r.EffectiveGasPrice))
			a.Phase = PhaseDone
			if r.Status != types.ReceiptStatusSuccessful {
				a.Phase, a.Error = PhaseFailed, "reverted"
				if err != nil {
					a.Error = err.Error()
				}
			}
		case errors.Is(err, chain.ErrNotSent):
			a.Phase, a.Error = PhaseFailed, err.Error()
		default:
			if err != nil {
				a.Error = err.Error()
			}
			return *a, false, nil
		}
		a.DoneAt = time.Now().UTC()
		return *a, true, b.saveLocked()
	}
	return Action{}, false, nil
}

// trimLocked drops the oldest finished actions beyond maxActions.
func (b *Book) trimLocked() {
	for len(b.actions) > maxActions {
		i := 0
		for i < len(b.actions) && b.actions[i].Phase == PhaseSending {
			i++
		}
		if i == len(b.actions) {
			return
		}
		b.actions = append(b.actions[:i], b.actions[i+1:]...)
	}
}

// Actions returns the recorded actions, oldest first.
func (b *Book) Actions() []Action {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Action, len(b.actions))
	copy(out, b.actions)
	return out
}

// Resolve looks up the receipt of every action still sending (sent before
// a crash or while the chain was unreachable) and completes it, showing
// each to the observer. It returns how many remain unknown: not mined
// yet, or never sent.
func (b *Book) Resolve(ctx context.Context, cl *chain.Client) (pending int, err error) {
	for _, a := range b.Actions() {
		if a.Phase != PhaseSending {
			continue
		}
		r, rerr := cl.Receipt(ctx, a.Tx)
		if errors.Is(rerr, ethereum.NotFound) || (rerr == nil && r == nil) {
			pending++
			continue
		}
		if rerr != nil {
			return pending, fmt.Errorf("receipt of %s %s: %w", a.Kind, a.Tx, rerr)
		}
		var failed error
		if r.Status != types.ReceiptStatusSuccessful {
			failed = fmt.Errorf("%s %s reverted", a.Kind, a.Tx)
		}
		done, ok, err := b.finish(a.Tx, r, failed)
		if err != nil {
			return pending, err
		}
		b.mu.Lock()
		obs := b.observe
		b.mu.Unlock()
		if ok && obs != nil {
			obs(done)
		}
	}
	return pending, nil
}
