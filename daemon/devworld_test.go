package daemon

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/registry"
	"github.com/pexia-network/pexia/devnet"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/keys"
	"github.com/pexia-network/pexia/wallet/ticket"
)

// devWorld is a devnet chain (go-ethereum over JSON-RPC) whose staked
// nodes are nodes on loopback, registered in its Registry: a daemon finds
// them through the on-chain directory, pays them from its per-hop
// accounts, and they verify its tickets on the chain. The daemon needs no
// seam to run in it.
type devWorld struct {
	dn    *devnet.Devnet
	nodes []*testNode
	lg    *testutil.Log
}

// newDevWorld starts the devnet and two relays and an exit registered as
// the devnet's nodes 0 to 2.
func newDevWorld(t *testing.T) *devWorld {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn := lifeChain(t)
	n := dn.Network()
	w := &devWorld{dn: dn, lg: testutil.NewLog(t)}
	cl, err := chain.Dial(ctx, n, chain.Options{PollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ec, err := ethclient.DialContext(ctx, dn.RPC())
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	var recipients []common.Address
	for i := range 3 {
		k, err := devnet.Key(devnet.NodeRole(i))
		if err != nil {
			t.Fatal(err)
		}
		recipients = append(recipients, crypto.PubkeyToAddress(k.PublicKey))
	}
	w.nodes = startNodes(t, ticket.Lottery{ChainID: n.ChainID, Address: n.Addresses.Lottery}, cl, recipients, 2, 1)
	reg := registry.NewRegistry()
	for i, nd := range w.nodes {
		k, err := devnet.Key(devnet.NodeRole(i))
		if err != nil {
			t.Fatal(err)
		}
		opts := bind.NewKeyedTransactor(k, n.ChainID)
		opts.Context = ctx
		data := reg.PackSet(nd.Info.URL, nd.Info.NoiseKey, nd.Info.Pin, common.Address{}, nodePrice, [2]byte{'Z', 'Z'}, nd.entry.Roles, "accept 127.0.0.0/8:*")
		tx, err := reg.Instance(ec, n.Addresses.Registry).RawTransact(opts, data)
		if err != nil {
			t.Fatalf("register node %d: %v", i, err)
		}
		if _, err := contracts.WaitOK(ctx, ec, tx); err != nil {
			t.Fatalf("register node %d: %v", i, err)
		}
	}
	return w
}

// config is a proxy-mode daemon configuration on the devnet, through the
// JSON-RPC endpoint rpc (the devnet's own if empty).
func (w *devWorld) config(t *testing.T, rpc string) Config {
	return Config{StateDir: filepath.Join(t.TempDir(), "state"),
		Networks: map[string]NetworkChoice{"dev": {File: w.dn.NetworkFile(), RPC: rpc}},
		Key:      keys.Source{Key: "devnet:" + devnet.ClientRole(0)}, Mode: api.ModeProxy, ProxyAddr: "127.0.0.1:0",
		Logf: w.lg.Logf}
}

// daemon starts a daemon on cfg and closes it at the end of the test.
func (w *devWorld) daemon(t *testing.T, cfg Config) *Daemon {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}
