package contracts

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/pexia-network/pexia/contracts/curator"
	"github.com/pexia-network/pexia/contracts/directory"
	"github.com/pexia-network/pexia/contracts/lottery"
	"github.com/pexia-network/pexia/contracts/registry"
	"github.com/pexia-network/pexia/contracts/testtoken"
)

// Addresses of one deployment of the Pexia contracts.
type Addresses struct {
	Lottery   common.Address `json:"lottery"`
	Directory common.Address `json:"directory"`
	Registry  common.Address `json:"registry"`
	Curator   common.Address `json:"curator"`
	Token     common.Address `json:"token"` // the ERC20 staked in the directory
}

// Backend is what deployment and the helpers here need from a chain.
type Backend interface {
	bind.ContractBackend
	bind.DeployBackend
}

// DeployConfig sets the constructor arguments of a deployment.
type DeployConfig struct {
	// LotteryDelay is the seconds between warn and withdraw.
	LotteryDelay uint64
	// Token is the ERC20 staked in the directory; zero deploys a TestToken.
	Token common.Address
	// TokenName and TokenSymbol name a deployed TestToken.
	TokenName, TokenSymbol string
}

// Deploy deploys a full set of contracts from opts and waits for each. With a
// chain that mines only on demand (the simulated backend), commit is called
// after each transaction; pass nil for a chain that mines by itself.
func Deploy(ctx context.Context, b Backend, opts *bind.TransactOpts, cfg DeployConfig, commit func()) (Addresses, error) {
	var a Addresses
	deploy := func(what string, bin string, input []byte) (common.Address, error) {
		o := *opts
		o.Context = ctx
		addr, tx, err := bind.DeployContract(&o, common.FromHex(bin), b, input)
		if err != nil {
			return addr, fmt.Errorf("deploy %s: %w", what, err)
		}
		if commit != nil {
			commit()
		}
		if _, err := WaitOK(ctx, b, tx); err != nil {
			return addr, fmt.Errorf("deploy %s: %w", what, err)
		}
		return addr, nil
	}
	var err error
	if a.Token = cfg.Token; a.Token == (common.Address{}) {
		name, sym := cfg.TokenName, cfg.TokenSymbol
		if name == "" {
			name, sym = "Pexia Test Token", "PXT"
		}
		if a.Token, err = deploy("TestToken", testtoken.TestTokenMetaData.Bin, testtoken.NewTestToken().PackConstructor(name, sym)); err != nil {
			return a, err
		}
	}
	if a.Lottery, err = deploy("Lottery", lottery.LotteryMetaData.Bin, lottery.NewLottery().PackConstructor(cfg.LotteryDelay)); err != nil {
		return a, err
	}
	if a.Directory, err = deploy("Directory", directory.DirectoryMetaData.Bin, directory.NewDirectory().PackConstructor(a.Token)); err != nil {
		return a, err
	}
	if a.Registry, err = deploy("Registry", registry.RegistryMetaData.Bin, nil); err != nil {
		return a, err
	}
	if a.Curator, err = deploy("Curator", curator.CuratorMetaData.Bin, nil); err != nil {
		return a, err
	}
	return a, nil
}

// WaitOK waits for tx to be mined and fails if it reverted.
func WaitOK(ctx context.Context, b bind.DeployBackend, tx *types.Transaction) (*types.Receipt, error) {
	r, err := bind.WaitMined(ctx, b, tx.Hash())
	if err != nil {
		return nil, err
	}
	if r.Status != types.ReceiptStatusSuccessful {
		return r, fmt.Errorf("transaction %s reverted (gas used %d)", tx.Hash(), r.GasUsed)
	}
	return r, nil
}

// Ether is n whole units (10^18 smallest units) of a coin or token.
func Ether(n int64) *big.Int {
	return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18))
}

// ParseAmount turns a decimal amount of whole tokens ("0.01") into smallest
// units (18 decimals), exactly; negative amounts and finer fractions are
// errors.
func ParseAmount(s string) (*big.Int, error) {
	r, ok := new(big.Rat).SetString(s)
	if !ok || r.Sign() < 0 {
		return nil, fmt.Errorf("bad amount %q", s)
	}
	r.Mul(r, new(big.Rat).SetInt(Ether(1)))
	if !r.IsInt() {
		return nil, fmt.Errorf("amount %q has more than 18 decimals", s)
	}
	return r.Num(), nil
}
