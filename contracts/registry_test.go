package contracts_test

import (
	"github.com/pexia-network/pexia/contracts/chaintest"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/contracts/curator"
	"github.com/pexia-network/pexia/contracts/registry"
)

func TestRegistry(t *testing.T) {
	c := newChain(t)
	const nodeA, nodeB = 1, 2
	hk := common.HexToHash("0x4b")
	tls := common.HexToHash("0x71")
	set := func(i int, url string, key common.Hash, country string, roles uint8, policy string) error {
		_, err := c.Try(i, c.Addrs.Registry, c.Reg.PackSet(url, key, tls, common.Address{}, big.NewInt(2e15), [2]byte{country[0], country[1]}, roles, policy), nil)
		return err
	}
	if err := set(nodeA, "https://a.example:8443/", hk, "DE", 3, "accept *:80,*:443"); err != nil {
		t.Fatal(err)
	}
	look := func(i int) registry.RegistryNode {
		n, err := c.Reg.UnpackLook(c.Call(c.Addrs.Registry, c.Reg.PackLook(c.Addr(i))))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	n := look(nodeA)
	if n.Url != "https://a.example:8443/" || n.HandshakeKey != hk || n.TlsFingerprint != tls || string(n.Country[:]) != "DE" ||
		n.Roles != 3 || n.PricePerGB.Cmp(big.NewInt(2e15)) != 0 || n.ExitPolicy != "accept *:80,*:443" || n.Updated == 0 {
		t.Fatalf("look = %+v", n)
	}
	// B's writes only ever touch B's entry.
	if err := set(nodeB, "https://b.example/", hk, "FR", 1, ""); err != nil {
		t.Fatal(err)
	}
	if look(nodeA).Url != "https://a.example:8443/" || look(nodeB).Url != "https://b.example/" {
		t.Fatal("one node's registration changed another's")
	}
	for _, tc := range []struct {
		name  string
		err   error
		errID common.Hash
	}{
		{"empty url", set(nodeA, "", hk, "DE", 1, ""), registry.RegistryBadURLErrorID()},
		{"long url", set(nodeA, "https://"+strings.Repeat("a", 300), hk, "DE", 1, ""), registry.RegistryBadURLErrorID()},
		{"zero key", set(nodeA, "https://a/", common.Hash{}, "DE", 1, ""), registry.RegistryBadKeyErrorID()},
		{"lower-case country", set(nodeA, "https://a/", hk, "de", 1, ""), registry.RegistryBadCountryErrorID()},
		{"no roles", set(nodeA, "https://a/", hk, "DE", 0, ""), registry.RegistryBadRolesErrorID()},
		{"unknown role", set(nodeA, "https://a/", hk, "DE", 4, ""), registry.RegistryBadRolesErrorID()},
		{"long policy", set(nodeA, "https://a/", hk, "DE", 1, strings.Repeat("x", 600)), registry.RegistryBadPolicyErrorID()},
	} {
		t.Run(tc.name, func(t *testing.T) { chaintest.WantRevert(t, tc.err, tc.errID) })
	}
	c.Tx(nodeA, c.Addrs.Registry, c.Reg.PackSetPrice(big.NewInt(5)), nil)
	if p := look(nodeA).PricePerGB; p.Cmp(big.NewInt(5)) != 0 {
		t.Fatalf("price = %v after setPrice(5)", p)
	}
	c.Tx(nodeA, c.Addrs.Registry, c.Reg.PackRemove(), nil)
	if look(nodeA).HandshakeKey != (common.Hash{}) {
		t.Fatal("entry survived remove")
	}
	_, err := c.Try(nodeA, c.Addrs.Registry, c.Reg.PackRemove(), nil)
	chaintest.WantRevert(t, err, registry.RegistryUnknownErrorID())
	_, err = c.Try(nodeA, c.Addrs.Registry, c.Reg.PackSetPrice(big.NewInt(1)), nil)
	chaintest.WantRevert(t, err, registry.RegistryUnknownErrorID())
}

func TestCurator(t *testing.T) {
	c := newChain(t)
	const owner, stranger = 1, 2
	id, err := c.Cur.UnpackListId(c.Call(c.Addrs.Curator, c.Cur.PackListId("partners")))
	if err != nil {
		t.Fatal(err)
	}
	c.Tx(owner, c.Addrs.Curator, c.Cur.PackCreate("partners"), nil)
	_, err = c.Try(stranger, c.Addrs.Curator, c.Cur.PackCreate("partners"), nil)
	chaintest.WantRevert(t, err, curator.CuratorTakenErrorID())
	_, err = c.Try(stranger, c.Addrs.Curator, c.Cur.PackCreate(""), nil)
	chaintest.WantRevert(t, err, curator.CuratorEmptyNameErrorID())

	a, b := common.HexToAddress("0xa"), common.HexToAddress("0xb")
	_, err = c.Try(stranger, c.Addrs.Curator, c.Cur.PackSet(id, []common.Address{a}, true), nil)
	chaintest.WantRevert(t, err, curator.CuratorNotOwnerErrorID())
	c.Tx(owner, c.Addrs.Curator, c.Cur.PackSet(id, []common.Address{a, b, a}, true), nil)
	good := func(n common.Address) bool {
		ok, err := c.Cur.UnpackGood(c.Call(c.Addrs.Curator, c.Cur.PackGood(id, n)))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	info := func() curator.InfoOutput {
		o, err := c.Cur.UnpackInfo(c.Call(c.Addrs.Curator, c.Cur.PackInfo(id)))
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	if !good(a) || !good(b) || info().Size != 2 {
		t.Fatalf("after approve: good(a)=%v good(b)=%v size=%d", good(a), good(b), info().Size)
	}
	c.Tx(owner, c.Addrs.Curator, c.Cur.PackSet(id, []common.Address{a}, false), nil)
	if good(a) || !good(b) || info().Size != 1 {
		t.Fatal("revoke did not take")
	}
	// Ownership moves; the old owner loses control.
	c.Tx(owner, c.Addrs.Curator, c.Cur.PackTransfer(id, c.Addr(stranger)), nil)
	_, err = c.Try(owner, c.Addrs.Curator, c.Cur.PackSet(id, []common.Address{a}, true), nil)
	chaintest.WantRevert(t, err, curator.CuratorNotOwnerErrorID())
	c.Tx(stranger, c.Addrs.Curator, c.Cur.PackSet(id, []common.Address{a}, true), nil)
	if !good(a) || info().Owner != c.Addr(stranger) {
		t.Fatal("new owner could not approve")
	}
}
