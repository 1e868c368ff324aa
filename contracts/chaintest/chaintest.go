// Package chaintest runs the Pexia contracts on a real in-process EVM
// (go-ethereum's simulated backend) for tests and gas benchmarks: fixed funded
// keys, a full deployment, and helpers that send, mine and check
// transactions.
package chaintest

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"github.com/ethereum/go-ethereum"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/curator"
	"github.com/pexia-network/pexia/contracts/directory"
	"github.com/pexia-network/pexia/contracts/lottery"
	"github.com/pexia-network/pexia/contracts/registry"
	"github.com/pexia-network/pexia/contracts/testtoken"
)

// TestKeys are fixed private keys, funded at genesis.
// Fixed test keys: deterministic addresses make failures reproducible.
var TestKeys = []string{
	"b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291",
	"8a1f9a8f95be41cd7ccb6168179afb4504aefe388d1e14474d32c45c72ce7b7a",
	"49a7b37aa6f6645917e7b807e9d1c00d4fa71f18343b0d4122a4d2df64dd6fee",
	"5d2b5c4b3b1e0b8b1a8f9e1c3b6d9f0e2a4c6e8f0a2c4e6a8c0e2a4c6e8f0a2c",
	"7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
	"0fbed4a3a1f5bb57c2bd5e6e0b0a0fd7b84e4d66af9e6c5fdc1c7b3f1a2b3c4d",
}

// TB is the part of testing.TB the harness needs.
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Chain is a simulated chain with the contracts deployed. Key 0 deployed them
// and is the token's minter.
type Chain struct {
	t       TB
	Ctx     context.Context
	Sim     *simulated.Backend
	Client  simulated.Client
	Keys    []*ecdsa.PrivateKey
	ChainID *big.Int
	Addrs   contracts.Addresses

	Lot *lottery.Lottery
	Dir *directory.Directory
	Reg *registry.Registry
	Cur *curator.Curator
	Tok *testtoken.TestToken
}

// New starts a chain, funds the fixed keys and deploys every contract.
func New(t TB) *Chain {
	t.Helper()
	c := &Chain{t: t, Ctx: context.Background()}
	alloc := types.GenesisAlloc{}
	for _, h := range TestKeys {
		k, err := crypto.HexToECDSA(h)
		if err != nil {
			t.Fatal(err)
		}
		c.Keys = append(c.Keys, k)
		alloc[crypto.PubkeyToAddress(k.PublicKey)] = types.Account{Balance: contracts.Ether(1_000_000)}
	}
	c.Sim = simulated.NewBackend(alloc, func(_ *node.Config, ec *ethconfig.Config) {
		ec.Miner.GasCeil = 60_000_000
		ec.Genesis.GasLimit = 60_000_000
		ec.Genesis.Config = contracts.DevChainConfig()
	})
	t.Cleanup(func() { c.Sim.Close() })
	c.Client = c.Sim.Client()
	id, err := c.Client.ChainID(c.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.ChainID = id
	c.Addrs, err = contracts.Deploy(c.Ctx, c.Client, c.Opts(0), contracts.DeployConfig{LotteryDelay: 86400}, func() { c.Sim.Commit() })
	if err != nil {
		t.Fatal(err)
	}
	c.Lot, c.Dir, c.Reg, c.Cur, c.Tok = lottery.NewLottery(), directory.NewDirectory(), registry.NewRegistry(), curator.NewCurator(), testtoken.NewTestToken()
	return c
}

// Addr is the address of key i.
func (c *Chain) Addr(i int) common.Address { return crypto.PubkeyToAddress(c.Keys[i].PublicKey) }

// Opts returns transaction options signed by key i.
func (c *Chain) Opts(i int) *bind.TransactOpts {
	o := bind.NewKeyedTransactor(c.Keys[i], c.ChainID)
	o.Context = c.Ctx
	return o
}

// Tx sends data from key i to contract at to, mines it and requires success.
func (c *Chain) Tx(i int, to common.Address, data []byte, value *big.Int) *types.Receipt {
	c.t.Helper()
	r, err := c.Try(i, to, data, value)
	if err != nil {
		c.t.Fatal(err)
	}
	return r
}

// Try sends a transaction and returns the revert error if it would fail.
func (c *Chain) Try(i int, to common.Address, data []byte, value *big.Int) (*types.Receipt, error) {
	c.t.Helper()
	o := c.Opts(i)
	o.Value = value
	inst := bind.NewBoundContract(to, c.Lot.GetABI(), c.Client, c.Client, c.Client)
	tx, err := inst.RawTransact(o, data)
	if err != nil {
		return nil, err
	}
	c.Sim.Commit()
	return contracts.WaitOK(c.Ctx, c.Client, tx)
}

// Call runs a read-only call at the latest block.
func (c *Chain) Call(to common.Address, data []byte) []byte {
	c.t.Helper()
	out, err := c.Client.CallContract(c.Ctx, ethereum.CallMsg{To: &to, Data: data}, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// AdjustTime moves the chain clock forward and mines a block.
//
// The simulated backend refuses to move the clock while its pool reports
// pending transactions, which it can briefly do for ones just mined.
func (c *Chain) AdjustTime(d time.Duration) {
	c.t.Helper()
	var err error
	for i := 0; i < 5; i++ {
		if err = c.Sim.AdjustTime(d); err == nil {
			c.Sim.Commit()
			return
		}
		// The pool drops mined transactions from its pending set
		// asynchronously after a new head.
		time.Sleep(time.Duration(i+1) * 20 * time.Millisecond)
		c.Sim.Commit()
	}
	c.t.Fatal(err)
}

// Now is the latest block time.
func (c *Chain) Now() uint64 {
	h, err := c.Client.HeaderByNumber(c.Ctx, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return h.Time
}

// CoinBalance is the native balance of a.
func (c *Chain) CoinBalance(a common.Address) *big.Int {
	b, err := c.Client.BalanceAt(c.Ctx, a, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return b
}

// TokenBalance is the test token balance of a.
func (c *Chain) TokenBalance(a common.Address) *big.Int {
	v, err := c.Tok.UnpackBalanceOf(c.Call(c.Addrs.Token, c.Tok.PackBalanceOf(a)))
	if err != nil {
		c.t.Fatal(err)
	}
	return v
}

// Mint gives key i amount tokens and approves spender for all of them.
func (c *Chain) Mint(i int, amount *big.Int, spender common.Address) {
	c.Tx(0, c.Addrs.Token, c.Tok.PackMint(c.Addr(i), amount), nil)
	c.Tx(i, c.Addrs.Token, c.Tok.PackApprove(spender, amount), nil)
}

// WantRevert fails unless err carries the custom error with selector id.
func WantRevert(t TB, err error, id common.Hash) {
	t.Helper()
	if err == nil {
		t.Fatalf("transaction succeeded, want revert %x", id[:4])
	}
	var de rpc.DataError
	if errors.As(err, &de) {
		if s, ok := de.ErrorData().(string); ok {
			if b, derr := hexutil.Decode(s); derr == nil && len(b) >= 4 && common.Bytes2Hex(b[:4]) == common.Bytes2Hex(id[:4]) {
				return
			}
		}
	}
	if strings.Contains(err.Error(), common.Bytes2Hex(id[:4])) {
		return
	}
	t.Fatalf("got error %v, want revert with selector %x", err, id[:4])
}
