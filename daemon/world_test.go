package daemon

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/chaintest"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/keys"
	"github.com/pexia-network/pexia/wallet/ticket"
)

// A world for the daemon's tests on the daemon's seams: a real chain
// (contracts/chaintest's in-process EVM, through Config.DialChain), real
// nodes on loopback that verify every ticket against it, listed by
// Config.Directory. The daemon runs unchanged over it, in proxy mode
// unless a test asks for TUN mode with a recording Config.System.

// world is a chain with nodes, and what a daemon needs to use them.
type world struct {
	t       *testing.T
	c       *chaintest.Chain
	net     *contracts.Network
	netFile string
	nodes   []*testNode
	mineMu  sync.Mutex // the simulated backend deadlocks on concurrent Commits
	lg      *testutil.Log
}

// newWorld starts a chaintest chain and relays+exits paid nodes. The
// client's funder is chaintest key 1; the nodes are paid to keys 2 on.
func newWorld(t *testing.T, relays, exits int) *world {
	t.Helper()
	w := &world{t: t, c: chaintest.New(t), lg: testutil.NewLog(t)}
	w.net = &contracts.Network{Name: "test", ChainID: w.c.ChainID, RPC: "http://127.0.0.1:1", Addresses: w.c.Addrs,
		Keys: []contracts.TestKey{{Role: "client0", Address: w.c.Addr(1), Private: chaintest.TestKeys[1]}}}
	w.netFile = filepath.Join(t.TempDir(), "network.json")
	b, err := json.Marshal(w.net)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.netFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cl, err := w.dial(context.Background(), w.net, chain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	var recipients []common.Address
	for i := 2; i < len(w.c.Keys); i++ {
		recipients = append(recipients, w.c.Addr(i))
	}
	w.nodes = startNodes(t, ticket.Lottery{ChainID: w.c.ChainID, Address: w.c.Addrs.Lottery}, cl, recipients, relays, exits)
	return w
}

// dial is the daemon's Config.DialChain: a client on the simulated chain,
// mining each transaction it sends.
func (w *world) dial(_ context.Context, n *contracts.Network, o chain.Options) (*chain.Client, error) {
	o.Mine = func() {
		w.mineMu.Lock()
		defer w.mineMu.Unlock()
		w.c.Sim.Commit()
	}
	o.ReceiptPoll = time.Millisecond
	o.PollInterval = 50 * time.Millisecond
	return chain.New(n, w.c.Client, o)
}

func (w *world) directory(*chain.Client, *contracts.Network) NodeDirectory {
	var l nodeList
	for _, n := range w.nodes {
		l = append(l, n.entry)
	}
	return l
}

// config is a proxy-mode daemon configuration on the world.
func (w *world) config() Config {
	return Config{StateDir: filepath.Join(w.t.TempDir(), "state"), NetworkFile: w.netFile,
		Key: keys.Source{Key: "devnet:client0"}, Mode: api.ModeProxy, ProxyAddr: "127.0.0.1:0",
		Logf: w.lg.Logf, DialChain: w.dial, Directory: w.directory}
}

// daemon starts a daemon on cfg and closes it at the end of the test.
func (w *world) daemon(cfg Config) *Daemon {
	w.t.Helper()
	d, err := New(cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { d.Close() })
	return d
}
