package chain

import (
	"context"
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/lottery"
)

// ErrClaimDecode means a claim's receipt did not say what happened to every
// ticket. The ClaimResult returned with it holds what could be decoded.
var ErrClaimDecode = errors.New("claim receipt does not account for every ticket")

// ClaimResult is what a claim transaction did.
type ClaimResult struct {
	Tx      common.Hash
	Block   uint64
	GasUsed uint64
	Fee     *big.Int // gas used × effective gas price, in the native coin
	// Total is the sum this transaction added to the recipient's earnings.
	Total *big.Int
	// Tickets has one result per claimed ticket, in the order given.
	Tickets []TicketResult
	// Burned lists escrow forfeited by overdrawn accounts.
	Burned []Burn
}

// TicketResult is what the Lottery did with one claimed ticket.
type TicketResult struct {
	// ID is the ticket's digest, which the Lottery's Won and Rejected
	// events carry.
	ID common.Hash
	// Paid is true when this claim paid the ticket.
	Paid bool
	// Amount is what it paid: the face value, or less when the account was
	// overdrawn. Zero when not paid.
	Amount *big.Int
	// Account is the paying account's key (contracts.AccountKey) when paid.
	Account common.Hash
	// Reason is why the ticket was refused; ReasonNone when paid.
	Reason contracts.Reason
	// PaidBefore is set for a ticket refused as replayed that an earlier
	// claim had paid (found within Options.ReplayLookback blocks), such as
	// a claim mined just before a crash and sent again.
	PaidBefore *WonEvent
	// Decoded is false if the receipt had no event for this ticket.
	Decoded bool
}

// Burn is escrow forfeited by an overdrawn account.
type Burn struct {
	Account common.Hash
	Amount  *big.Int
}

// WonEvent is a Won event of the Lottery: a ticket paid amount from an
// account.
type WonEvent struct {
	Ticket  common.Hash
	Account common.Hash
	Amount  *big.Int
	Block   uint64
	Tx      common.Hash
}

// TicketID returns the digest by which the Lottery identifies t when
// recipient claims it in token: the ID in TicketResult and in the Won and
// Rejected events.
func (c *Client) TicketID(token, recipient common.Address, t lottery.LotteryTicket) (common.Hash, error) {
	if t.Packed0 == nil || t.Packed1 == nil || t.Packed0.Sign() < 0 || t.Packed1.Sign() < 0 || t.Packed0.BitLen() > 256 || t.Packed1.BitLen() > 256 {
		return common.Hash{}, fmt.Errorf("chain: %w: ticket words out of range", ErrInvalid)
	}
	var p0, p1 [32]byte
	t.Packed0.FillBytes(p0[:])
	t.Packed1.FillBytes(p1[:])
	tk := contracts.Ticket{
		Token:     token,
		Recipient: recipient,
		Commit:    contracts.Commit(t.Reveal),
		Issued:    binary.BigEndian.Uint64(p0[0:8]),
		Nonce:     binary.BigEndian.Uint64(p0[8:16]),
		FaceValue: new(big.Int).SetBytes(p0[16:32]),
		Expire:    binary.BigEndian.Uint32(p1[0:4]),
		Ratio:     binary.BigEndian.Uint64(p1[4:12]),
		Funder:    common.BytesToAddress(p1[12:32]),
	}
	return tk.Digest(c.chainID, c.lotAddr)
}

// Claim claims winning tickets paying key's address in token, in one
// transaction, and reports per ticket whether it was paid. Tickets from one
// signer must be in nonce order. A transaction that fails as a whole
// returns the partial result (without ticket outcomes) and an error
// wrapping ErrTxFailed; a claim whose gas estimate reverts sends nothing.
func (c *Client) Claim(ctx context.Context, key *ecdsa.PrivateKey, token common.Address, tickets []lottery.LotteryTicket) (*ClaimResult, error) {
	if key == nil {
		return nil, fmt.Errorf("chain: %w: claim: no key", ErrInvalid)
	}
	if len(tickets) == 0 {
		return nil, fmt.Errorf("chain: %w: claim: no tickets", ErrInvalid)
	}
	recipient := crypto.PubkeyToAddress(key.PublicKey)
	ids := make([]common.Hash, len(tickets))
	for i, t := range tickets {
		id, err := c.TicketID(token, recipient, t)
		if err != nil {
			return nil, fmt.Errorf("%w (claim ticket %d)", err, i)
		}
		ids[i] = id
	}
	data, err := c.lot.TryPackClaim(token, tickets)
	if err != nil {
		return nil, fmt.Errorf("chain: claim: encode: %w", err)
	}
	r, err := c.transact(ctx, "claim", key, c.lotAddr, data, nil)
	if r == nil {
		return nil, err
	}
	res := &ClaimResult{
		Tx:      r.TxHash,
		Block:   r.BlockNumber.Uint64(),
		GasUsed: r.GasUsed,
		Fee:     new(big.Int),
		Total:   new(big.Int),
	}
	if r.EffectiveGasPrice != nil {
		res.Fee.Mul(r.EffectiveGasPrice, new(big.Int).SetUint64(r.GasUsed))
	}
	if err != nil {
		return res, err
	}
	derr := c.decodeClaim(r, ids, res)

	if c.opts.ReplayLookback > 0 {
		var replayed []common.Hash
		for _, t := range res.Tickets {
			if t.Reason == contracts.ReasonReplayed {
				replayed = append(replayed, t.ID)
			}
		}
		if len(replayed) > 0 && res.Block > 0 {
			from := uint64(0)
			if res.Block > uint64(c.opts.ReplayLookback) {
				from = res.Block - uint64(c.opts.ReplayLookback)
			}
			won, err := c.FindWon(ctx, replayed, from, res.Block-1)
			if err != nil {
				c.logf("chain: claim %s: looking up earlier payments of %d replayed tickets: %v", res.Tx, len(replayed), err)
			}
			for i := range res.Tickets {
				if w, ok := won[res.Tickets[i].ID]; ok && res.Tickets[i].Reason == contracts.ReasonReplayed {
					res.Tickets[i].PaidBefore = &w
				}
			}
		}
	}
	return res, derr
}

// decodeClaim fills res from the receipt's Won, Rejected and Burned events
// and marks the paying accounts for a fresh read.
func (c *Client) decodeClaim(r *types.Receipt, ids []common.Hash, res *ClaimResult) error {
	type outcome struct {
		paid    bool
		amount  *big.Int
		account common.Hash
		reason  contracts.Reason
	}
	byID := map[common.Hash][]outcome{}
	var touched []common.Hash
	var bad error
	for _, l := range r.Logs {
		if l.Address != c.lotAddr || len(l.Topics) == 0 {
			continue
		}
		switch l.Topics[0] {
		case c.eventID("Won"):
			ev, err := c.lot.UnpackWonEvent(l)
			if err != nil {
				bad = err
				continue
			}
			byID[ev.Ticket] = append(byID[ev.Ticket], outcome{paid: true, amount: ev.Amount, account: ev.Account})
			res.Total.Add(res.Total, ev.Amount)
			touched = append(touched, ev.Account)
		case c.eventID("Rejected"):
			ev, err := c.lot.UnpackRejectedEvent(l)
			if err != nil {
				bad = err
				continue
			}
			byID[ev.Ticket] = append(byID[ev.Ticket], outcome{reason: contracts.Reason(ev.Reason)})
		case c.eventID("Burned"):
			ev, err := c.lot.UnpackBurnedEvent(l)
			if err != nil {
				bad = err
				continue
			}
			res.Burned = append(res.Burned, Burn{Account: ev.Account, Amount: ev.Amount})
			touched = append(touched, ev.Account)
		}
	}
	c.invalidate(touched...)
	missing := 0
	res.Tickets = make([]TicketResult, len(ids))
	for i, id := range ids {
		tr := TicketResult{ID: id, Amount: new(big.Int)}
		// Equal tickets get their events in claim order.
		if q := byID[id]; len(q) > 0 {
			o := q[0]
			byID[id] = q[1:]
			tr.Decoded, tr.Paid, tr.Reason, tr.Account = true, o.paid, o.reason, o.account
			if o.amount != nil {
				tr.Amount = o.amount
			}
		} else {
			missing++
		}
		res.Tickets[i] = tr
	}
	if missing > 0 || bad != nil {
		return fmt.Errorf("chain: %w: tx %s: %d of %d tickets without an event (decode error: %v)", ErrClaimDecode, r.TxHash, missing, len(ids), bad)
	}
	return nil
}

// FindWon looks for Won events of the given tickets in blocks from..to and
// returns the first one found per ticket.
func (c *Client) FindWon(ctx context.Context, ids []common.Hash, from, to uint64) (map[common.Hash]WonEvent, error) {
	out := map[common.Hash]WonEvent{}
	if len(ids) == 0 || from > to {
		return out, nil
	}
	span := c.opts.MaxLogRange
	for lo := from; lo <= to; {
		hi := min(lo+span-1, to)
		q := ethereum.FilterQuery{
			FromBlock: new(big.Int).SetUint64(lo),
			ToBlock:   new(big.Int).SetUint64(hi),
			Addresses: []common.Address{c.lotAddr},
			Topics:    [][]common.Hash{{c.eventID("Won")}, ids},
		}
		var logs []types.Log
		if err := c.do(ctx, "find won tickets", c.attempts(), func(ctx context.Context) (err error) {
			logs, err = c.b.FilterLogs(ctx, q)
			return err
		}); err != nil {
			return out, err
		}
		for i := range logs {
			ev, err := c.lot.UnpackWonEvent(&logs[i])
			if err != nil {
				continue
			}
			if _, ok := out[ev.Ticket]; !ok {
				out[ev.Ticket] = WonEvent{Ticket: ev.Ticket, Account: ev.Account, Amount: ev.Amount, Block: logs[i].BlockNumber, Tx: logs[i].TxHash}
			}
		}
		if hi == to {
			break
		}
		lo = hi + 1
	}
	return out, nil
}

// WonFrom returns the Won events paid from any of accounts (see
// contracts.AccountKey) in blocks from up to the current head (less the
// configured confirmations), oldest first, and the last block searched. A
// client follows what its tickets cost by calling it again from that block
// plus one.
func (c *Client) WonFrom(ctx context.Context, from uint64, accounts ...common.Hash) ([]WonEvent, uint64, error) {
	h, err := c.header(ctx, "head", nil, c.attempts())
	if err != nil {
		return nil, 0, err
	}
	to := h.Number.Uint64()
	if to < c.opts.Confirmations {
		return nil, from - 1, nil
	}
	to -= c.opts.Confirmations
	var out []WonEvent
	if from > to || len(accounts) == 0 {
		// No account is no filter: it would match every account's wins.
		return nil, to, nil
	}
	span := c.opts.MaxLogRange
	for lo := from; lo <= to; {
		hi := min(lo+span-1, to)
		q := ethereum.FilterQuery{
			FromBlock: new(big.Int).SetUint64(lo),
			ToBlock:   new(big.Int).SetUint64(hi),
			Addresses: []common.Address{c.lotAddr},
			Topics:    [][]common.Hash{{c.eventID("Won")}, nil, accounts},
		}
		var logs []types.Log
		if err := c.do(ctx, "follow won tickets", c.attempts(), func(ctx context.Context) (err error) {
			logs, err = c.b.FilterLogs(ctx, q)
			return err
		}); err != nil {
			return out, lo - 1, err
		}
		for i := range logs {
			ev, err := c.lot.UnpackWonEvent(&logs[i])
			if err != nil {
				continue
			}
			out = append(out, WonEvent{Ticket: ev.Ticket, Account: ev.Account, Amount: ev.Amount, Block: logs[i].BlockNumber, Tx: logs[i].TxHash})
		}
		lo = hi + 1
	}
	return out, to, nil
}
