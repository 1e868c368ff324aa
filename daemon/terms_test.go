package daemon

import (
	"context"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/chaintest"
	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/internal/payhop"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/dir"
)

// TestSelectorAndTermsCheck: the session's selector never picks a node the
// pool avoids (its terms were refused) or one paid in another currency,
// and the session's terms check holds announced terms to the registry
// entry the selector read, the price cap and the chain's gas price.
func TestSelectorAndTermsCheck(t *testing.T) {
	c := chaintest.New(t)
	ctx := context.Background()
	price := big.NewInt(1e17)
	for i, tok := range map[int]common.Address{2: {}, 3: {}, 4: c.Addrs.Token} {
		c.Tx(i, c.Addrs.Registry, c.Reg.PackSet("https://n.example/", [32]byte{byte(i)}, [32]byte{byte(i)}, tok, price, [2]byte{'D', 'E'}, dir.RoleRelay|dir.RoleExit, ""), nil)
		c.Mint(i, contracts.Ether(100), c.Addrs.Directory)
		c.Tx(i, c.Addrs.Directory, c.Dir.PackPush(c.Addr(i), contracts.Ether(10), 90*86400), nil)
	}
	net := &contracts.Network{Name: "t", ChainID: c.ChainID, RPC: "http://127.0.0.1:1", Addresses: c.Addrs}
	cl, err := chain.New(net, c.Client, chain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	plan := Plan{Hops: 1, MaxPricePerGB: new(big.Int).Mul(price, big.NewInt(2))}
	sel := &selector{d: dir.New(cl, c.Addrs), plan: plan}
	avoid := []onion.Address{onion.Address(c.Addr(3))}
	for range 16 {
		hops, err := sel.pick(ctx, hop.Profile{Name: "p", Hops: 1, Avoid: avoid})
		if err != nil {
			t.Fatal(err)
		}
		if got := common.Address(hops[0].Address); got != c.Addr(2) {
			t.Fatalf("picked %s; node 3 is avoided and node 4 is paid in a token", got)
		}
	}
	check, err := termsCheck(ctx, cl, sel, plan, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	gp, _ := c.Client.SuggestGasPrice(ctx)
	limit := check.MaxClaimCost()
	if limit.Cmp(payhop.ClaimCostLimit(gp)) < 0 {
		t.Fatalf("claim cost bound %v below %d gas at the current price %v", limit, payhop.ClaimGas*payhop.ClaimGasSafety, gp)
	}
	face := new(big.Int).Mul(limit, big.NewInt(100)) // the gas bound is the tighter one
	node := c.Addr(2)
	for _, tc := range []struct {
		name        string
		node        common.Address
		price, cost *big.Int
		term        string
	}{
		{"honest", node, price, new(big.Int).Quo(limit, big.NewInt(2)), ""},
		{"claim cost above the gas bound", node, price, new(big.Int).Add(limit, big.NewInt(1)), "claim cost"},
		{"price above the registry", node, new(big.Int).Mul(price, big.NewInt(1000)), big.NewInt(0), "price"},
		{"never picked", c.Addr(5), price, big.NewInt(0), "registry"},
	} {
		err := check.Check(0, tc.node, face, hop.Terms{PricePerGB: tc.price, ClaimCost: tc.cost})
		var te *payhop.TermsError
		if tc.term == "" && err != nil || tc.term != "" && (!errors.As(err, &te) || te.Term != tc.term) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
