// Package hopacct gives every hop position of a client's circuits its own
// lottery account, so that no two hops of a circuit see the same funder or
// signer address in the tickets they receive (seed 001 §5.8), and rotates
// those accounts on a fixed public schedule so that a node cannot follow one
// user across epochs by the address it is paid from.
//
// Keys. The funder and signer of position p in epoch e are derived from the
// master funder key with HKDF-SHA256 (RFC 5869), the master key's scalar as
// secret and a label naming the role, the position and the epoch as info.
// Nothing new is stored, so the accounts survive restarts and a reinstall
// with the same master key finds them again; they are never written to the
// keystore (wallet/keys' per-hop signer slots stay for keys a user imports).
// Losing the master key loses them all, as it loses the master's coin.
//
// Schedule. Epochs are Period long (a week by default) and start on Monday
// 00:00 UTC; every client rotates at the same moment, so the rotation time
// itself identifies no one.
//
// Funding. An account of a hop position is topped up to the targets of a
// Policy: the budget engine's (wallet/budget.Engine.Deposit: the balance
// that pays what the throttle can let out until the next top-up with
// probability 1 − δ, and twice the largest face it backs as escrow), or,
// with a flat face, as the single account was before: when less than 50
// faces of usable balance are left, 100 faces of balance and 4 of escrow
// are deposited. The hop funder must pay for that
// and for the gas, so the master sends it what it lacks (a plain transfer)
// and the hop funder deposits. That transfer is on chain: anyone reading the
// chain sees the master fund each hop funder, so per-hop accounts hide the
// master from a node only as long as nobody looks the hop funder up; a user
// who wants more funds the hop funder addresses (Status shows them) from
// unrelated sources, and the transfer is then skipped.
//
// Record. Every transaction sent for a hop account (transfers between the
// master and a hop funder, deposits, warns, withdrawals) is written to the
// Book, with its amount and hash, before it leaves (wallet/chain's
// Journal), and completed with its gas once mined. A crash between the two
// leaves it "sending"; Book.Resolve finds its receipt on the next start.
//
// Retired accounts. Every account ever funded is written to a Book, so its
// funds are never out of sight. Once no ticket of a retired epoch can still
// be claimed, Reclaim warns the whole account, withdraws it to the master
// when the Lottery's delay has passed and returns the hop funder's leftover
// coin.
package hopacct

import (
	"context"
	"crypto/ecdsa"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/internal/atomicfile"
	"github.com/pexia-network/pexia/wallet"
	"github.com/pexia-network/pexia/wallet/chain"
)

// MaxPositions is the number of hop positions a circuit can have.
const MaxPositions = 5

// Legacy is the position of the master's own account (the master as funder,
// LegacySigner as signer), which paid every hop before per-hop accounts. It
// pays no one any more; it is listed and reclaimed so its funds are not lost.
const Legacy = -1

// DefaultPeriod is the default rotation period.
const DefaultPeriod = 7 * 24 * time.Hour

// origin is the start of epoch 0: a Monday, 00:00 UTC.
var origin = time.Date(1970, 1, 5, 0, 0, 0, 0, time.UTC)

// Schedule says when the accounts rotate.
type Schedule struct {
	// Period is the length of an epoch (default DefaultPeriod).
	Period time.Duration
}

// Length is the length of an epoch.
func (s Schedule) Length() time.Duration { return s.period() }

func (s Schedule) period() time.Duration {
	if s.Period <= 0 {
		return DefaultPeriod
	}
	return s.Period
}

// Epoch is the epoch t falls in (0 for times before the origin).
func (s Schedule) Epoch(t time.Time) uint64 {
	d := t.Sub(origin)
	if d < 0 {
		return 0
	}
	return uint64(d / s.period())
}

// Start is when epoch e begins.
func (s Schedule) Start(e uint64) time.Time {
	return origin.Add(time.Duration(e) * s.period())
}

// End is when epoch e ends and the next begins: the rotation time.
func (s Schedule) End(e uint64) time.Time { return s.Start(e + 1) }

// Account names one lottery account of the client.
type Account struct {
	Position int            `json:"position"` // hop index, or Legacy
	Epoch    uint64         `json:"epoch"`
	Funder   common.Address `json:"funder"`
	Signer   common.Address `json:"signer"`
}

// Keys are an account with its funder and signer keys.
type Keys struct {
	Account
	FunderKey *ecdsa.PrivateKey
	SignerKey *ecdsa.PrivateKey
}

// Derive returns the keys of hop position in epoch, derived from master.
// The same inputs always give the same keys; different positions or epochs
// give unrelated ones, none of them the master or its legacy signer.
func Derive(master *ecdsa.PrivateKey, position int, epoch uint64) (*Keys, error) {
	if master == nil {
		return nil, errors.New("hopacct: no master key")
	}
	if position < 0 || position >= MaxPositions {
		return nil, fmt.Errorf("hopacct: hop position %d out of range 0-%d", position, MaxPositions-1)
	}
	fk, err := deriveKey(master, "funder", position, epoch)
	if err != nil {
		return nil, err
	}
	sk, err := deriveKey(master, "signer", position, epoch)
	if err != nil {
		return nil, err
	}
	return &Keys{
		Account: Account{Position: position, Epoch: epoch,
			Funder: crypto.PubkeyToAddress(fk.PublicKey), Signer: crypto.PubkeyToAddress(sk.PublicKey)},
		FunderKey: fk, SignerKey: sk,
	}, nil
}

// deriveKey expands master into the key of role at (position, epoch). A
// result that is not a valid secp256k1 scalar (probability about 2^-128) is
// skipped by counting up.
func deriveKey(master *ecdsa.PrivateKey, role string, position int, epoch uint64) (*ecdsa.PrivateKey, error) {
	secret := crypto.FromECDSA(master)
	var tail [13]byte
	binary.BigEndian.PutUint32(tail[0:4], uint32(position))
	binary.BigEndian.PutUint64(tail[4:12], epoch)
	for ctr := range 256 {
		tail[12] = byte(ctr)
		info := "pexia hop account v1 " + role + "\x00" + string(tail[:])
		b, err := hkdf.Key(sha256.New, secret, []byte("pexia hop accounts"), info, 32)
		if err != nil {
			return nil, err
		}
		if k, err := crypto.ToECDSA(b); err == nil {
			return k, nil
		}
	}
	return nil, errors.New("hopacct: no valid key derived")
}

// LegacySigner is the signer every hop was paid from before per-hop
// accounts: derived from the master alone.
func LegacySigner(master *ecdsa.PrivateKey) (*ecdsa.PrivateKey, error) {
	return crypto.ToECDSA(crypto.Keccak256(crypto.FromECDSA(master), []byte("pexia ticket signer")))
}

// LegacyKeys are the master's own account, as Keys with Position Legacy.
func LegacyKeys(master *ecdsa.PrivateKey) (*Keys, error) {
	sk, err := LegacySigner(master)
	if err != nil {
		return nil, err
	}
	return &Keys{Account: Account{Position: Legacy, Funder: crypto.PubkeyToAddress(master.PublicKey),
		Signer: crypto.PubkeyToAddress(sk.PublicKey)}, FunderKey: master, SignerKey: sk}, nil
}

// Policy is how much an account is kept funded with: either a fixed
// number of faces (Face), or the targets of a budget (Balance, Escrow,
// Low: wallet/budget.Engine.Deposit).
type Policy struct {
	Face *big.Int // ticket face value, for the rule in faces
	// Balance, if set, replaces the rule in faces: when the usable balance
	// is below Low or the usable escrow below 7/8 of Escrow, the account is
	// topped up to Balance of balance and Escrow of escrow. (The targets
	// follow the budget's rate, which moves a little all the time; the
	// eighth spares the chain a deposit for every such move.)
	Balance, Escrow, Low *big.Int
}

func (p Policy) valid() error {
	if p.Balance != nil {
		if p.Balance.Sign() <= 0 || p.Escrow == nil || p.Escrow.Sign() < 0 || p.Low == nil {
			return fmt.Errorf("hopacct: funding targets balance %v, escrow %v, low %v", p.Balance, p.Escrow, p.Low)
		}
		return nil
	}
	if p.Face == nil || p.Face.Sign() <= 0 {
		return fmt.Errorf("hopacct: face value %v is not positive", p.Face)
	}
	return nil
}

// Top-up thresholds, in faces: below Low of usable balance, deposit High of
// balance and Escrow of escrow.
const (
	LowFaces    = 50
	HighFaces   = 100
	EscrowFaces = 4
)

// DepositGas is the gas a hop funder is given for each of its own
// transactions (deposit, warn, withdraw), at twice the fee cap of the
// moment: far above what they use, so a rising base fee does not strand it.
const DepositGas = 150_000

// needs reports what account a should receive: a deposit and its escrow,
// or nil when it holds enough.
func (p Policy) needs(a wallet.Account) (amount, escrow *big.Int) {
	b, e := a.Usable()
	if p.Balance != nil {
		lowE := new(big.Int).Sub(p.Escrow, new(big.Int).Rsh(p.Escrow, 3))
		if b.Cmp(p.Low) >= 0 && e.Cmp(lowE) >= 0 {
			return nil, nil
		}
		addB := new(big.Int).Sub(p.Balance, b)
		if addB.Sign() < 0 {
			addB.SetInt64(0)
		}
		escrow = new(big.Int).Sub(p.Escrow, e)
		if escrow.Sign() < 0 {
			escrow.SetInt64(0)
		}
		amount = addB.Add(addB, escrow)
		if amount.Sign() == 0 {
			return nil, nil
		}
		return amount, escrow
	}
	if b.Cmp(new(big.Int).Mul(p.Face, big.NewInt(LowFaces))) >= 0 {
		return nil, nil
	}
	escrow = new(big.Int).Mul(p.Face, big.NewInt(EscrowFaces))
	amount = new(big.Int).Mul(p.Face, big.NewInt(HighFaces))
	return amount.Add(amount, escrow), escrow
}

// Funding is what Fund did for one account.
type Funding struct {
	Account
	Transferred *big.Int // from the master to the hop funder; nil if none
	Deposited   *big.Int // into the lottery account; nil if it had enough
	Escrow      *big.Int
}

// Fund makes sure account k can pay: when its usable balance is below
// LowFaces faces, the master sends the hop funder what it lacks for the
// deposit and its gas, and the hop funder deposits HighFaces faces of
// balance and EscrowFaces of escrow for its signer.
func Fund(ctx context.Context, cl *chain.Client, master *ecdsa.PrivateKey, k *Keys, p Policy) (Funding, error) {
	f := Funding{Account: k.Account}
	if err := p.valid(); err != nil {
		return f, err
	}
	acct, _, err := cl.Account(ctx, common.Address{}, k.Funder, k.Signer)
	if err != nil {
		return f, fmt.Errorf("lottery account of hop %d: %w", k.Position, err)
	}
	amount, escrow := p.needs(acct)
	if amount == nil {
		return f, nil
	}
	if k.FunderKey != master {
		have, err := cl.Balance(ctx, common.Address{}, k.Funder)
		if err != nil {
			return f, fmt.Errorf("balance of hop %d funder %s: %w", k.Position, k.Funder, err)
		}
		fee, err := cl.FeeCap(ctx)
		if err != nil {
			return f, err
		}
		want := new(big.Int).Mul(fee, big.NewInt(2*DepositGas))
		want.Add(want, amount)
		if have.Cmp(want) < 0 {
			send := new(big.Int).Sub(want, have)
			if err := checkWallet(ctx, cl, master, k, send, fee); err != nil {
				return f, err
			}
			if _, err := cl.Transfer(ctx, master, k.Funder, send); err != nil {
				return f, fmt.Errorf("fund hop %d funder %s: %w", k.Position, k.Funder, err)
			}
			f.Transferred = send
		}
	}
	if err := depositAfterTransfer(ctx, cl, k, amount, escrow, f.Transferred != nil); err != nil {
		return f, fmt.Errorf("fund lottery account of hop %d: %w", k.Position, err)
	}
	f.Deposited, f.Escrow = amount, escrow
	return f, nil
}

// ErrWalletShort means the wallet (the master key's address) holds less
// than funding a hop account takes.
var ErrWalletShort = errors.New("wallet holds too little")

// checkWallet fails with ErrWalletShort, giving the amounts in whole
// coins, when the master cannot send send and pay the transfer's gas.
func checkWallet(ctx context.Context, cl *chain.Client, master *ecdsa.PrivateKey, k *Keys, send, fee *big.Int) error {
	from := crypto.PubkeyToAddress(master.PublicKey)
	have, err := cl.Balance(ctx, common.Address{}, from)
	if err != nil {
		return fmt.Errorf("balance of wallet %s: %w", from, err)
	}
	// A plain transfer's gas, and the chain client's margin on estimates.
	need := new(big.Int).Mul(fee, big.NewInt(transferGas*125/100))
	need.Add(need, send)
	if have.Cmp(need) >= 0 {
		return nil
	}
	return fmt.Errorf("fund hop %d: %w: wallet %s holds %s, funding the hop's lottery account takes %s with gas, %s more",
		k.Position, ErrWalletShort, from, wallet.FormatNative(have), wallet.FormatNative(need), wallet.FormatNative(new(big.Int).Sub(need, have)))
}

// Fund records k's account in the book, then funds it (see Fund). The
// account is booked before the first transaction, so that money sent to
// it never leaves the wallet's sight even if the deposit fails. Both
// clients (pexiad and pexia fetch) fund their hop accounts through it.
func (b *Book) Fund(ctx context.Context, cl *chain.Client, master *ecdsa.PrivateKey, k *Keys, p Policy, now time.Time) (Funding, error) {
	if err := b.Add(k.Account, now); err != nil {
		return Funding{Account: k.Account}, fmt.Errorf("hop accounts: %w", err)
	}
	return Fund(b.Journal(ctx, k.Account, false), cl, master, k, p)
}

// depositAfterTransfer deposits for k. Right after the transfer that paid
// for it has been mined, an endpoint's transaction pool may still judge the
// deposit against the state before that block ("insufficient funds"): the
// pool follows the chain's head a moment after the block is served. The
// deposit is then tried again for a short while, since the money is there.
func depositAfterTransfer(ctx context.Context, cl *chain.Client, k *Keys, amount, escrow *big.Int, transferred bool) error {
	const tries, pause = 10, 200 * time.Millisecond
	for i := 0; ; i++ {
		_, err := cl.Deposit(ctx, k.FunderKey, common.Address{}, k.Signer, amount, escrow)
		if err == nil || !transferred || i == tries-1 || !strings.Contains(err.Error(), "insufficient funds") {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}

// Retention is how long after its epoch ends an account may still owe
// winners: a ticket's validity (an hour) plus the time a node takes to
// claim it.
const Retention = 3 * time.Hour

// Reclaim steps, as Reclaim reports them.
const (
	ReclaimNothing  = "empty"     // nothing left in the account
	ReclaimWarned   = "warned"    // warned now; withdrawable at unlock
	ReclaimWaiting  = "waiting"   // warned earlier; not unlocked yet
	ReclaimWithdrew = "withdrawn" // withdrawn to the master now
)

// Reclaim takes a retired account's money back to the master, one step per
// call: it warns the whole account, then (after the Lottery's delay)
// withdraws it to the master and returns the hop funder's leftover coin. The
// caller makes sure no ticket of the account can still win (Retention past
// its epoch's end). unlock is when a warned amount can leave.
func Reclaim(ctx context.Context, cl *chain.Client, master *ecdsa.PrivateKey, k *Keys, now time.Time) (step string, unlock time.Time, err error) {
	acct, _, err := cl.Account(ctx, common.Address{}, k.Funder, k.Signer)
	if err != nil {
		return "", time.Time{}, err
	}
	total := new(big.Int).Add(orZero(acct.Balance), orZero(acct.Escrow))
	if total.Sign() == 0 {
		if k.FunderKey != master {
			if err := sweep(ctx, cl, master, k); err != nil {
				return "", time.Time{}, err
			}
		}
		return ReclaimNothing, time.Time{}, nil
	}
	if orZero(acct.Warned).Cmp(total) < 0 || acct.Unlock == 0 {
		if k.FunderKey != master {
			if err := topUpGas(ctx, cl, master, k); err != nil {
				return "", time.Time{}, err
			}
		}
		if _, err := cl.Warn(ctx, k.FunderKey, common.Address{}, k.Signer, total); err != nil {
			return "", time.Time{}, fmt.Errorf("warn retired account %s: %w", k.Signer, err)
		}
		acct, _, err = cl.Account(ctx, common.Address{}, k.Funder, k.Signer)
		if err != nil {
			return ReclaimWarned, time.Time{}, err
		}
		return ReclaimWarned, time.Unix(int64(acct.Unlock), 0), nil
	}
	unlock = time.Unix(int64(acct.Unlock), 0)
	if locked, err := stillLocked(ctx, cl, unlock); err != nil || locked {
		return ReclaimWaiting, unlock, err
	}
	if k.FunderKey != master {
		if err := topUpGas(ctx, cl, master, k); err != nil {
			return "", unlock, err
		}
	}
	amount := total
	if w := orZero(acct.Warned); w.Cmp(amount) < 0 {
		amount = w
	}
	if _, err := cl.Withdraw(ctx, k.FunderKey, common.Address{}, k.Signer, amount, crypto.PubkeyToAddress(master.PublicKey)); err != nil {
		if errors.Is(err, chain.ErrReverted) {
			return ReclaimWaiting, unlock, nil // the chain's clock is behind ours
		}
		return "", unlock, fmt.Errorf("withdraw retired account %s: %w", k.Signer, err)
	}
	if k.FunderKey != master {
		if err := sweep(ctx, cl, master, k); err != nil {
			return ReclaimWithdrew, unlock, err
		}
	}
	return ReclaimWithdrew, unlock, nil
}

// stillLocked reports whether funds unlocking at unlock cannot leave yet
// by the chain's clock, the one the Lottery reads: ours (the callers' now)
// may run ahead of it, so that the chain would refuse, or behind it, so
// that the funds would wait longer than they must. Nothing is announced
// or sent for a withdrawal the chain would refuse.
func stillLocked(ctx context.Context, cl *chain.Client, unlock time.Time) (bool, error) {
	head, err := cl.HeadTime(ctx)
	if err != nil {
		return true, fmt.Errorf("the chain's time: %w", err)
	}
	// The withdrawal is mined in a later block than the head, so a head
	// at the unlock suffices.
	return head.Before(unlock), nil
}

// topUpGas gives the hop funder gas for one transaction if it lacks it.
func topUpGas(ctx context.Context, cl *chain.Client, master *ecdsa.PrivateKey, k *Keys) error {
	have, err := cl.Balance(ctx, common.Address{}, k.Funder)
	if err != nil {
		return err
	}
	fee, err := cl.FeeCap(ctx)
	if err != nil {
		return err
	}
	want := new(big.Int).Mul(fee, big.NewInt(2*DepositGas))
	if have.Cmp(want) >= 0 {
		return nil
	}
	_, err = cl.Transfer(ctx, master, k.Funder, new(big.Int).Sub(want, have))
	return err
}

// transferGas is the gas of a plain value transfer.
const transferGas = 21_000

// sweep returns what the hop funder holds, less the transfer's own fee, to
// the master.
func sweep(ctx context.Context, cl *chain.Client, master *ecdsa.PrivateKey, k *Keys) error {
	have, err := cl.Balance(ctx, common.Address{}, k.Funder)
	if err != nil {
		return err
	}
	fee, err := cl.FeeCap(ctx)
	if err != nil {
		return err
	}
	// Gas is estimated with a margin; keep enough for the largest one.
	cost := new(big.Int).Mul(fee, big.NewInt(2*transferGas))
	if have.Cmp(cost) <= 0 {
		return nil
	}
	_, err = cl.Transfer(ctx, k.FunderKey, crypto.PubkeyToAddress(master.PublicKey), new(big.Int).Sub(have, cost))
	return err
}

func orZero(x *big.Int) *big.Int {
	if x == nil {
		return new(big.Int)
	}
	return x
}

// Entry is one account in the Book.
type Entry struct {
	Account
	FundedAt time.Time `json:"funded_at"`
	// Done is set once a retired account was emptied back to the master.
	Done bool `json:"done,omitempty"`
}

// Book is the list of every account the client has funded, kept in a JSON
// file (addresses only: the keys are derived again from the master), and
// the record of the transactions sent for them (Action). It is what lets
// the wallet show and reclaim the funds of retired epochs, and account for
// every on-chain action across a crash.
type Book struct {
	path string

	mu      sync.Mutex
	entries []Entry
	actions []Action
	next    uint64 // last action ID
	observe func(Action)
}

type bookFile struct {
	Version  int      `json:"version"`
	Accounts []Entry  `json:"accounts"`
	Actions  []Action `json:"actions,omitempty"`
}

// OpenBook reads the book at path (an absent file is an empty book).
func OpenBook(path string) (*Book, error) {
	b := &Book{path: path}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return b, nil
	}
	if err != nil {
		return nil, err
	}
	var f bookFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("hop accounts %s: %w", path, err)
	}
	b.entries, b.actions = f.Accounts, f.Actions
	for _, a := range b.actions {
		b.next = max(b.next, a.ID)
	}
	return b, nil
}

// Add records account a as funded (once; later calls keep the first time).
func (b *Book) Add(a Account, at time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.entries {
		if e.Account == a {
			return nil
		}
	}
	b.entries = append(b.entries, Entry{Account: a, FundedAt: at.UTC()})
	return b.saveLocked()
}

// Has reports whether a was funded.
func (b *Book) Has(a Account) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.entries {
		if e.Account == a {
			return true
		}
	}
	return false
}

// SetDone marks a as emptied.
func (b *Book) SetDone(a Account) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range b.entries {
		if b.entries[i].Account == a && !b.entries[i].Done {
			b.entries[i].Done = true
			return b.saveLocked()
		}
	}
	return nil
}

// Entries returns the book, oldest epoch first.
func (b *Book) Entries() []Entry {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := slices.Clone(b.entries)
	slices.SortStableFunc(out, func(x, y Entry) int {
		if x.Epoch != y.Epoch {
			if x.Epoch < y.Epoch {
				return -1
			}
			return 1
		}
		return x.Position - y.Position
	})
	return out
}

func (b *Book) saveLocked() error {
	data, err := json.MarshalIndent(bookFile{Version: 1, Accounts: b.entries, Actions: b.actions}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(b.path, append(data, '\n'), 0o600)
}

// Trim steps, as Trim reports them.
const (
	TrimNothing  = "none"      // nothing unused beyond the policy
	TrimWarned   = "warned"    // unused funds warned now; withdrawable at Unlock
	TrimWaiting  = "waiting"   // warned earlier; not unlocked yet
	TrimWithdrew = "withdrawn" // the warned funds went back to the master now
)

// Trimming is what Trim did for one account.
type Trimming struct {
	Account
	Step   string
	Amount *big.Int  // warned or withdrawn; nil for TrimNothing
	Unlock time.Time // when the warned amount can leave
	Gas    uint64    // gas used by the transaction sent now, if any
}

// Trim gives back what account k holds beyond the budget's policy p (a
// budget lowered, or a month that ended with money unused), one step per
// call: when the usable balance exceeds p.Balance by more than a quarter
// of it, it warns the excess; once the Lottery's delay has passed it
// withdraws the warned amount to the master. Warned funds no longer back
// tickets (wallet.Account.Usable), so the account keeps p.Balance for
// them meanwhile. A flat-face policy is never trimmed. before, if not
// nil, is called just before a transaction is sent ("warn" or "withdraw",
// and its amount).
func Trim(ctx context.Context, cl *chain.Client, master *ecdsa.PrivateKey, k *Keys, p Policy, now time.Time, before func(action string, amount *big.Int)) (Trimming, error) {
	if before == nil {
		before = func(string, *big.Int) {}
	}
	t := Trimming{Account: k.Account, Step: TrimNothing}
	if p.Balance == nil {
		return t, nil
	}
	acct, _, err := cl.Account(ctx, common.Address{}, k.Funder, k.Signer)
	if err != nil {
		return t, err
	}
	if w := orZero(acct.Warned); w.Sign() > 0 && acct.Unlock != 0 {
		t.Amount, t.Unlock = new(big.Int).Set(w), time.Unix(int64(acct.Unlock), 0)
		if locked, err := stillLocked(ctx, cl, t.Unlock); err != nil || locked {
			t.Step = TrimWaiting
			return t, err
		}
		if k.FunderKey != master {
			if err := topUpGas(ctx, cl, master, k); err != nil {
				return t, err
			}
		}
		before("withdraw", w)
		r, err := cl.Withdraw(ctx, k.FunderKey, common.Address{}, k.Signer, w, crypto.PubkeyToAddress(master.PublicKey))
		if err != nil {
			if errors.Is(err, chain.ErrReverted) {
				t.Step = TrimWaiting // the chain's clock is behind ours
				return t, nil
			}
			return t, fmt.Errorf("withdraw unused funds of %s: %w", k.Signer, err)
		}
		t.Step, t.Gas = TrimWithdrew, r.GasUsed
		return t, nil
	}
	b, _ := acct.Usable()
	excess := new(big.Int).Sub(b, p.Balance)
	if excess.Sign() <= 0 || excess.Cmp(new(big.Int).Rsh(p.Balance, 2)) <= 0 {
		return t, nil
	}
	if k.FunderKey != master {
		if err := topUpGas(ctx, cl, master, k); err != nil {
			return t, err
		}
	}
	before("warn", excess)
	r, err := cl.Warn(ctx, k.FunderKey, common.Address{}, k.Signer, excess)
	if err != nil {
		return t, fmt.Errorf("warn unused funds of %s: %w", k.Signer, err)
	}
	t.Step, t.Amount, t.Gas = TrimWarned, excess, r.GasUsed
	if acct, _, err = cl.Account(ctx, common.Address{}, k.Funder, k.Signer); err == nil && acct.Unlock != 0 {
		t.Unlock = time.Unix(int64(acct.Unlock), 0)
	}
	return t, err
}
