package chain

import (
	"context"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// SentTx describes a signed transaction the client is about to send.
type SentTx struct {
	What   string // "transfer", "deposit", "warn", "withdraw", ...
	From   common.Address
	To     common.Address
	Value  *big.Int // coin sent with it
	Amount *big.Int // the call's "amount" argument, if it has one; else Value
	Hash   common.Hash
	Nonce  uint64
}

// Journal records a wallet's transactions durably. Sending is called with
// each signed transaction before it leaves for the endpoint; if it fails
// the transaction is not sent. Mined is called once the transaction's
// fate is known while the caller waits: its receipt (err nil), or the
// error (the transaction may still be mined later; a journal resolves it
// with Receipt).
type Journal interface {
	Sending(SentTx) error
	Mined(hash common.Hash, r *types.Receipt, err error)
}

type journalKey struct{}

// WithJournal returns a context whose transactions, sent through any
// Client method, are recorded in j.
func WithJournal(ctx context.Context, j Journal) context.Context {
	return context.WithValue(ctx, journalKey{}, j)
}

func journalFrom(ctx context.Context) Journal {
	j, _ := ctx.Value(journalKey{}).(Journal)
	return j
}

// amountArg is the "amount" argument of a Lottery call, or nil.
func (c *Client) amountArg(data []byte) *big.Int {
	if len(data) < 4 {
		return nil
	}
	m, err := c.lotABI.MethodById(data[:4])
	if err != nil {
		return nil
	}
	args, err := m.Inputs.Unpack(data[4:])
	if err != nil {
		return nil
	}
	for i, in := range m.Inputs {
		if in.Name == "amount" && i < len(args) {
			if x, ok := args[i].(*big.Int); ok {
				return x
			}
		}
	}
	return nil
}

// Receipt is the receipt of a mined transaction, or an error wrapping
// ethereum.NotFound when the endpoint knows of none.
func (c *Client) Receipt(ctx context.Context, hash common.Hash) (*types.Receipt, error) {
	var r *types.Receipt
	err := c.do(ctx, "receipt", c.attempts(), func(ctx context.Context) (err error) {
		r, err = c.b.TransactionReceipt(ctx, hash)
		return err
	})
	return r, err
}
