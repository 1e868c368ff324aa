package contracts_test

import (
	"github.com/ethereum/go-ethereum"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/chaintest"
	"github.com/pexia-network/pexia/contracts/directory"
)

func (c *chain) scan(point *big.Int) directory.ScanOutput {
	c.T.Helper()
	out, err := c.Dir.UnpackScan(c.Call(c.Addrs.Directory, c.Dir.PackScan(point)))
	if err != nil {
		c.T.Fatal(err)
	}
	return out
}

func TestDirectoryPushPullTake(t *testing.T) {
	c := newChain(t)
	const staker = 1
	stakee := common.HexToAddress("0x57a1ee")
	c.Mint(staker, contracts.Ether(100), c.Addrs.Directory)

	c.Tx(staker, c.Addrs.Directory, c.Dir.PackPush(stakee, contracts.Ether(30), 7*86400), nil)
	_, err := c.Try(staker, c.Addrs.Directory, c.Dir.PackPush(stakee, contracts.Ether(1), 86400), nil)
	chaintest.WantRevert(t, err, directory.DirectoryDelayDecreaseErrorID())
	_, err = c.Try(staker, c.Addrs.Directory, c.Dir.PackPush(stakee, big.NewInt(0), 7*86400), nil)
	chaintest.WantRevert(t, err, directory.DirectoryZeroAmountErrorID())
	c.Tx(staker, c.Addrs.Directory, c.Dir.PackPush(stakee, contracts.Ether(20), 8*86400), nil)

	heft, _ := c.Dir.UnpackHeft(c.Call(c.Addrs.Directory, c.Dir.PackHeft(stakee)))
	eq(t, "heft", heft, contracts.Ether(50))
	s := c.scan(big.NewInt(12345))
	if s.Stakee != stakee || s.Staker != c.Addr(staker) || s.Delay != 8*86400 {
		t.Fatalf("scan = %+v", s)
	}

	_, err = c.Try(staker, c.Addrs.Directory, c.Dir.PackPull(stakee, contracts.Ether(51)), nil)
	chaintest.WantRevert(t, err, directory.DirectoryInsufficientErrorID())
	c.Tx(staker, c.Addrs.Directory, c.Dir.PackPull(stakee, contracts.Ether(20)), nil)
	total, _ := c.Dir.UnpackTotal(c.Call(c.Addrs.Directory, c.Dir.PackTotal()))
	eq(t, "total after pull", total, contracts.Ether(30))

	target := c.Addr(other)
	_, err = c.Try(staker, c.Addrs.Directory, c.Dir.PackTake(big.NewInt(0), target), nil)
	chaintest.WantRevert(t, err, directory.DirectoryImmatureErrorID())
	c.AdjustTime(8*24*time.Hour + time.Minute)
	c.Tx(staker, c.Addrs.Directory, c.Dir.PackTake(big.NewInt(0), target), nil)
	eq(t, "taken", c.TokenBalance(target), contracts.Ether(20))
	_, err = c.Try(staker, c.Addrs.Directory, c.Dir.PackTake(big.NewInt(0), target), nil)
	chaintest.WantRevert(t, err, directory.DirectoryInsufficientErrorID())

	// Pull everything: the directory is empty and scan says so.
	c.Tx(staker, c.Addrs.Directory, c.Dir.PackPull(stakee, contracts.Ether(30)), nil)
	_, err = c.Client.CallContract(c.Ctx, ethereum.CallMsg{To: &c.Addrs.Directory, Data: c.Dir.PackScan(big.NewInt(1))}, nil)
	if err == nil {
		t.Fatal("scan of an empty directory succeeded")
	}
}

// TestDirectoryScanWeighted builds a directory of stakes of varied sizes
// (including zero-weight slots left by full pulls) and checks scan two ways:
// exactly, against a linear walk of the stakes for many points, and
// statistically, with a chi-square test of picks for uniform points.
func TestDirectoryScanWeighted(t *testing.T) {
	c := newChain(t)
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 45
	stakers := []int{1, 2, 3, 4}
	for _, s := range stakers {
		c.Mint(s, contracts.Ether(1_000_000), c.Addrs.Directory)
	}
	type entry struct {
		stakee common.Address
		staker int
		amount *big.Int
	}
	var entries []entry
	for i := 0; i < n; i++ {
		st := stakers[i%len(stakers)]
		amt := new(big.Int).Mul(big.NewInt(int64(1+rng.IntN(1000))), big.NewInt(1e15))
		e := entry{common.BigToAddress(big.NewInt(int64(0x1000 + i))), st, amt}
		c.Tx(st, c.Addrs.Directory, c.Dir.PackPush(e.stakee, amt, 90*86400), nil)
		entries = append(entries, e)
	}
	// Empty some slots and shrink others: slot order must not change.
	for _, i := range []int{0, 7, 44} {
		c.Tx(entries[i].staker, c.Addrs.Directory, c.Dir.PackPull(entries[i].stakee, entries[i].amount), nil)
		entries[i].amount = new(big.Int)
	}
	half := new(big.Int).Rsh(entries[10].amount, 1)
	c.Tx(entries[10].staker, c.Addrs.Directory, c.Dir.PackPull(entries[10].stakee, half), nil)
	entries[10].amount.Sub(entries[10].amount, half)

	total := new(big.Int)
	for _, e := range entries {
		total.Add(total, e.amount)
	}
	onChain, _ := c.Dir.UnpackTotal(c.Call(c.Addrs.Directory, c.Dir.PackTotal()))
	eq(t, "total", onChain, total)

	expect := func(point *big.Int) int {
		rest := new(big.Int).Mod(point, total)
		for i, e := range entries {
			if rest.Cmp(e.amount) < 0 {
				return i
			}
			rest.Sub(rest, e.amount)
		}
		t.Fatal("point beyond total")
		return -1
	}
	// Exact: boundaries of every slot and random points.
	var points []*big.Int
	acc := new(big.Int)
	for _, e := range entries {
		if e.amount.Sign() > 0 {
			points = append(points, new(big.Int).Set(acc), new(big.Int).Sub(new(big.Int).Add(acc, e.amount), big.NewInt(1)))
		}
		acc.Add(acc, e.amount)
	}
	for i := 0; i < 200; i++ {
		points = append(points, randPoint(rng, 255))
	}
	for _, p := range points {
		got := c.scan(p)
		want := entries[expect(p)]
		if got.Stakee != want.stakee || got.Staker != c.Addr(want.staker) {
			t.Fatalf("scan(%v) = %v, want %v", p, got.Stakee, want.stakee)
		}
	}

	// Statistical: 6000 uniform draws, chi-square over slots with weight.
	const draws = 6000
	counts := map[common.Address]int{}
	for i := 0; i < draws; i++ {
		p := randPoint(rng, 256)
		counts[c.scan(p).Stakee]++
	}
	chi, df := 0.0, -1
	tf, _ := new(big.Float).SetInt(total).Float64()
	for _, e := range entries {
		if e.amount.Sign() == 0 {
			if counts[e.stakee] != 0 {
				t.Fatalf("zero-stake node %v picked %d times", e.stakee, counts[e.stakee])
			}
			continue
		}
		af, _ := new(big.Float).SetInt(e.amount).Float64()
		exp := draws * af / tf
		d := float64(counts[e.stakee]) - exp
		chi += d * d / exp
		df++
	}
	// 99.9th percentile of chi-square with df degrees of freedom (Wilson-Hilferty).
	z := 3.09
	crit := float64(df) * math.Pow(1-2/(9*float64(df))+z*math.Sqrt(2/(9*float64(df))), 3)
	t.Logf("chi-square %.1f with %d df (critical %.1f at p=0.001)", chi, df, crit)
	if chi > crit {
		t.Fatalf("scan is not stake-weighted: chi-square %.1f > %.1f", chi, crit)
	}
}

// randPoint returns a uniform integer of the given bit width.
func randPoint(r *rand.Rand, bits int) *big.Int {
	b := make([]byte, 32)
	for i := 0; i < 32; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return new(big.Int).Rsh(new(big.Int).SetBytes(b), uint(256-bits))
}
