package ticket

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/lottery"
	"github.com/pexia-network/pexia/internal/logger"
)

// Outcome is what the chain did with one claimed ticket.
type Outcome struct {
	Paid   *big.Int         // amount credited to the recipient; nil or 0 if refused
	Reason contracts.Reason // why it was refused, ReasonNone if paid
}

// Claimer submits claims on chain. Claim sends tickets in one transaction
// and returns the outcome per ticket digest. A ticket already paid by an
// earlier transaction (a claim that was mined before a crash) must be
// reported as paid, not replayed.
type Claimer interface {
	Claim(ctx context.Context, tickets []lottery.LotteryTicket) (map[common.Hash]Outcome, error)
}

// RedeemerConfig configures a Redeemer. Zero values take the defaults.
type RedeemerConfig struct {
	Store    *Store
	Claimer  Claimer
	Receiver *Receiver // told when winners settle; optional
	// ClaimCost is the cost of a claim transaction for one ticket; a batch
	// is sent only when its face value exceeds what it costs.
	ClaimCost func() *big.Int
	// BatchSize is the most tickets per transaction (default 32).
	BatchSize int
	// MaxWait is how long a winner may wait for company in a batch (default 10 minutes).
	MaxWait time.Duration
	// ExpiryMargin: a winner this close to expiry is claimed at once (default 10 minutes).
	ExpiryMargin time.Duration
	// Interval between passes in Run (default 5 s); failures back off up to 1 minute.
	Interval time.Duration
	Now      func() time.Time
	Logf     logger.Logf
}

// Redeemer claims stored winners.
type Redeemer struct{ cfg RedeemerConfig }

// NewRedeemer returns a Redeemer; it does nothing until RedeemOnce or Run.
func NewRedeemer(cfg RedeemerConfig) *Redeemer {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 32
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = 10 * time.Minute
	}
	if cfg.ExpiryMargin == 0 {
		cfg.ExpiryMargin = 10 * time.Minute
	}
	if cfg.Interval == 0 {
		cfg.Interval = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ClaimCost == nil {
		cfg.ClaimCost = func() *big.Int { return new(big.Int) }
	}
	cfg.Logf = logger.OrDiscard(cfg.Logf)
	return &Redeemer{cfg: cfg}
}

// RedeemOnce makes one pass: expires what can no longer be claimed, and
// claims what is due. It returns the amount paid.
func (r *Redeemer) RedeemOnce(ctx context.Context, force bool) (*big.Int, error) {
	cfg := &r.cfg
	st := WinnerPending
	ws, err := cfg.Store.Winners(&st)
	if err != nil {
		return nil, err
	}
	now := cfg.Now()
	var due []*Winner
	urgent := force
	value := new(big.Int)
	for _, w := range ws {
		exp := time.Unix(int64(w.Ticket.Expiry()), 0)
		if !now.Before(exp) {
			w.State = WinnerExpired
			if err := r.settle(w); err != nil {
				return nil, err
			}
			cfg.Logf("winner %s expired unclaimed after %d attempts (%s)", w.Digest.TerminalString(), w.Attempts, w.LastError)
			continue
		}
		if now.Before(w.NotBefore) {
			continue
		}
		due = append(due, w)
		value.Add(value, w.Ticket.FaceValue)
		if exp.Sub(now) <= cfg.ExpiryMargin || now.Sub(time.Unix(int64(w.Ticket.Issued), 0)) >= cfg.MaxWait {
			urgent = true
		}
	}
	paid := new(big.Int)
	if len(due) == 0 || (!urgent && len(due) < cfg.BatchSize) {
		return paid, nil
	}
	var errs []error
	for start := 0; start < len(due); start += cfg.BatchSize {
		batch := due[start:min(start+cfg.BatchSize, len(due))]
		face := new(big.Int)
		for _, w := range batch {
			face.Add(face, w.Ticket.FaceValue)
		}
		if cost := new(big.Int).Mul(cfg.ClaimCost(), big.NewInt(int64(len(batch)))); face.Cmp(cost) <= 0 {
			cfg.Logf("holding %d winners: face %v does not cover gas %v", len(batch), face, cost)
			continue
		}
		p, err := r.claim(ctx, batch)
		paid.Add(paid, p)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return paid, errors.Join(errs...)
}

func (r *Redeemer) claim(ctx context.Context, batch []*Winner) (*big.Int, error) {
	in := make([]lottery.LotteryTicket, 0, len(batch))
	for _, w := range batch {
		lt, err := w.Ticket.Claim(w.Reveal)
		if err != nil {
			return new(big.Int), err
		}
		in = append(in, lt)
	}
	out, err := r.cfg.Claimer.Claim(ctx, in)
	paid := new(big.Int)
	if err != nil {
		for _, w := range batch {
			w.Attempts++
			w.LastError = err.Error()
			if uerr := r.cfg.Store.UpdateWinner(w); uerr != nil {
				return paid, errors.Join(err, uerr)
			}
		}
		return paid, fmt.Errorf("claim %d winners: %w", len(batch), err)
	}
	for _, w := range batch {
		o, ok := out[w.Digest]
		w.Attempts++
		switch {
		case !ok:
			w.LastError = "missing from claim result"
			if err := r.cfg.Store.UpdateWinner(w); err != nil {
				return paid, err
			}
			continue
		case o.Reason == contracts.ReasonNone:
			w.State, w.Paid = WinnerPaid, o.Paid
			paid.Add(paid, o.Paid)
		default:
			w.State, w.Reason = WinnerRejected, o.Reason
			r.cfg.Logf("winner %s refused on chain: %v", w.Digest.TerminalString(), o.Reason)
		}
		if err := r.settle(w); err != nil {
			return paid, err
		}
	}
	return paid, nil
}

func (r *Redeemer) settle(w *Winner) error {
	if err := r.cfg.Store.UpdateWinner(w); err != nil {
		return err
	}
	if r.cfg.Receiver != nil {
		r.cfg.Receiver.Settled(w)
	}
	return nil
}

// Run redeems until ctx ends, backing off after failures.
func (r *Redeemer) Run(ctx context.Context) error {
	wait := r.cfg.Interval
	for {
		if _, err := r.RedeemOnce(ctx, false); err != nil {
			r.cfg.Logf("redeem: %v (retrying in %v)", err, wait)
			wait = min(wait*2, time.Minute)
		} else {
			wait = r.cfg.Interval
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}
