package main

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/chaintest"
	"github.com/pexia-network/pexia/contracts/lottery"
)

// orchidClaimBudget is the gas Orchid's client and server budget per claim
// (a constant of Orchid's, not a measurement).
const orchidClaimBudget = 60_000

// fatal adapts the test harness to a benchmark: a failure aborts the suite.
type fatal struct{ cleanups []func() }

type benchFailure struct{ err error }

func (f *fatal) Helper()                   {}
func (f *fatal) Fatal(args ...any)         { panic(benchFailure{fmt.Errorf("%v", fmt.Sprint(args...))}) }
func (f *fatal) Fatalf(s string, a ...any) { panic(benchFailure{fmt.Errorf(s, a...)}) }
func (f *fatal) Cleanup(fn func())         { f.cleanups = append(f.cleanups, fn) }

func (f *fatal) run(fn func() error) (err error) {
	defer func() {
		for i := len(f.cleanups) - 1; i >= 0; i-- {
			f.cleanups[i]()
		}
		if r := recover(); r != nil {
			bf, ok := r.(benchFailure)
			if !ok {
				panic(r)
			}
			err = bf.err
		}
	}()
	return fn()
}

// gasSuite measures the gas of the contract calls users and nodes pay for,
// on a real in-process EVM. Claims are measured in the steady state a node
// lives in (it has claimed from this signer before); the first claim ever
// for a (signer, recipient) pair, which creates two storage words, is
// reported separately.
func gasSuite(res Results) error {
	f := &fatal{}
	return f.run(func() error {
		c := chaintest.New(f)
		const funder, recipient = 1, 2
		signerKey, _ := crypto.HexToECDSA("2222222222222222222222222222222222222222222222222222222222222222")
		signer := crypto.PubkeyToAddress(signerKey.PublicKey)

		r := c.Tx(funder, c.Addrs.Lottery, c.Lot.PackDeposit(signer, contracts.Ether(100)), contracts.Ether(1000))
		res.set("gas.deposit", float64(r.GasUsed), "gas")
		c.Mint(funder, contracts.Ether(1000), c.Addrs.Lottery)
		r = c.Tx(funder, c.Addrs.Lottery, c.Lot.PackDepositToken(c.Addrs.Token, signer, contracts.Ether(1000), contracts.Ether(100)), nil)
		res.set("gas.deposit_token", float64(r.GasUsed), "gas")

		reveal := common.HexToHash("0x9e7ea1")
		nonce := uint64(0)
		claim := func(n int) *types.Receipt {
			var ts []lottery.LotteryTicket
			for i := 0; i < n; i++ {
				nonce++
				s, err := contracts.Sign(contracts.Ticket{
					Recipient: c.Addr(recipient), Commit: contracts.Commit(reveal), Issued: c.Now(),
					Nonce: nonce, FaceValue: big.NewInt(1e15), Expire: 3600, Ratio: math.MaxUint64, Funder: c.Addr(funder),
				}, c.ChainID, c.Addrs.Lottery, signerKey)
				if err != nil {
					f.Fatal(err)
				}
				lt, err := s.Claim(reveal)
				if err != nil {
					f.Fatal(err)
				}
				ts = append(ts, lt)
			}
			r := c.Tx(recipient, c.Addrs.Lottery, c.Lot.PackClaim(common.Address{}, ts), nil)
			won := 0
			for _, l := range r.Logs {
				if _, err := c.Lot.UnpackWonEvent(l); err == nil {
					won++
				}
			}
			if won != n {
				f.Fatalf("claim of %d tickets paid %d", n, won)
			}
			return r
		}
		first := claim(1)
		res.set("gas.claim_single_first", float64(first.GasUsed), "gas")
		single := claim(1)
		res.set("gas.claim_single", float64(single.GasUsed), "gas")
		batch := claim(10)
		res.set("gas.claim_batch10_per_ticket", float64(batch.GasUsed)/10, "gas")
		// Recorded so that ratio.claim_single_vs_orchid_budget recomputes
		// from the file.
		res.set("gas.orchid_claim_budget", orchidClaimBudget, "gas")

		return directoryGas(c, f, res)
	})
}

// directoryGas fills a directory with 10,000 stakes and measures push and scan.
func directoryGas(c *chaintest.Chain, f *fatal, res Results) error {
	const n = 10_000
	const staker = 3
	c.Mint(staker, contracts.Ether(1_000_000), c.Addrs.Directory)
	start := time.Now()
	opts := c.Opts(staker)
	nonce, err := c.Client.PendingNonceAt(c.Ctx, c.Addr(staker))
	if err != nil {
		return err
	}
	inst := bind.NewBoundContract(c.Addrs.Directory, c.Dir.GetABI(), c.Client, c.Client, c.Client)
	var last *types.Transaction
	for i := 0; i < n; i++ {
		o := *opts
		o.Nonce = new(big.Int).SetUint64(nonce)
		o.GasLimit = 400_000
		nonce++
		stakee := common.BigToAddress(big.NewInt(int64(0x10000 + i)))
		tx, err := inst.RawTransact(&o, c.Dir.PackPush(stakee, big.NewInt(int64(1e15+i)), 90*86400))
		if err != nil {
			return fmt.Errorf("push %d: %w", i, err)
		}
		last = tx
		if i%200 == 199 {
			c.Sim.Commit()
		}
	}
	c.Sim.Commit()
	if _, err := contracts.WaitOK(context.Background(), c.Client, last); err != nil {
		return err
	}
	fmt.Printf("   (filled %d stakes in %v)\n", n, time.Since(start).Round(time.Millisecond))
	count, err := c.Dir.UnpackCount(c.Call(c.Addrs.Directory, c.Dir.PackCount()))
	if err != nil || count.Int64() != n {
		return fmt.Errorf("directory holds %v stakes, want %d (%v)", count, n, err)
	}

	// A new node's first stake (a new slot), and a top-up of an existing one.
	r := c.Tx(staker, c.Addrs.Directory, c.Dir.PackPush(common.HexToAddress("0xfeed"), contracts.Ether(1), 90*86400), nil)
	res.set("gas.push_stake", float64(r.GasUsed), "gas")
	r = c.Tx(staker, c.Addrs.Directory, c.Dir.PackPush(common.BigToAddress(big.NewInt(0x10001)), contracts.Ether(1), 90*86400), nil)
	res.set("gas.push_stake_topup", float64(r.GasUsed), "gas")

	// scan is a view: its cost is what an eth_call or a contract calling it pays.
	var worst uint64
	for i := 0; i < 16; i++ {
		point := new(big.Int).Lsh(big.NewInt(int64(i*7919+1)), 240)
		to := c.Addrs.Directory
		g, err := c.Client.EstimateGas(c.Ctx, ethereum.CallMsg{From: c.Addr(staker), To: &to, Data: c.Dir.PackScan(point)})
		if err != nil {
			return fmt.Errorf("estimate scan: %w", err)
		}
		worst = max(worst, g)
	}
	res.set("gas.scan_10000_nodes", float64(worst), "gas")
	return nil
}
