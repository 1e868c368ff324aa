package ticket

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/contracts"
)

// ReceiverConfig configures a Receiver. Zero durations take the defaults.
type ReceiverConfig struct {
	Lottery   Lottery
	Recipient common.Address // the node's address; tickets must pay it
	Accounts  AccountSource
	Store     *Store
	// MinFace is the smallest face value accepted; below it a claim's gas
	// eats too much of the win.
	MinFace *big.Int
	// MinFaceNow, if set, is the smallest face value at the moment (it
	// follows the gas price), instead of MinFace.
	MinFaceNow func() *big.Int
	// ClaimCost is the expected cost of claiming one winner, deducted from
	// each ticket's credit in proportion to its win probability.
	ClaimCost func() *big.Int
	// ClaimMargin is the time a ticket must still be valid to be accepted,
	// so a winner can still be claimed (default 10 minutes).
	ClaimMargin time.Duration
	// MaxSkew is how far in the future a ticket's issue time may be (default 5 minutes).
	MaxSkew time.Duration
	// RotateEvery retires the secret after this long even without a win (default 1 hour).
	RotateEvery time.Duration
	// Grace is how long a retired commitment is still accepted, and how
	// long its winners wait before a claim makes the secret public (default 15 s).
	Grace time.Duration
	Now   func() time.Time
}

// Receipt is the outcome of an accepted ticket.
type Receipt struct {
	Credit *big.Int    // expected value minus the expected claim cost
	Win    bool        // the ticket won and is stored
	Commit common.Hash // the commitment the client should use from now on
}

type secret struct {
	reveal, commit common.Hash
	created        time.Time
	retired        time.Time // zero while current
}

// Receiver verifies and credits tickets paid to one node.
type Receiver struct {
	cfg ReceiverConfig

	mu        sync.Mutex
	secrets   []*secret                 // last is current; guarded by mu
	marks     map[common.Address]uint64 // highest nonce accepted per signer; guarded by mu
	dirty     map[common.Address]uint64 // marks not yet on disk; guarded by mu
	lastFlush time.Time
	pending   map[common.Hash]*big.Int // account key -> face of unpaid winners; guarded by mu
}

// NewReceiver loads marks and unpaid winners from the store and draws a fresh secret.
func NewReceiver(cfg ReceiverConfig) (*Receiver, error) {
	if cfg.ClaimMargin == 0 {
		cfg.ClaimMargin = 10 * time.Minute
	}
	if cfg.MaxSkew == 0 {
		cfg.MaxSkew = 5 * time.Minute
	}
	if cfg.RotateEvery == 0 {
		cfg.RotateEvery = time.Hour
	}
	if cfg.Grace == 0 {
		cfg.Grace = 15 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MinFace == nil {
		cfg.MinFace = new(big.Int)
	}
	if cfg.ClaimCost == nil {
		cfg.ClaimCost = func() *big.Int { return new(big.Int) }
	}
	marks, err := cfg.Store.Marks()
	if err != nil {
		return nil, fmt.Errorf("ticket receiver: %w", err)
	}
	st := WinnerPending
	ws, err := cfg.Store.Winners(&st)
	if err != nil {
		return nil, fmt.Errorf("ticket receiver: %w", err)
	}
	r := &Receiver{cfg: cfg, marks: marks, dirty: map[common.Address]uint64{}, pending: map[common.Hash]*big.Int{}}
	for _, w := range ws {
		r.addPending(w)
	}
	if err := r.rotateLocked(cfg.Now()); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Receiver) addPending(w *Winner) {
	k := contracts.AccountKey(w.Ticket.Token, w.Ticket.Funder, w.Signer)
	if r.pending[k] == nil {
		r.pending[k] = new(big.Int)
	}
	r.pending[k].Add(r.pending[k], w.Ticket.FaceValue)
}

// Settled tells the receiver a stored winner is no longer pending (paid,
// refused or expired), so it stops counting against its funder's account.
func (r *Receiver) Settled(w *Winner) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := contracts.AccountKey(w.Ticket.Token, w.Ticket.Funder, w.Signer)
	if p := r.pending[k]; p != nil {
		p.Sub(p, w.Ticket.FaceValue)
		if p.Sign() <= 0 {
			delete(r.pending, k)
		}
	}
}

func (r *Receiver) rotateLocked(now time.Time) error {
	var s secret
	if _, err := rand.Read(s.reveal[:]); err != nil {
		return fmt.Errorf("ticket receiver: draw secret: %w", err)
	}
	s.commit = contracts.Commit(s.reveal)
	s.created = now
	if n := len(r.secrets); n > 0 {
		r.secrets[n-1].retired = now
	}
	// Forget secrets retired longer ago than the grace period.
	keep := r.secrets[:0]
	for _, old := range r.secrets {
		if now.Sub(old.retired) <= r.cfg.Grace {
			keep = append(keep, old)
		}
	}
	r.secrets = append(keep, &s)
	return nil
}

// Commit is the commitment clients should put in their next tickets.
func (r *Receiver) Commit() common.Hash {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.cfg.Now()
	if cur := r.secrets[len(r.secrets)-1]; now.Sub(cur.created) >= r.cfg.RotateEvery {
		if err := r.rotateLocked(now); err != nil {
			return cur.commit
		}
	}
	return r.secrets[len(r.secrets)-1].commit
}

// MinFace is the smallest face value the receiver accepts now.
func (r *Receiver) MinFace() *big.Int {
	if r.cfg.MinFaceNow != nil {
		if m := r.cfg.MinFaceNow(); m != nil {
			return m
		}
	}
	return r.cfg.MinFace
}

// Accept verifies s, sent by a client that announced signer as its ticket
// key, and credits it. A winning ticket is on disk when Accept returns.
func (r *Receiver) Accept(ctx context.Context, signer common.Address, s *contracts.Signed) (Receipt, error) {
	cfg := &r.cfg
	if s.Recipient != cfg.Recipient || s.Token != cfg.Lottery.Token {
		return Receipt{}, fmt.Errorf("%w: pays %s in %s", ErrWrongRecipient, s.Recipient, s.Token)
	}
	got, digest, err := s.Signer(cfg.Lottery.ChainID, cfg.Lottery.Address)
	if err != nil {
		return Receipt{}, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	if got != signer {
		return Receipt{}, fmt.Errorf("%w: signed by %s, want %s", ErrBadSignature, got, signer)
	}
	now := cfg.Now()
	if exp := time.Unix(int64(s.Expiry()), 0); now.Add(cfg.ClaimMargin).After(exp) {
		return Receipt{}, fmt.Errorf("%w: expires %s", ErrExpired, exp.UTC().Format(time.RFC3339))
	}
	if iss := time.Unix(int64(s.Issued), 0); iss.After(now.Add(cfg.MaxSkew)) {
		return Receipt{}, fmt.Errorf("%w: issued in the future (%s)", ErrExpired, iss.UTC().Format(time.RFC3339))
	}
	if min := r.MinFace(); s.FaceValue.Cmp(min) < 0 {
		return Receipt{}, fmt.Errorf("%w: %v < %v", ErrFaceTooLow, s.FaceValue, min)
	}
	cost := cfg.ClaimCost()
	if s.FaceValue.Cmp(cost) <= 0 {
		return Receipt{}, fmt.Errorf("%w: %v does not cover the claim cost %v", ErrFaceTooLow, s.FaceValue, cost)
	}

	r.mu.Lock()
	sec := r.secretLocked(s.Commit, now)
	mark := r.marks[signer]
	r.mu.Unlock()
	if sec == nil {
		return Receipt{}, fmt.Errorf("%w: unknown or retired commitment %s", ErrWrongRecipient, s.Commit)
	}
	if s.Nonce <= mark {
		return Receipt{}, fmt.Errorf("%w: nonce %d <= %d", ErrReplayed, s.Nonce, mark)
	}

	acct, err := cfg.Accounts.Account(ctx, s.Token, s.Funder, signer)
	if err != nil {
		return Receipt{}, fmt.Errorf("%w: %v", ErrChain, err)
	}
	balance, escrow := acct.Usable()
	key := contracts.AccountKey(s.Token, s.Funder, signer)

	r.mu.Lock()
	defer r.mu.Unlock()
	// Check again under the lock: another ticket from this signer may have
	// been accepted meanwhile.
	if s.Nonce <= r.marks[signer] {
		return Receipt{}, fmt.Errorf("%w: nonce %d <= %d", ErrReplayed, s.Nonce, r.marks[signer])
	}
	// Unclaimed winners will come out of the balance; the escrow rule
	// (face ≤ escrow/2) is about each ticket on its own.
	if p := r.pending[key]; p != nil {
		balance.Sub(balance, p)
	}
	avail := escrow.Rsh(escrow, 1)
	if balance.Cmp(avail) < 0 {
		avail = balance
	}
	if s.FaceValue.Cmp(avail) > 0 {
		return Receipt{}, fmt.Errorf("%w: face %v, account can honour %v", ErrUnderfunded, s.FaceValue, avail)
	}

	rc := Receipt{Credit: ExpectedValue(new(big.Int).Sub(s.FaceValue, cost), s.Ratio)}
	if contracts.Wins(sec.reveal, digest, s.Ratio) {
		notBefore := now.Add(cfg.Grace)
		if !sec.retired.IsZero() {
			notBefore = sec.retired.Add(cfg.Grace)
		}
		w := &Winner{Ticket: *s, Reveal: sec.reveal, Digest: digest, Signer: signer, NotBefore: notBefore}
		if err := cfg.Store.AddWinner(w); err != nil {
			// Not stored, not acknowledged: the client's nonce stays usable.
			return Receipt{}, fmt.Errorf("ticket receiver: store winner: %w", err)
		}
		r.addPending(w)
		rc.Win = true
		if sec.retired.IsZero() {
			// The claim will make this secret public: stop using it.
			if err := r.rotateLocked(now); err != nil {
				return Receipt{}, err
			}
		}
	} else {
		r.dirty[signer] = s.Nonce
	}
	r.marks[signer] = s.Nonce
	if now.Sub(r.lastFlush) >= time.Second && len(r.dirty) > 0 {
		r.flushLocked(now)
	}
	rc.Commit = r.secrets[len(r.secrets)-1].commit
	return rc, nil
}

func (r *Receiver) secretLocked(commit common.Hash, now time.Time) *secret {
	for _, s := range r.secrets {
		if s.commit == commit && (s.retired.IsZero() || now.Sub(s.retired) <= r.cfg.Grace) {
			return s
		}
	}
	return nil
}

// flushLocked writes the marks of losing tickets. They are kept in memory
// between flushes: a crash can forget at most a second of losers, which a
// client could then replay for that second's worth of credit; winners'
// marks are always written with the winner.
func (r *Receiver) flushLocked(now time.Time) error {
	r.lastFlush = now
	if err := r.cfg.Store.SaveMarks(r.dirty); err != nil {
		return err
	}
	r.dirty = map[common.Address]uint64{}
	return nil
}

// Flush writes pending marks now (call before shutdown).
func (r *Receiver) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.flushLocked(r.cfg.Now())
}
