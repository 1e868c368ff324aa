package chain

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/wallet"
)

// Status says where an Account answer came from.
type Status struct {
	// Cached is true when the answer came from the cache rather than a
	// chain read made for this call.
	Cached bool
	// Stale is true when the endpoint could not be reached and the answer
	// is the last known state.
	Stale bool
	// ReadAt is when this state was last confirmed against the chain: the
	// read made for this call, or the follower's last successful poll.
	ReadAt time.Time
	// Err is the failure that made the answer stale.
	Err error
}

// Fresh reports whether the answer reflects the chain as of now (within the
// follower's polling period), that is, it is not stale.
func (s Status) Fresh() bool { return !s.Stale }

// entry is one cached account. Its state is acct as of block base, plus
// every Lottery event after base that the follower has applied.
type entry struct {
	acct   wallet.Account
	base   uint64    // block the chain read was made at
	readAt time.Time // when it was read
	dirty  bool      // missed events: serve only as a stale fallback
	used   uint64    // LRU clock
}

// Account returns the lottery account (token, funder, signer).
//
// While the follower (Run or Sync) is keeping up, a cached account is
// answered from memory, and so it is, as stale, while Run runs and the
// endpoint is known to be down (Run probes it once a poll). Otherwise the account is read from the chain and
// cached. If that read fails because the endpoint is down, the last known
// state is returned with Status.Stale set and no error; an error is
// returned only when there is nothing cached to fall back on.
func (c *Client) Account(ctx context.Context, token, funder, signer common.Address) (wallet.Account, Status, error) {
	key := contracts.AccountKey(token, funder, signer)
	c.mu.Lock()
	if e := c.cache[key]; e != nil && !e.dirty && c.init && time.Since(c.lastPoll) <= c.opts.FreshFor {
		a, st := c.snapshot(e), Status{Cached: true, ReadAt: c.lastPoll}
		c.mu.Unlock()
		return a, st, nil
	}
	if e := c.cache[key]; e != nil && !e.dirty && c.init && c.running.Load() && c.down() {
		// The follower probes the endpoint once a poll; a read per call
		// would only add requests that fail.
		a, st := c.snapshot(e), Status{Cached: true, Stale: true, ReadAt: c.lastPoll, Err: c.lastErr()}
		c.mu.Unlock()
		return a, st, nil
	}
	c.mu.Unlock()

	a, err := c.readAccount(ctx, token, funder, signer)
	if err == nil {
		c.store(key, a)
		return copyAccount(a), Status{ReadAt: time.Now()}, nil
	}
	if errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		c.mu.Lock()
		e := c.cache[key]
		if e != nil {
			a, readAt := c.snapshot(e), e.readAt
			if !e.dirty && c.init && c.lastPoll.After(readAt) {
				readAt = c.lastPoll
			}
			c.mu.Unlock()
			return a, Status{Cached: true, Stale: true, ReadAt: readAt, Err: err}, nil
		}
		c.mu.Unlock()
	}
	return wallet.Account{}, Status{Stale: true, Err: err}, err
}

// Forget drops an account from the cache.
func (c *Client) Forget(token, funder, signer common.Address) {
	c.mu.Lock()
	delete(c.cache, contracts.AccountKey(token, funder, signer))
	c.mu.Unlock()
}

// readAccount reads an account at the confirmed head.
func (c *Client) readAccount(ctx context.Context, token, funder, signer common.Address) (wallet.Account, error) {
	var out []byte
	var block uint64
	data := c.lot.PackAccount(token, funder, signer)
	err := c.do(ctx, "read account", c.attempts(), func(ctx context.Context) error {
		h, err := c.b.HeaderByNumber(ctx, nil)
		if err != nil {
			return err
		}
		if h == nil || h.Number == nil {
			return errors.New("endpoint returned no header")
		}
		block = c.confirmed(h)
		out, err = c.b.CallContract(ctx, ethereum.CallMsg{To: &c.lotAddr, Data: data}, new(big.Int).SetUint64(block))
		return err
	})
	if err != nil {
		return wallet.Account{}, err
	}
	o, err := c.lot.UnpackAccount(out)
	if err != nil {
		return wallet.Account{}, fmt.Errorf("chain: decode account (is %s the Lottery?): %w", c.lotAddr, err)
	}
	return wallet.Account{
		Token: token, Funder: funder, Signer: signer,
		Balance: o.Balance, Escrow: o.Escrow, Warned: o.Warned, Unlock: o.Unlock,
		Block: block,
	}, nil
}

// store caches an account read at a.Block. A read older than what the
// follower has already applied cannot join the event stream (it would miss
// the events in between), so it is kept only as a stale fallback.
func (c *Client) store(key common.Hash, a wallet.Account) {
	c.mu.Lock()
	defer c.mu.Unlock()
	behind := c.init && a.Block < c.synced
	if old := c.cache[key]; behind && old != nil && !old.dirty {
		return // the followed entry is newer
	}
	c.useSeq++
	c.cache[key] = &entry{acct: copyAccount(a), base: a.Block, readAt: time.Now(), dirty: behind, used: c.useSeq}
	if len(c.cache) > c.opts.MaxAccounts {
		var lk common.Hash
		var lu uint64 = ^uint64(0)
		for k, e := range c.cache {
			if e.used < lu {
				lk, lu = k, e.used
			}
		}
		delete(c.cache, lk)
	}
}

// snapshot copies a cached account; c.mu is held.
func (c *Client) snapshot(e *entry) wallet.Account {
	c.useSeq++
	e.used = c.useSeq
	a := copyAccount(e.acct)
	if !e.dirty && c.init && c.synced > a.Block {
		a.Block = c.synced
	}
	return a
}

// invalidate marks accounts changed by our own transactions; the next
// Account reads them again (the cached state stays as a stale fallback).
func (c *Client) invalidate(keys ...common.Hash) {
	c.mu.Lock()
	for _, k := range keys {
		if e := c.cache[k]; e != nil {
			e.dirty = true
		}
	}
	c.mu.Unlock()
}

func copyAccount(a wallet.Account) wallet.Account {
	cp := func(x *big.Int) *big.Int {
		if x == nil {
			return new(big.Int)
		}
		return new(big.Int).Set(x)
	}
	a.Balance, a.Escrow, a.Warned = cp(a.Balance), cp(a.Escrow), cp(a.Warned)
	return a
}

// Run follows the Lottery's events every PollInterval until ctx is done or
// the client is closed, keeping the account cache up to date. Failures are
// logged and retried at the next tick (while the endpoint is down, each
// tick is a single probe), so Run never gives up on its own and notices
// the endpoint's return within a PollInterval. Run returns ctx.Err() or
// ErrClosed; only one Run may be active at a time.
func (c *Client) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("chain: Run is already running")
	}
	defer c.running.Store(false)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.closed:
			return ErrClosed
		case <-t.C:
		}
		if err := c.Sync(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrClosed) {
			// Outages are logged once by the health tracker.
			c.logf("chain: event poll: %v", err)
		}
		t.Reset(c.opts.PollInterval)
	}
}

// Sync makes one pass of the event follower: it applies the Lottery events
// from the block after the last one seen up to the confirmed head. The first
// pass only records the head. Run calls it periodically; call it directly to
// catch up at once.
func (c *Client) Sync(ctx context.Context) error {
	c.pollMu.Lock()
	defer c.pollMu.Unlock()
	if err := c.checkChain(ctx, c.attempts()); err != nil {
		return err
	}
	head, err := c.header(ctx, "poll head", nil, c.attempts())
	if err != nil {
		return err
	}
	target := c.confirmed(head)
	th := head
	if target != head.Number.Uint64() {
		if th, err = c.header(ctx, "poll head", new(big.Int).SetUint64(target), 1+c.opts.Retries); err != nil {
			return err
		}
	}

	c.mu.Lock()
	initd, synced, shash := c.init, c.synced, c.shash
	c.mu.Unlock()
	if !initd {
		c.reset(target, th.Hash(), "start", false)
		return nil
	}
	if shash != (common.Hash{}) {
		h, err := c.header(ctx, "poll reorg check", new(big.Int).SetUint64(synced), 1+c.opts.Retries)
		if err != nil {
			return err
		}
		if h.Hash() != shash {
			c.reset(target, th.Hash(), fmt.Sprintf("reorg at block %d", synced), true)
			return nil
		}
	}
	if target <= synced {
		c.mu.Lock()
		c.lastPoll = time.Now()
		c.mu.Unlock()
		return nil
	}

	span := c.opts.MaxLogRange
	for from := synced + 1; from <= target; {
		to := min(from+span-1, target)
		var logs []types.Log
		q := ethereum.FilterQuery{
			FromBlock: new(big.Int).SetUint64(from),
			ToBlock:   new(big.Int).SetUint64(to),
			Addresses: []common.Address{c.lotAddr},
			Topics:    [][]common.Hash{{c.eventID("Update"), c.eventID("Won"), c.eventID("Burned")}},
		}
		err := c.do(ctx, "poll events", 1+c.opts.Retries, func(ctx context.Context) (err error) {
			logs, err = c.b.FilterLogs(ctx, q)
			return err
		})
		if err != nil {
			if !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrClosed) && ctx.Err() == nil && span > 1 {
				// Some endpoints cap the range or the result size.
				span /= 2
				c.logf("chain: eth_getLogs %d..%d refused (%v); trying %d blocks at a time", from, to, err, span)
				continue
			}
			return err
		}
		c.mu.Lock()
		c.apply(logs, to)
		c.synced, c.shash = to, common.Hash{}
		c.mu.Unlock()
		from = to + 1
	}
	c.mu.Lock()
	if c.synced == target {
		c.shash = th.Hash()
	}
	c.lastPoll = time.Now()
	c.mu.Unlock()
	return nil
}

// reset restarts the follower at block target. Cached accounts read before
// target would miss events and are marked dirty; all of them are after a
// reorg.
func (c *Client) reset(target uint64, hash common.Hash, why string, all bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.init {
		c.logf("chain: event follower restarts at block %d: %s", target, why)
	}
	c.init, c.synced, c.shash, c.lastPoll = true, target, hash, time.Now()
	for _, e := range c.cache {
		if e.base < target || all {
			e.dirty = true
		}
	}
}

func (c *Client) eventID(name string) common.Hash { return c.lotABI.Events[name].ID }

// apply applies Lottery events up to block to to the cached accounts; c.mu
// is held. An event applies to an account only if it is newer than the
// account's chain read.
func (c *Client) apply(logs []types.Log, to uint64) {
	upd, won, burned := c.eventID("Update"), c.eventID("Won"), c.eventID("Burned")
	for i := range logs {
		l := &logs[i]
		if l.Address != c.lotAddr || len(l.Topics) == 0 || l.BlockNumber > to {
			continue
		}
		var key common.Hash
		switch l.Topics[0] {
		case upd, burned:
			if len(l.Topics) < 2 {
				continue
			}
			key = l.Topics[1]
		case won:
			if len(l.Topics) < 3 {
				continue
			}
			key = l.Topics[2]
		default:
			continue
		}
		e := c.cache[key]
		if e == nil || e.dirty || l.BlockNumber <= e.base {
			continue
		}
		a := &e.acct
		var err error
		switch l.Topics[0] {
		case upd:
			var ev *lotteryUpdate
			if ev, err = c.unpackUpdate(l); err == nil {
				a.Balance, a.Escrow, a.Warned, a.Unlock = ev.Balance, ev.Escrow, ev.Warned, ev.Unlock
			}
		case won:
			var amount *big.Int
			if amount, err = c.unpackAmount(l, "Won"); err == nil {
				// Paid from the balance, then from the escrow on overdraft
				// (the rest of the escrow is burned in a Burned event).
				if amount.Cmp(a.Balance) <= 0 {
					a.Balance = new(big.Int).Sub(a.Balance, amount)
				} else {
					over := new(big.Int).Sub(amount, a.Balance)
					a.Balance = new(big.Int)
					a.Escrow = subFloor(a.Escrow, over)
				}
			}
		case burned:
			var amount *big.Int
			if amount, err = c.unpackAmount(l, "Burned"); err == nil {
				a.Escrow = subFloor(a.Escrow, amount)
			}
		}
		if err != nil {
			c.logf("chain: undecodable Lottery event in tx %s: %v", l.TxHash, err)
			e.dirty = true
		}
	}
}

func subFloor(x, y *big.Int) *big.Int {
	z := new(big.Int).Sub(x, y)
	if z.Sign() < 0 {
		z.SetInt64(0)
	}
	return z
}

type lotteryUpdate struct {
	Balance, Escrow, Warned *big.Int
	Unlock                  uint64
}

func (c *Client) unpackUpdate(l *types.Log) (*lotteryUpdate, error) {
	ev, err := c.lot.UnpackUpdateEvent(l)
	if err != nil {
		return nil, err
	}
	return &lotteryUpdate{Balance: ev.Balance, Escrow: ev.Escrow, Warned: ev.Warned, Unlock: ev.Unlock}, nil
}

// unpackAmount decodes the amount of a Won or Burned event.
func (c *Client) unpackAmount(l *types.Log, name string) (*big.Int, error) {
	switch name {
	case "Won":
		ev, err := c.lot.UnpackWonEvent(l)
		if err != nil {
			return nil, err
		}
		return ev.Amount, nil
	default:
		ev, err := c.lot.UnpackBurnedEvent(l)
		if err != nil {
			return nil, err
		}
		return ev.Amount, nil
	}
}
