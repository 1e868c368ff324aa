package hopacct_test

import (
	"context"
	"math/big"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/chaintest"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/hopacct"
)

// TestDerive: the keys of a (position, epoch) are the same every time and
// unrelated to every other position's, epoch's, the master's and the
// legacy signer's.
func TestDerive(t *testing.T) {
	master, _ := crypto.HexToECDSA(chaintest.TestKeys[1])
	legacy, err := hopacct.LegacyKeys(master)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[common.Address]string{legacy.Funder: "master", legacy.Signer: "legacy signer"}
	for epoch := range uint64(4) {
		for pos := range hopacct.MaxPositions {
			k, err := hopacct.Derive(master, pos, epoch)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := hopacct.Derive(master, pos, epoch)
			if again.Funder != k.Funder || again.Signer != k.Signer || crypto.PubkeyToAddress(k.FunderKey.PublicKey) != k.Funder {
				t.Fatalf("position %d epoch %d: derivation not deterministic", pos, epoch)
			}
			for _, a := range []common.Address{k.Funder, k.Signer} {
				if what, dup := seen[a]; dup {
					t.Fatalf("position %d epoch %d: %s is also the %s", pos, epoch, a, what)
				}
				seen[a] = "account of hop " + string(rune('0'+pos))
			}
		}
	}
	other, _ := crypto.HexToECDSA(chaintest.TestKeys[2])
	if a, _ := hopacct.Derive(other, 0, 0); seen[a.Funder] != "" {
		t.Fatal("another master derives the same funder")
	}
	if _, err := hopacct.Derive(master, hopacct.MaxPositions, 0); err == nil {
		t.Fatal("position out of range accepted")
	}
}

// TestSchedule: weekly epochs start on Monday 00:00 UTC, and End is the
// next Start.
func TestSchedule(t *testing.T) {
	var s hopacct.Schedule
	at := time.Date(2026, 12, 5, 13, 0, 0, 0, time.UTC) // a Saturday
	e := s.Epoch(at)
	start, end := s.Start(e), s.End(e)
	if start.Weekday() != time.Monday || !start.Equal(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)) || end.Sub(start) != 7*24*time.Hour {
		t.Fatalf("epoch %d: %v to %v", e, start, end)
	}
	if s.Epoch(end) != e+1 || s.Epoch(end.Add(-time.Nanosecond)) != e {
		t.Fatal("epoch boundary off")
	}
}

// TestFundAndBook: a hop funder that already holds coin (funded by the user
// from elsewhere) deposits without a transfer from the master, so the
// master and the hop account are not linked on chain; the book survives a
// reopen.
func TestFundAndBook(t *testing.T) {
	c := chaintest.New(t)
	n := &contracts.Network{Name: "t", ChainID: c.ChainID, RPC: "http://127.0.0.1:1", Addresses: c.Addrs}
	cl, err := chain.New(n, c.Client, chain.Options{Mine: func() { c.Sim.Commit() }, ReceiptPoll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	master := c.Keys[1]
	face := big.NewInt(1e15)
	k0, _ := hopacct.Derive(master, 0, 7)
	k1, _ := hopacct.Derive(master, 1, 7)
	// Someone else (key 3) pays hop 1's funder.
	if _, err := cl.Transfer(ctx, c.Keys[3], k1.Funder, contracts.Ether(1)); err != nil {
		t.Fatal(err)
	}
	for _, k := range []*hopacct.Keys{k0, k1} {
		f, err := hopacct.Fund(ctx, cl, master, k, hopacct.Policy{Face: face})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("hop %d: transferred %v, deposited %v", k.Position, f.Transferred, f.Deposited)
		if (f.Transferred != nil) != (k == k0) || f.Deposited == nil {
			t.Fatalf("hop %d: transferred %v, deposited %v", k.Position, f.Transferred, f.Deposited)
		}
		// Funded enough: a second call does nothing.
		if f, err := hopacct.Fund(ctx, cl, master, k, hopacct.Policy{Face: face}); err != nil || f.Transferred != nil || f.Deposited != nil {
			t.Fatalf("hop %d funded again: %+v %v", k.Position, f, err)
		}
	}
	path := filepath.Join(t.TempDir(), "book.json")
	b, err := hopacct.OpenBook(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	for _, k := range []*hopacct.Keys{k1, k0, k0} {
		if err := b.Add(k.Account, at); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.SetDone(k1.Account); err != nil {
		t.Fatal(err)
	}
	b2, err := hopacct.OpenBook(path)
	if err != nil {
		t.Fatal(err)
	}
	es := b2.Entries()
	if len(es) != 2 || es[0].Account != k0.Account || es[0].Done || es[1].Account != k1.Account || !es[1].Done {
		t.Fatalf("book after reopen: %+v", es)
	}
}

// TestBookFundBooksFirst checks that Book.Fund records the account before
// any transaction, so that an account whose funding fails midway (here:
// the chain is unreachable) is still in the book, where the wallet shows
// it and reclaims its money.
func TestBookFundBooksFirst(t *testing.T) {
	c := chaintest.New(t)
	// Nothing listens on port 1: every call is refused.
	n := &contracts.Network{Name: "t", ChainID: c.ChainID, RPC: "http://127.0.0.1:1", Addresses: c.Addrs}
	cl, err := chain.Dial(context.Background(), n, chain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	k, _ := hopacct.Derive(c.Keys[1], 0, 7)
	path := filepath.Join(t.TempDir(), "book.json")
	b, err := hopacct.OpenBook(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := b.Fund(ctx, cl, c.Keys[1], k, hopacct.Policy{Face: big.NewInt(1e15)}, time.Now()); err == nil {
		t.Fatal("funding through an unreachable chain succeeded")
	}
	b2, err := hopacct.OpenBook(path)
	if err != nil {
		t.Fatal(err)
	}
	if !b2.Has(k.Account) {
		t.Fatal("an account whose funding failed is not in the book")
	}
}

// TestFundShortWalletSaysHowMuch: funding from a wallet that holds too
// little fails with an error that gives the amounts in tokens, with their
// unit, not in the chain's smallest unit.
func TestFundShortWalletSaysHowMuch(t *testing.T) {
	c := chaintest.New(t)
	n := &contracts.Network{Name: "t", ChainID: c.ChainID, RPC: "http://127.0.0.1:1", Addresses: c.Addrs}
	cl, err := chain.New(n, c.Client, chain.Options{Mine: func() { c.Sim.Commit() }, ReceiptPoll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	master, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	// 0.0015 of a coin: far less than the deposit of the policy below.
	if _, err := cl.Transfer(ctx, c.Keys[3], crypto.PubkeyToAddress(master.PublicKey), big.NewInt(15e14)); err != nil {
		t.Fatal(err)
	}
	k, _ := hopacct.Derive(master, 0, 7)
	_, err = hopacct.Fund(ctx, cl, master, k, hopacct.Policy{Face: big.NewInt(1e16)})
	if err == nil {
		t.Fatal("funding from a wallet of 0.0015 ETH succeeded")
	}
	t.Logf("error: %v", err)
	addrs := regexp.MustCompile(`0x[0-9a-fA-F]{40}`)
	if regexp.MustCompile(`(^|[^.0-9])[0-9]{10,}`).MatchString(addrs.ReplaceAllString(err.Error(), "")) {
		t.Errorf("error %q gives an amount in the smallest unit", err)
	}
	if !strings.Contains(err.Error(), "0.0015 ETH") {
		t.Errorf("error %q does not say the wallet holds 0.0015 ETH", err)
	}
}
