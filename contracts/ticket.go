package contracts

import (
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/contracts/lottery"
)

// Errors returned when decoding or checking a ticket.
var (
	// ErrFaceValue is returned for a face value that is negative or does not fit in 128 bits.
	ErrFaceValue = errors.New("contracts: ticket face value out of range")
	// ErrSignature is returned for a signature that does not recover to a key.
	ErrSignature = errors.New("contracts: bad ticket signature")
)

// secp256k1n/2: signatures with a larger s are malleable and the Lottery
// refuses them.
var halfN = new(big.Int).Rsh(crypto.S256().Params().N, 1)

// Ticket is a lottery ticket as the Lottery contract sees it. FaceValue is in
// the token's smallest unit. The recipient wins if the low 64 bits of
// keccak256(reveal, digest) are at most Ratio, that is with probability
// (Ratio+1)/2^64.
type Ticket struct {
	Token     common.Address // 0 = native coin
	Recipient common.Address
	Commit    common.Hash // keccak256 of the recipient's secret reveal
	Issued    uint64      // unix seconds
	Nonce     uint64      // above every nonce this signer sent this recipient before
	FaceValue *big.Int    // uint128
	Expire    uint32      // seconds after Issued
	Ratio     uint64
	Funder    common.Address
}

// Packed returns the two packed words of the ticket as the contract reads them:
// packed0 = issued:64 | nonce:64 | faceValue:128 and
// packed1 = expire:32 | ratio:64 | funder:160.
func (t *Ticket) Packed() (packed0, packed1 [32]byte, err error) {
	if t.FaceValue == nil || t.FaceValue.Sign() < 0 || t.FaceValue.BitLen() > 128 {
		return packed0, packed1, ErrFaceValue
	}
	binary.BigEndian.PutUint64(packed0[0:8], t.Issued)
	binary.BigEndian.PutUint64(packed0[8:16], t.Nonce)
	t.FaceValue.FillBytes(packed0[16:32])
	binary.BigEndian.PutUint32(packed1[0:4], t.Expire)
	binary.BigEndian.PutUint64(packed1[4:12], t.Ratio)
	copy(packed1[12:32], t.Funder[:])
	return packed0, packed1, nil
}

// Digest is the hash the signer signs: EIP-191 version 0 data bound to the
// lottery contract and the chain.
func (t *Ticket) Digest(chainID *big.Int, lotteryAddr common.Address) (common.Hash, error) {
	p0, p1, err := t.Packed()
	if err != nil {
		return common.Hash{}, err
	}
	var id [32]byte
	chainID.FillBytes(id[:])
	buf := make([]byte, 0, 190)
	buf = append(buf, 0x19, 0x00)
	buf = append(buf, lotteryAddr[:]...)
	buf = append(buf, id[:]...)
	buf = append(buf, t.Token[:]...)
	buf = append(buf, t.Recipient[:]...)
	buf = append(buf, t.Commit[:]...)
	buf = append(buf, p0[:]...)
	buf = append(buf, p1[:]...)
	return crypto.Keccak256Hash(buf), nil
}

// Expiry is the unix time after which the ticket no longer pays.
func (t *Ticket) Expiry() uint64 { return t.Issued + uint64(t.Expire) }

// Signed is a ticket with its signer's compact (EIP-2098) signature.
type Signed struct {
	Ticket
	R  common.Hash
	VS common.Hash // s with the recovery bit in the top bit
}

// Sign signs t for the lottery at lotteryAddr on chainID.
func Sign(t Ticket, chainID *big.Int, lotteryAddr common.Address, key *ecdsa.PrivateKey) (*Signed, error) {
	d, err := t.Digest(chainID, lotteryAddr)
	if err != nil {
		return nil, err
	}
	sig, err := crypto.Sign(d[:], key) // [R || S || V], low-s, V in {0,1}
	if err != nil {
		return nil, fmt.Errorf("contracts: sign ticket: %w", err)
	}
	s := &Signed{Ticket: t}
	copy(s.R[:], sig[0:32])
	copy(s.VS[:], sig[32:64])
	s.VS[0] |= sig[64] << 7
	return s, nil
}

// Signer recovers the address that signed s, refusing malleable signatures.
func (s *Signed) Signer(chainID *big.Int, lotteryAddr common.Address) (common.Address, common.Hash, error) {
	d, err := s.Digest(chainID, lotteryAddr)
	if err != nil {
		return common.Address{}, d, err
	}
	sig := make([]byte, 65)
	copy(sig[0:32], s.R[:])
	copy(sig[32:64], s.VS[:])
	sig[64] = s.VS[0] >> 7
	sig[32] &= 0x7f
	if new(big.Int).SetBytes(sig[32:64]).Cmp(halfN) > 0 {
		return common.Address{}, d, ErrSignature
	}
	pub, err := crypto.SigToPub(d[:], sig)
	if err != nil {
		return common.Address{}, d, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	return crypto.PubkeyToAddress(*pub), d, nil
}

// Commit returns the commitment to a reveal.
func Commit(reveal common.Hash) common.Hash { return crypto.Keccak256Hash(reveal[:]) }

// Draw returns the ticket's lottery draw for a reveal; the ticket wins when
// Draw(...) <= Ratio.
func Draw(reveal, digest common.Hash) uint64 {
	h := crypto.Keccak256(reveal[:], digest[:])
	return binary.BigEndian.Uint64(h[24:32])
}

// Wins reports whether the ticket with digest wins for reveal.
func Wins(reveal, digest common.Hash, ratio uint64) bool { return Draw(reveal, digest) <= ratio }

// Claim returns the calldata form of a signed ticket with its reveal.
func (s *Signed) Claim(reveal common.Hash) (lottery.LotteryTicket, error) {
	p0, p1, err := s.Packed()
	if err != nil {
		return lottery.LotteryTicket{}, err
	}
	return lottery.LotteryTicket{
		Reveal:  reveal,
		Packed0: new(big.Int).SetBytes(p0[:]),
		Packed1: new(big.Int).SetBytes(p1[:]),
		R:       s.R,
		Vs:      s.VS,
	}, nil
}

// Reason is why the Lottery skipped a ticket in a claim (its Rejected event).
type Reason uint8

// Reasons, in the contract's order.
const (
	ReasonNone Reason = iota
	ReasonExpired
	ReasonBadSignature
	ReasonNotWinner
	ReasonReplayed
	ReasonUnfunded
)

func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return "none"
	case ReasonExpired:
		return "expired"
	case ReasonBadSignature:
		return "bad signature"
	case ReasonNotWinner:
		return "not a winner"
	case ReasonReplayed:
		return "replayed"
	case ReasonUnfunded:
		return "unfunded"
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// AccountKey is the Lottery's key for the account of (token, funder, signer).
func AccountKey(token, funder, signer common.Address) common.Hash {
	return crypto.Keccak256Hash(token[:], funder[:], signer[:])
}
