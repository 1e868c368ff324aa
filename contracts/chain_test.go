package contracts_test

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/curator"
	"github.com/pexia-network/pexia/contracts/directory"
	"github.com/pexia-network/pexia/contracts/lottery"
	"github.com/pexia-network/pexia/contracts/registry"
	"github.com/pexia-network/pexia/contracts/testtoken"
)

// Fixed test keys: deterministic addresses make failures reproducible.
var testKeyHex = []string{
	"b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291",
	"8a1f9a8f95be41cd7ccb6168179afb4504aefe388d1e14474d32c45c72ce7b7a",
	"49a7b37aa6f6645917e7b807e9d1c00d4fa71f18343b0d4122a4d2df64dd6fee",
	"5d2b5c4b3b1e0b8b1a8f9e1c3b6d9f0e2a4c6e8f0a2c4e6a8c0e2a4c6e8f0a2c",
	"7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
	"0fbed4a3a1f5bb57c2bd5e6e0b0a0fd7b84e4d66af9e6c5fdc1c7b3f1a2b3c4d",
}

type chain struct {
	t       *testing.T
	ctx     context.Context
	sim     *simulated.Backend
	client  simulated.Client
	keys    []*ecdsa.PrivateKey
	chainID *big.Int
	addrs   contracts.Addresses

	lot *lottery.Lottery
	dir *directory.Directory
	reg *registry.Registry
	cur *curator.Curator
	tok *testtoken.TestToken
}

func newChain(t *testing.T) *chain {
	t.Helper()
	c := &chain{t: t, ctx: context.Background()}
	alloc := types.GenesisAlloc{}
	for _, h := range testKeyHex {
		k, err := crypto.HexToECDSA(h)
		if err != nil {
			t.Fatal(err)
		}
		c.keys = append(c.keys, k)
		alloc[crypto.PubkeyToAddress(k.PublicKey)] = types.Account{Balance: contracts.Ether(1_000_000)}
	}
	c.sim = simulated.NewBackend(alloc, func(_ *node.Config, ec *ethconfig.Config) {
		ec.Miner.GasCeil = 60_000_000
		ec.Genesis.GasLimit = 60_000_000
	})
	t.Cleanup(func() { c.sim.Close() })
	c.client = c.sim.Client()
	id, err := c.client.ChainID(c.ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.chainID = id
	c.addrs, err = contracts.Deploy(c.ctx, c.client, c.opts(0), contracts.DeployConfig{LotteryDelay: 86400}, func() { c.sim.Commit() })
	if err != nil {
		t.Fatal(err)
	}
	c.lot, c.dir, c.reg, c.cur, c.tok = lottery.NewLottery(), directory.NewDirectory(), registry.NewRegistry(), curator.NewCurator(), testtoken.NewTestToken()
	return c
}

func (c *chain) addr(i int) common.Address { return crypto.PubkeyToAddress(c.keys[i].PublicKey) }

func (c *chain) opts(i int) *bind.TransactOpts {
	o := bind.NewKeyedTransactor(c.keys[i], c.chainID)
	o.Context = c.ctx
	return o
}

// tx sends data from key i to contract at to, mines it and requires success.
func (c *chain) tx(i int, to common.Address, data []byte, value *big.Int) *types.Receipt {
	c.t.Helper()
	r, err := c.try(i, to, data, value)
	if err != nil {
		c.t.Fatal(err)
	}
	return r
}

// try sends a transaction and returns the revert error if it would fail.
func (c *chain) try(i int, to common.Address, data []byte, value *big.Int) (*types.Receipt, error) {
	c.t.Helper()
	o := c.opts(i)
	o.Value = value
	inst := bind.NewBoundContract(to, c.lot.GetABI(), c.client, c.client, c.client)
	tx, err := inst.RawTransact(o, data)
	if err != nil {
		return nil, err
	}
	c.sim.Commit()
	return contracts.WaitOK(c.ctx, c.client, tx)
}

func (c *chain) call(to common.Address, data []byte) []byte {
	c.t.Helper()
	out, err := c.client.CallContract(c.ctx, ethereumCall(to, data), nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

func (c *chain) adjustTime(d time.Duration) {
	c.t.Helper()
	if err := c.sim.AdjustTime(d); err != nil {
		c.t.Fatal(err)
	}
	c.sim.Commit()
}

func (c *chain) now() uint64 {
	h, err := c.client.HeaderByNumber(c.ctx, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return h.Time
}

func (c *chain) coinBalance(a common.Address) *big.Int {
	b, err := c.client.BalanceAt(c.ctx, a, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return b
}

func (c *chain) tokenBalance(a common.Address) *big.Int {
	v, err := c.tok.UnpackBalanceOf(c.call(c.addrs.Token, c.tok.PackBalanceOf(a)))
	if err != nil {
		c.t.Fatal(err)
	}
	return v
}

// mint gives key i amount tokens and approves spender for all of them.
func (c *chain) mint(i int, amount *big.Int, spender common.Address) {
	c.tx(0, c.addrs.Token, c.tok.PackMint(c.addr(i), amount), nil)
	c.tx(i, c.addrs.Token, c.tok.PackApprove(spender, amount), nil)
}

// wantRevert fails unless err carries the custom error with selector id.
func wantRevert(t *testing.T, err error, id common.Hash) {
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
