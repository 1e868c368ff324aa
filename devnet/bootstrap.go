package devnet

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/directory"
	"github.com/pexia-network/pexia/contracts/lottery"
	"github.com/pexia-network/pexia/contracts/testtoken"
)

// bootstrap deploys the contracts on a new devnet, funds the test accounts
// and writes the network file.
func (d *Devnet) bootstrap(ctx context.Context, keys []contracts.TestKey) error {
	start := time.Now()
	deployer, err := privateKey(keys[0])
	if err != nil {
		return err
	}
	delay := uint64(d.cfg.LotteryDelay / time.Second)
	addrs, err := contracts.Deploy(ctx, d.client, d.transactor(ctx, deployer), contracts.DeployConfig{LotteryDelay: delay}, d.commitFunc(ctx))
	if err != nil {
		return fmt.Errorf("devnet: %w", err)
	}
	if err := d.fund(ctx, deployer, addrs.Token, keys); err != nil {
		return err
	}
	if err := d.stake(ctx, addrs, keys); err != nil {
		return err
	}
	n := &contracts.Network{
		Name:      NetworkName,
		ChainID:   new(big.Int).Set(chainID),
		RPC:       d.rpc,
		Addresses: addrs,
		Keys:      keys,
	}
	if err := d.save(n); err != nil {
		return err
	}
	d.log.Info("devnet contracts deployed", "lottery", addrs.Lottery, "token", addrs.Token, "accounts", len(keys), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// reopen checks the contracts of an existing devnet, funds test accounts
// missing from its network file and updates the RPC URL.
func (d *Devnet) reopen(ctx context.Context, n *contracts.Network, want []contracts.TestKey) error {
	if n.ChainID.Cmp(chainID) != 0 {
		return fmt.Errorf("devnet: network file %s has chain ID %v, the chain %v", d.netFile, n.ChainID, chainID)
	}
	for _, c := range []struct {
		name string
		addr common.Address
	}{
		{"Lottery", n.Addresses.Lottery}, {"Directory", n.Addresses.Directory}, {"Registry", n.Addresses.Registry},
		{"Curator", n.Addresses.Curator}, {"Token", n.Addresses.Token},
	} {
		code, err := d.client.CodeAt(ctx, c.addr, nil)
		if err != nil {
			return fmt.Errorf("devnet: code of %s: %w", c.name, err)
		}
		if len(code) == 0 {
			return fmt.Errorf("devnet: no %s contract at %s on the chain in %s; the network file does not match the chain (remove the directory to start over)", c.name, c.addr, d.cfg.DataDir)
		}
	}
	changed := false
	var missing []contracts.TestKey
	for _, k := range want {
		if _, ok := n.Key(k.Role); !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		dk, ok := n.Key(RoleDeployer)
		if !ok {
			return fmt.Errorf("devnet: network file %s has no %s key to fund new accounts", d.netFile, RoleDeployer)
		}
		deployer, err := privateKey(dk)
		if err != nil {
			return err
		}
		if err := d.fund(ctx, deployer, n.Addresses.Token, missing); err != nil {
			return err
		}
		if err := d.stake(ctx, n.Addresses, missing); err != nil {
			return err
		}
		n.Keys = append(n.Keys, missing...)
		changed = true
		d.log.Info("devnet funded new accounts", "accounts", len(missing))
	}
	if n.RPC != d.rpc {
		n.RPC = d.rpc
		changed = true
	}
	if changed {
		if err := d.save(n); err != nil {
			return err
		}
	} else {
		d.mu.Lock()
		d.net = n
		d.mu.Unlock()
	}
	lot := lottery.NewLottery()
	if delay, err := bind.Call(lot.Instance(d.client, n.Addresses.Lottery), &bind.CallOpts{Context: ctx}, lot.PackDelay(), lot.UnpackDelay); err != nil {
		return fmt.Errorf("devnet: read lottery delay: %w", err)
	} else if want := uint64(d.cfg.LotteryDelay / time.Second); delay != want {
		d.log.Warn("devnet lottery delay is fixed at deployment", "delay", time.Duration(delay)*time.Second, "asked", d.cfg.LotteryDelay)
	}
	d.log.Info("devnet reopened", "lottery", n.Addresses.Lottery, "token", n.Addresses.Token)
	return nil
}

// save writes n to the network file and makes it the devnet's network.
func (d *Devnet) save(n *contracts.Network) error {
	if err := n.Save(d.netFile); err != nil {
		return fmt.Errorf("devnet: write network file: %w", err)
	}
	d.mu.Lock()
	d.net = n
	d.mu.Unlock()
	return nil
}

// fund gives every key accountTokens TestToken minted by the deployer, and
// accountCoin native coin if it has none. All transactions go into one block.
func (d *Devnet) fund(ctx context.Context, deployer *ecdsa.PrivateKey, token common.Address, keys []contracts.TestKey) error {
	opts := d.transactor(ctx, deployer)
	nonce, err := d.client.PendingNonceAt(ctx, opts.From)
	if err != nil {
		return fmt.Errorf("devnet: deployer nonce: %w", err)
	}
	tt := testtoken.NewTestToken()
	tok := tt.Instance(d.client, token)
	var txs []*types.Transaction
	for _, k := range keys {
		bal, err := d.client.BalanceAt(ctx, k.Address, nil)
		if err != nil {
			return fmt.Errorf("devnet: balance of %s: %w", k.Role, err)
		}
		if bal.Sign() == 0 {
			tx, err := d.sendCoin(ctx, opts, nonce, k.Address, accountCoin)
			if err != nil {
				return fmt.Errorf("devnet: send coin to %s: %w", k.Role, err)
			}
			nonce++
			txs = append(txs, tx)
		}
		o := *opts
		o.Nonce = new(big.Int).SetUint64(nonce)
		tx, err := tok.RawTransact(&o, tt.PackMint(k.Address, accountTokens))
		if err != nil {
			return fmt.Errorf("devnet: mint tokens to %s: %w", k.Role, err)
		}
		nonce++
		txs = append(txs, tx)
	}
	if err := d.commit(ctx); err != nil {
		return err
	}
	for _, tx := range txs {
		if _, err := contracts.WaitOK(ctx, d.client, tx); err != nil {
			return fmt.Errorf("devnet: fund accounts: %w", err)
		}
	}
	return nil
}

// stake has every node account stake nodeStake tokens on itself in the
// Directory with nodeStakeDelay, so scans of the directory find the local
// nodes with a realistic withdrawal commitment.
func (d *Devnet) stake(ctx context.Context, addrs contracts.Addresses, keys []contracts.TestKey) error {
	tt, dir := testtoken.NewTestToken(), directory.NewDirectory()
	var txs []*types.Transaction
	for _, k := range keys {
		if !strings.HasPrefix(k.Role, "node") {
			continue
		}
		key, err := privateKey(k)
		if err != nil {
			return err
		}
		opts := d.transactor(ctx, key)
		nonce, err := d.client.PendingNonceAt(ctx, k.Address)
		if err != nil {
			return fmt.Errorf("devnet: nonce of %s: %w", k.Role, err)
		}
		o := *opts
		o.Nonce = new(big.Int).SetUint64(nonce)
		tx, err := tt.Instance(d.client, addrs.Token).RawTransact(&o, tt.PackApprove(addrs.Directory, nodeStake))
		if err != nil {
			return fmt.Errorf("devnet: approve stake of %s: %w", k.Role, err)
		}
		txs = append(txs, tx)
		o.Nonce = new(big.Int).SetUint64(nonce + 1)
		o.GasLimit = 500_000 // not estimable before the approval is mined
		tx, err = dir.Instance(d.client, addrs.Directory).RawTransact(&o, dir.PackPush(k.Address, nodeStake, nodeStakeDelay))
		if err != nil {
			return fmt.Errorf("devnet: stake of %s: %w", k.Role, err)
		}
		txs = append(txs, tx)
	}
	if len(txs) == 0 {
		return nil
	}
	if err := d.commit(ctx); err != nil {
		return err
	}
	for _, tx := range txs {
		if _, err := contracts.WaitOK(ctx, d.client, tx); err != nil {
			return fmt.Errorf("devnet: stake nodes: %w", err)
		}
	}
	return nil
}

// sendCoin sends value native coin from opts.From to an account.
func (d *Devnet) sendCoin(ctx context.Context, opts *bind.TransactOpts, nonce uint64, to common.Address, value *big.Int) (*types.Transaction, error) {
	head, err := d.client.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, err
	}
	tip, err := d.client.SuggestGasTipCap(ctx)
	if err != nil {
		return nil, err
	}
	feeCap := new(big.Int).Add(tip, new(big.Int).Mul(head.BaseFee, big.NewInt(2)))
	tx, err := opts.Signer(opts.From, types.NewTx(&types.DynamicFeeTx{
		ChainID:   chainID,
		Nonce:     nonce,
		GasTipCap: tip,
		GasFeeCap: feeCap,
		Gas:       params.TxGas,
		To:        &to,
		Value:     value,
	}))
	if err != nil {
		return nil, err
	}
	if err := d.client.SendTransaction(ctx, tx); err != nil {
		return nil, err
	}
	return tx, nil
}

// commit seals the transactions just sent, without waiting for the timer.
func (d *Devnet) commit(ctx context.Context) error {
	if err := d.mine(ctx); err != nil {
		return fmt.Errorf("devnet: seal block: %w", err)
	}
	return nil
}

// commitFunc is commit in the form contracts.Deploy takes; errors show up as
// the deployment waiting in vain until ctx ends.
func (d *Devnet) commitFunc(ctx context.Context) func() {
	return func() { _ = d.mine(ctx) }
}

// transactor signs with key for the devnet's chain.
func (d *Devnet) transactor(ctx context.Context, key *ecdsa.PrivateKey) *bind.TransactOpts {
	o := bind.NewKeyedTransactor(key, chainID)
	o.Context = ctx
	return o
}
