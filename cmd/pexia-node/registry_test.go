package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/pexia-network/pexia/contracts/registry"
	"github.com/pexia-network/pexia/devnet"
	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/relay"
	"github.com/pexia-network/pexia/wallet/dir"
)

// TestRelayExtendsOnlyToRegistered runs the real pexia-node as a free relay
// against a devnet chain: it extends a circuit to an exit registered on
// chain, and refuses, without dialling anything, an EXTEND to an address
// with no registry entry or to a registered node at another URL.
func TestRelayExtendsOnlyToRegistered(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tmp := t.TempDir()
	dn, err := devnet.Start(ctx, devnet.Config{DataDir: filepath.Join(tmp, "chain"), BlockPeriod: devnet.MineOnTransaction, Nodes: 2, Clients: 1,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer dn.Close()
	n := dn.Network()

	// The exit: an in-process node registered on chain as node1.
	exitKey, err := devnet.Key("node1")
	if err != nil {
		t.Fatal(err)
	}
	exit, err := hoptest.Start(true, relay.NodeConfig{Address: onion.Address(crypto.PubkeyToAddress(exitKey.PublicKey))})
	if err != nil {
		t.Fatal(err)
	}
	defer exit.Close()
	ec, err := ethclient.DialContext(ctx, n.RPC)
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	data := registry.NewRegistry().PackSet(exit.Info.URL, exit.Info.NoiseKey, exit.Info.Pin, common.Address{}, new(big.Int), [2]byte{'D', 'E'}, dir.RoleExit, "accept *:*")
	if err := send(ctx, ec, n, exitKey, n.Addresses.Registry, data); err != nil {
		t.Fatal(err)
	}

	// The relay: pexia-node, free, node0.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	cfgPath := filepath.Join(tmp, "relay.toml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
network = %q
datadir = %q
key = "devnet:node0"
log_level = "debug"

[node]
listen = %q
public_url = "https://%s/"
roles = ["relay"]
price = "0"

[metrics]
listen = ""
`, dn.NetworkFile(), filepath.Join(tmp, "relay"), listen, listen)), 0o600); err != nil {
		t.Fatal(err)
	}
	initOut, err := pexiaNode(t, "-config", cfgPath, "init")
	if err != nil {
		t.Fatalf("init: %v\n%s", err, initOut)
	}
	if out, err := pexiaNode(t, "-config", cfgPath, "register"); err != nil {
		t.Fatalf("register: %v\n%s", err, out)
	}
	p := startRun(t, "-config", cfgPath, "run")
	signaling := p.Await(t, `signaling=(https://\S+/)`, 30*time.Second)
	relayKey, _ := devnet.Key("node0")
	mid := hopInfo(t, initOut, signaling, onion.Address(crypto.PubkeyToAddress(relayKey.PublicKey)))

	// A plain listener stands for what a client would like the relay to
	// probe.
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	var dialled atomic.Int32
	go func() {
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			dialled.Add(1)
			c.Close()
		}
	}()
	stranger := exit.Info
	rand.Read(stranger.Address[:])
	stranger.URL = "https://" + tl.Addr().String() + "/"
	moved := exit.Info
	moved.URL = stranger.URL
	for name, next := range map[string]hop.HopInfo{"unregistered": stranger, "registered, another URL": moved} {
		c, err := hop.Build(ctx, []hop.HopInfo{mid, next}, hop.BuildConfig{})
		if err == nil {
			c.Close()
			t.Errorf("%s: circuit built through the relay", name)
			continue
		}
		var te *hop.TruncatedError
		if !errors.As(err, &te) || te.Reason != onion.ReasonUnregistered {
			t.Errorf("%s: got %v, want TRUNCATED unregistered", name, err)
		}
	}
	if n := dialled.Load(); n != 0 {
		t.Errorf("the relay connected to the unregistered target %d times", n)
	}
	c, err := hop.Build(ctx, []hop.HopInfo{mid, exit.Info}, hop.BuildConfig{})
	if err != nil {
		t.Fatalf("registered exit through the relay: %v\n%s", err, p.Log())
	}
	defer c.Close()
	conn, err := c.Dial(ctx, "tcp", testutil.EchoTCP(t, "127.0.0.1:0").Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := testutil.RoundTrip(conn, "through a registered exit"); err != nil {
		t.Fatal(err)
	}
}
