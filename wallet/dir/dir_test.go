package dir_test

import (
	"context"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/chaintest"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/dir"
)

func TestCircuitSelection(t *testing.T) {
	c := chaintest.New(t)
	ctx := context.Background()
	type spec struct {
		country string
		roles   uint8
		price   int64
		delay   uint64
	}
	specs := map[int]spec{
		1: {"DE", dir.RoleRelay, 100, 90 * 86400},
		2: {"FR", dir.RoleRelay, 100, 90 * 86400},
		3: {"DE", dir.RoleRelay | dir.RoleExit, 200, 90 * 86400},
		4: {"US", dir.RoleRelay | dir.RoleExit, 900, 90 * 86400},
		5: {"NL", dir.RoleRelay, 100, 3600}, // too short a commitment
	}
	for i, s := range specs {
		c.Tx(i, c.Addrs.Registry, c.Reg.PackSet("https://n"+string(rune('0'+i))+".example/", common.HexToHash("0x11"), common.HexToHash("0x22"),
			common.Address{}, big.NewInt(s.price), [2]byte{s.country[0], s.country[1]}, s.roles, ""), nil)
		c.Mint(i, contracts.Ether(100), c.Addrs.Directory)
		c.Tx(i, c.Addrs.Directory, c.Dir.PackPush(c.Addr(i), contracts.Ether(10), s.delay), nil)
	}
	net := &contracts.Network{Name: "t", ChainID: c.ChainID, RPC: "http://127.0.0.1:1", Addresses: c.Addrs}
	cl, err := chain.New(net, c.Client, chain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := dir.New(cl, c.Addrs)
	relay := dir.Filter{Role: dir.RoleRelay, MinDelay: 30 * 86400}
	exit := dir.Filter{Role: dir.RoleExit, MinDelay: 30 * 86400}
	for i := 0; i < 20; i++ {
		hops, err := d.Circuit(ctx, 3, relay, exit)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[common.Address]bool{}
		for k, h := range hops {
			if seen[h.Address] {
				t.Fatalf("node %s twice in one circuit", h.Address)
			}
			seen[h.Address] = true
			if h.Address == c.Addr(5) {
				t.Fatal("picked a node whose stake can leave within an hour")
			}
			if k == 2 && h.Roles&dir.RoleExit == 0 {
				t.Fatalf("exit %s has no exit role", h.Address)
			}
			if h.URL == "" || h.HandshakeKey == ([32]byte{}) {
				t.Fatalf("hop %d without registry data: %+v", k, h)
			}
		}
	}
	// Price cap and country: only node 3 is an exit in DE under 500.
	n, err := d.Pick(ctx, dir.Filter{Role: dir.RoleExit, MaxPricePerGB: big.NewInt(500), Country: "DE"}, 64)
	if err != nil || n.Address != c.Addr(3) {
		t.Fatalf("Pick = %s, %v; want node 3", n.Address, err)
	}
	if _, err := d.Pick(ctx, dir.Filter{Role: dir.RoleExit, Country: "JP"}, 16); !errors.Is(err, dir.ErrNoNode) {
		t.Fatalf("impossible filter: %v", err)
	}
	// Curated list: only approved nodes.
	c.Tx(1, c.Addrs.Curator, c.Cur.PackCreate("partners"), nil)
	id, _ := c.Cur.UnpackListId(c.Call(c.Addrs.Curator, c.Cur.PackListId("partners")))
	c.Tx(1, c.Addrs.Curator, c.Cur.PackSet(id, []common.Address{c.Addr(4)}, true), nil)
	list := common.Hash(id)
	n, err = d.Pick(ctx, dir.Filter{Role: dir.RoleExit, List: &list}, 64)
	if err != nil || n.Address != c.Addr(4) {
		t.Fatalf("curated Pick = %s, %v; want node 4", n.Address, err)
	}
}
