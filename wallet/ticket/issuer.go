package ticket

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/wallet"
)

// AccountSource returns the current state of a lottery account. The chain
// client implements it with a cache kept fresh from contract events.
type AccountSource interface {
	Account(ctx context.Context, token, funder, signer common.Address) (wallet.Account, error)
}

// Lottery names the contract tickets are drawn on.
type Lottery struct {
	ChainID *big.Int
	Address common.Address
	Token   common.Address // 0 = native coin
}

// Issued is what an Issuer has sent one recipient.
type Issued struct {
	Tickets  uint64
	Expected *big.Int // sum of expected values
	Face     *big.Int // sum of face values
}

// Issuer signs tickets for one (funder, signer) account.
type Issuer struct {
	lot      Lottery
	funder   common.Address
	key      *ecdsa.PrivateKey
	signer   common.Address
	accounts AccountSource
	now      func() time.Time

	mu     sync.Mutex
	nonce  uint64
	issued map[common.Address]*Issued // guarded by mu
}

// NewIssuer returns an Issuer for the account (lot.Token, funder, key's address).
func NewIssuer(lot Lottery, funder common.Address, key *ecdsa.PrivateKey, accounts AccountSource) *Issuer {
	return &Issuer{
		lot: lot, funder: funder, key: key, signer: crypto.PubkeyToAddress(key.PublicKey),
		accounts: accounts, now: time.Now, issued: map[common.Address]*Issued{},
	}
}

// SetClock replaces the clock that stamps issue times and nonces (tests
// compress time with it). Call before the first Issue.
func (i *Issuer) SetClock(now func() time.Time) { i.now = now }

// Signer is the address tickets are signed by.
func (i *Issuer) Signer() common.Address { return i.signer }

// Funder is the account's funder.
func (i *Issuer) Funder() common.Address { return i.funder }

// Issue signs a ticket paying face with win ratio to recipient's commitment,
// valid for expire. It refuses a face value above what the account can
// honour right now.
func (i *Issuer) Issue(ctx context.Context, recipient common.Address, commit common.Hash, face *big.Int, ratio uint64, expire time.Duration) (*contracts.Signed, error) {
	acct, err := i.accounts.Account(ctx, i.lot.Token, i.funder, i.signer)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrChain, err)
	}
	if max := acct.MaxFace(); face.Cmp(max) > 0 {
		return nil, fmt.Errorf("%w: face %v > %v", ErrFaceTooHigh, face, max)
	}
	now := i.now()
	i.mu.Lock()
	// Nanosecond clock nonces stay increasing across restarts; the counter
	// keeps them increasing within one.
	i.nonce = max(i.nonce+1, uint64(now.UnixNano()))
	nonce := i.nonce
	i.mu.Unlock()
	t := contracts.Ticket{
		Token: i.lot.Token, Recipient: recipient, Commit: commit,
		Issued: uint64(now.Unix()), Nonce: nonce, FaceValue: new(big.Int).Set(face),
		Expire: uint32(expire / time.Second), Ratio: ratio, Funder: i.funder,
	}
	s, err := contracts.Sign(t, i.lot.ChainID, i.lot.Address, i.key)
	if err != nil {
		return nil, err
	}
	i.mu.Lock()
	is := i.issued[recipient]
	if is == nil {
		is = &Issued{Expected: new(big.Int), Face: new(big.Int)}
		i.issued[recipient] = is
	}
	is.Tickets++
	is.Expected.Add(is.Expected, ExpectedValue(face, ratio))
	is.Face.Add(is.Face, face)
	i.mu.Unlock()
	return s, nil
}

// IssuedTo reports what has been issued to recipient so far.
func (i *Issuer) IssuedTo(recipient common.Address) Issued {
	i.mu.Lock()
	defer i.mu.Unlock()
	is := i.issued[recipient]
	if is == nil {
		return Issued{Expected: new(big.Int), Face: new(big.Int)}
	}
	return Issued{is.Tickets, new(big.Int).Set(is.Expected), new(big.Int).Set(is.Face)}
}

var two64 = new(big.Int).Lsh(big.NewInt(1), 64)

// ExpectedValue is face × (ratio+1) / 2^64, rounded down.
func ExpectedValue(face *big.Int, ratio uint64) *big.Int {
	v := new(big.Int).SetUint64(ratio)
	v.Add(v, big.NewInt(1))
	v.Mul(v, face)
	return v.Quo(v, two64)
}

// RatioFor returns the ratio whose win probability is closest to
// expected/face (both in smallest units), and 0 when expected is 0.
func RatioFor(expected, face *big.Int) uint64 {
	if expected.Sign() <= 0 || face.Sign() <= 0 {
		return 0
	}
	if expected.Cmp(face) >= 0 {
		return ^uint64(0)
	}
	r := new(big.Int).Mul(expected, two64)
	r.Quo(r, face)
	if r.Sign() > 0 {
		r.Sub(r, big.NewInt(1))
	}
	return r.Uint64()
}
