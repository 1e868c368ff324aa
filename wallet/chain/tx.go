package chain

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/contracts"
)

// sender serializes the transactions of one key.
type sender struct {
	mu    sync.Mutex
	next  uint64 // next nonce to use, if known
	known bool
}

func (c *Client) sender(a common.Address) *sender {
	c.smu.Lock()
	defer c.smu.Unlock()
	s := c.senders[a]
	if s == nil {
		s = &sender{}
		c.senders[a] = s
	}
	return s
}

var maxUint128 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))

func checkAmount(what string, x *big.Int) error {
	if x == nil || x.Sign() < 0 || x.Cmp(maxUint128) > 0 {
		return fmt.Errorf("chain: %w: %s %v is not a uint128", ErrInvalid, what, x)
	}
	return nil
}

// transact sends a transaction from key to to, waits for it to be mined and
// requires success. A transaction that was mined but failed returns its
// receipt with an ErrTxFailed error.
func (c *Client) transact(ctx context.Context, what string, key *ecdsa.PrivateKey, to common.Address, data []byte, value *big.Int) (*types.Receipt, error) {
	if key == nil {
		return nil, fmt.Errorf("chain: %w: %s: no key", ErrInvalid, what)
	}
	if err := c.checkChain(ctx, c.attempts()); err != nil {
		return nil, err
	}
	tx, err := c.send(ctx, what, key, to, data, value)
	if err != nil {
		return nil, err
	}
	if c.opts.Mine != nil {
		c.mineMu.Lock()
		c.opts.Mine()
		c.mineMu.Unlock()
	}
	r, err := c.wait(ctx, what, tx)
	if j := journalFrom(ctx); j != nil {
		j.Mined(tx.Hash(), r, err)
	}
	return r, err
}

// send signs and sends one transaction. The sender's lock is held from
// choosing the nonce to handing the transaction to the endpoint, so
// concurrent sends from one key get consecutive nonces.
func (c *Client) send(ctx context.Context, what string, key *ecdsa.PrivateKey, to common.Address, data []byte, value *big.Int) (*types.Transaction, error) {
	from := crypto.PubkeyToAddress(key.PublicKey)
	s := c.sender(from)
	s.mu.Lock()
	defer s.mu.Unlock()

	if value == nil {
		value = new(big.Int)
	}
	msg := ethereum.CallMsg{From: from, To: &to, Value: value, Data: data}
	var gas uint64
	if err := c.do(ctx, what+": estimate gas", c.attempts(), func(ctx context.Context) (err error) {
		gas, err = c.b.EstimateGas(ctx, msg)
		return err
	}); err != nil {
		return nil, err
	}
	gas += gas * c.opts.GasMargin / 100

	var nonce uint64
	if err := c.do(ctx, what+": nonce", c.attempts(), func(ctx context.Context) (err error) {
		nonce, err = c.b.PendingNonceAt(ctx, from)
		return err
	}); err != nil {
		return nil, err
	}
	if s.known && s.next > nonce {
		// Our previous transaction may not have reached this endpoint's
		// pool view yet (load-balanced endpoints).
		nonce = s.next
	}

	head, err := c.header(ctx, what+": head", nil, c.attempts())
	if err != nil {
		return nil, err
	}
	var inner types.TxData
	if head.BaseFee != nil {
		var tip *big.Int
		if err := c.do(ctx, what+": tip", c.attempts(), func(ctx context.Context) (err error) {
			tip, err = c.b.SuggestGasTipCap(ctx)
			return err
		}); err != nil {
			return nil, err
		}
		feeCap := new(big.Int).Add(tip, new(big.Int).Mul(head.BaseFee, big.NewInt(2)))
		inner = &types.DynamicFeeTx{ChainID: c.chainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: gas, To: &to, Value: value, Data: data}
	} else {
		var price *big.Int
		if err := c.do(ctx, what+": gas price", c.attempts(), func(ctx context.Context) (err error) {
			price, err = c.b.SuggestGasPrice(ctx)
			return err
		}); err != nil {
			return nil, err
		}
		inner = &types.LegacyTx{Nonce: nonce, GasPrice: price, Gas: gas, To: &to, Value: value, Data: data}
	}
	tx, err := types.SignTx(types.NewTx(inner), c.signer, key)
	if err != nil {
		return nil, fmt.Errorf("chain: %s: sign: %w", what, err)
	}

	if j := journalFrom(ctx); j != nil {
		amount := c.amountArg(data)
		if amount == nil {
			amount = value
		}
		if err := j.Sending(SentTx{What: what, From: from, To: to, Value: value, Amount: amount, Hash: tx.Hash(), Nonce: nonce}); err != nil {
			return nil, fmt.Errorf("chain: %s: not sent, it could not be recorded: %w", what, err)
		}
	}

	tries := 0
	err = c.do(ctx, what+": send", 1+c.opts.Retries, func(ctx context.Context) error {
		tries++
		err := c.b.SendTransaction(ctx, tx)
		if err == nil || knownTx(err) {
			return nil
		}
		if tries > 1 && strings.Contains(strings.ToLower(err.Error()), "nonce too low") {
			// An earlier attempt whose answer was lost may have been mined.
			if r, rerr := c.b.TransactionReceipt(ctx, tx.Hash()); rerr == nil && r != nil {
				return nil
			}
		}
		return err
	})
	if err != nil {
		s.known = false // resynchronize from the endpoint next time
		if refused := !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrClosed) && ctx.Err() == nil; refused {
			err = fmt.Errorf("%w: %w", ErrNotSent, err) // the endpoint refused it
		}
		if j := journalFrom(ctx); j != nil {
			j.Mined(tx.Hash(), nil, err)
		}
		return nil, err
	}
	s.next, s.known = nonce+1, true
	c.logf("chain: sent %s tx %s from %s nonce %d gas %d", what, tx.Hash(), from, nonce, gas)
	return tx, nil
}

// knownTx reports an endpoint saying it already has the transaction.
func knownTx(err error) bool {
	m := strings.ToLower(err.Error())
	return strings.Contains(m, "already known") || strings.Contains(m, "known transaction") || strings.Contains(m, "already imported")
}

// wait polls for tx's receipt until it is mined or ReceiptTimeout passes.
// Transport errors while waiting are tolerated.
func (c *Client) wait(ctx context.Context, what string, tx *types.Transaction) (*types.Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.ReceiptTimeout)
	defer cancel()
	t := time.NewTimer(0)
	defer t.Stop()
	var last error
	for {
		select {
		case <-ctx.Done():
			if last == nil {
				last = ctx.Err()
			}
			return nil, fmt.Errorf("chain: %s tx %s: %w: %w", what, tx.Hash(), ErrNotMined, last)
		case <-c.closed:
			return nil, fmt.Errorf("chain: %s tx %s: %w", what, tx.Hash(), ErrClosed)
		case <-t.C:
		}
		var r *types.Receipt
		err := c.do(ctx, what+": receipt", 1, func(ctx context.Context) (err error) {
			r, err = c.b.TransactionReceipt(ctx, tx.Hash())
			return err
		})
		switch {
		case err == nil && r != nil:
			if r.Status != types.ReceiptStatusSuccessful {
				return r, fmt.Errorf("chain: %s tx %s: %w (block %d, gas used %d of %d)", what, tx.Hash(), ErrTxFailed, r.BlockNumber, r.GasUsed, tx.Gas())
			}
			return r, nil
		case err != nil && !errors.Is(err, ethereum.NotFound) && !errors.Is(err, ErrUnavailable) && !strings.Contains(err.Error(), "indexing"):
			if ctx.Err() == nil {
				return nil, err
			}
		}
		if err != nil {
			last = err
		}
		t.Reset(c.opts.ReceiptPoll)
	}
}

// Deposit funds the lottery account (token, key's address, signer) with
// amount, of which escrow goes to the escrow and the rest to the balance.
// Token 0 is the native coin; for an ERC20 the Lottery is first approved to
// pull amount (resetting a smaller non-zero allowance to 0 first, as some
// tokens require).
func (c *Client) Deposit(ctx context.Context, key *ecdsa.PrivateKey, token, signer common.Address, amount, escrow *big.Int) (*types.Receipt, error) {
	if err := checkAmount("escrow", escrow); err != nil {
		return nil, err
	}
	if amount == nil || amount.Cmp(escrow) < 0 {
		return nil, fmt.Errorf("chain: %w: deposit %v is less than its escrow %v", ErrInvalid, amount, escrow)
	}
	if signer == (common.Address{}) {
		return nil, fmt.Errorf("chain: %w: deposit: zero signer", ErrInvalid)
	}
	if key == nil {
		return nil, fmt.Errorf("chain: %w: deposit: no key", ErrInvalid)
	}
	funder := crypto.PubkeyToAddress(key.PublicKey)
	defer c.invalidate(contracts.AccountKey(token, funder, signer))
	if token == (common.Address{}) {
		return c.transact(ctx, "deposit", key, c.lotAddr, c.lot.PackDeposit(signer, escrow), amount)
	}
	out, err := c.call(ctx, "allowance", token, c.erc20.PackAllowance(funder, c.lotAddr), nil)
	if err != nil {
		return nil, err
	}
	allowance, err := c.erc20.UnpackAllowance(out)
	if err != nil {
		return nil, fmt.Errorf("chain: allowance of token %s: %w", token, err)
	}
	if allowance.Cmp(amount) < 0 {
		if allowance.Sign() > 0 {
			if _, err := c.transact(ctx, "approve 0", key, token, c.erc20.PackApprove(c.lotAddr, new(big.Int)), nil); err != nil {
				return nil, err
			}
		}
		if _, err := c.transact(ctx, "approve", key, token, c.erc20.PackApprove(c.lotAddr, amount), nil); err != nil {
			return nil, err
		}
	}
	return c.transact(ctx, "deposit token", key, c.lotAddr, c.lot.PackDepositToken(token, signer, amount, escrow), nil)
}

// Transfer sends amount of the native coin from key's address to to: a
// plain value transfer, as when a funder pays the gas and deposit of another
// address it funds.
func (c *Client) Transfer(ctx context.Context, key *ecdsa.PrivateKey, to common.Address, amount *big.Int) (*types.Receipt, error) {
	if amount == nil || amount.Sign() <= 0 {
		return nil, fmt.Errorf("chain: %w: transfer amount %v", ErrInvalid, amount)
	}
	if to == (common.Address{}) {
		return nil, fmt.Errorf("chain: %w: transfer to the zero address", ErrInvalid)
	}
	return c.transact(ctx, "transfer", key, to, nil, amount)
}

// FeeCap is the most a transaction sent now may pay per unit of gas: the
// tip plus twice the base fee (or the gas price on a chain without base
// fee), as send prices it. A sender needs gas × FeeCap on top of the value.
func (c *Client) FeeCap(ctx context.Context) (*big.Int, error) {
	head, err := c.header(ctx, "head", nil, c.attempts())
	if err != nil {
		return nil, err
	}
	if head.BaseFee == nil {
		var price *big.Int
		err := c.do(ctx, "gas price", c.attempts(), func(ctx context.Context) (err error) {
			price, err = c.b.SuggestGasPrice(ctx)
			return err
		})
		return price, err
	}
	var tip *big.Int
	if err := c.do(ctx, "tip", c.attempts(), func(ctx context.Context) (err error) {
		tip, err = c.b.SuggestGasTipCap(ctx)
		return err
	}); err != nil {
		return nil, err
	}
	return new(big.Int).Add(tip, new(big.Int).Mul(head.BaseFee, big.NewInt(2))), nil
}

// Move moves amount of the account's balance to its escrow.
func (c *Client) Move(ctx context.Context, key *ecdsa.PrivateKey, token, signer common.Address, amount *big.Int) (*types.Receipt, error) {
	if err := checkAmount("amount", amount); err != nil {
		return nil, err
	}
	return c.funderTx(ctx, "move", key, token, signer, func() []byte { return c.lot.PackMove(token, signer, amount) })
}

// Warn announces the withdrawal of up to amount from the account (balance
// first, then escrow); it can be withdrawn after the Lottery's delay. Warn
// restarts the delay; amount 0 cancels.
func (c *Client) Warn(ctx context.Context, key *ecdsa.PrivateKey, token, signer common.Address, amount *big.Int) (*types.Receipt, error) {
	if err := checkAmount("amount", amount); err != nil {
		return nil, err
	}
	return c.funderTx(ctx, "warn", key, token, signer, func() []byte { return c.lot.PackWarn(token, signer, amount) })
}

// Withdraw pays out up to the warned amount to target once the delay has
// passed. Too early, it fails with a *RevertError named "Locked".
func (c *Client) Withdraw(ctx context.Context, key *ecdsa.PrivateKey, token, signer common.Address, amount *big.Int, target common.Address) (*types.Receipt, error) {
	if err := checkAmount("amount", amount); err != nil {
		return nil, err
	}
	return c.funderTx(ctx, "withdraw", key, token, signer, func() []byte { return c.lot.PackWithdraw(token, signer, amount, target) })
}

func (c *Client) funderTx(ctx context.Context, what string, key *ecdsa.PrivateKey, token, signer common.Address, data func() []byte) (*types.Receipt, error) {
	if key == nil {
		return nil, fmt.Errorf("chain: %w: %s: no key", ErrInvalid, what)
	}
	defer c.invalidate(contracts.AccountKey(token, crypto.PubkeyToAddress(key.PublicKey), signer))
	return c.transact(ctx, what, key, c.lotAddr, data(), nil)
}

// Collect withdraws amount of the key's earnings in token to target.
func (c *Client) Collect(ctx context.Context, key *ecdsa.PrivateKey, token common.Address, amount *big.Int, target common.Address) (*types.Receipt, error) {
	if amount == nil || amount.Sign() < 0 {
		return nil, fmt.Errorf("chain: %w: collect amount %v", ErrInvalid, amount)
	}
	return c.transact(ctx, "collect", key, c.lotAddr, c.lot.PackCollect(token, amount, target), nil)
}

// Earnings is what recipient has won in token and not yet collected.
func (c *Client) Earnings(ctx context.Context, token, recipient common.Address) (*big.Int, error) {
	out, err := c.call(ctx, "earnings", c.lotAddr, c.lot.PackEarnings(token, recipient), nil)
	if err != nil {
		return nil, err
	}
	v, err := c.lot.UnpackEarnings(out)
	if err != nil {
		return nil, fmt.Errorf("chain: decode earnings: %w", err)
	}
	return v, nil
}

// Mark is the highest ticket nonce from signer that recipient has claimed:
// a ticket pays only if its nonce is above it.
func (c *Client) Mark(ctx context.Context, signer, recipient common.Address) (uint64, error) {
	out, err := c.call(ctx, "mark", c.lotAddr, c.lot.PackMark(signer, recipient), nil)
	if err != nil {
		return 0, err
	}
	v, err := c.lot.UnpackMark(out)
	if err != nil {
		return 0, fmt.Errorf("chain: decode mark: %w", err)
	}
	if !v.IsUint64() {
		return 0, fmt.Errorf("chain: mark %v does not fit a ticket nonce", v)
	}
	return v.Uint64(), nil
}

// ClaimCost is what claiming one ticket costs at the current gas price:
// gas price × Options.ClaimGas. A node sets its minimum face value from it.
func (c *Client) ClaimCost(ctx context.Context) (*big.Int, error) {
	var price *big.Int
	if err := c.do(ctx, "gas price", c.attempts(), func(ctx context.Context) (err error) {
		price, err = c.b.SuggestGasPrice(ctx)
		return err
	}); err != nil {
		return nil, err
	}
	return new(big.Int).Mul(price, new(big.Int).SetUint64(c.opts.ClaimGas)), nil
}

// Balance is owner's balance of token (0: the native coin). The native
// balance needs a backend with BalanceAt (ethclient and the simulated
// backend have it).
func (c *Client) Balance(ctx context.Context, token, owner common.Address) (*big.Int, error) {
	if token != (common.Address{}) {
		out, err := c.call(ctx, "token balance", token, c.erc20.PackBalanceOf(owner), nil)
		if err != nil {
			return nil, err
		}
		v, err := c.erc20.UnpackBalanceOf(out)
		if err != nil {
			return nil, fmt.Errorf("chain: decode balance of token %s: %w", token, err)
		}
		return v, nil
	}
	type balanceReader interface {
		BalanceAt(ctx context.Context, a common.Address, block *big.Int) (*big.Int, error)
	}
	br, ok := c.b.(balanceReader)
	if !ok {
		return nil, errors.New("chain: backend cannot read native balances")
	}
	var v *big.Int
	err := c.do(ctx, "balance", c.attempts(), func(ctx context.Context) (err error) {
		v, err = br.BalanceAt(ctx, owner, nil)
		return err
	})
	return v, err
}
