// Package devnet runs Pexia's local development chain: a real go-ethereum
// node inside the calling process, its chain kept on disk, JSON-RPC over HTTP
// on 127.0.0.1 (namespaces eth, net and web3), and blocks sealed by
// go-ethereum's simulated beacon on a timer or for every transaction.
//
// The first Start on a data directory creates the chain, deploys a full set of
// Pexia contracts with contracts.Deploy, mints TestToken to every test account
// and writes the network file (network.json) that the other Pexia binaries
// load with -network. While it deploys, blocks are sealed on demand, one per
// contract, so Start returns in well under a second; as block timestamps are
// whole seconds apart, this puts the chain a few seconds ahead of the clock
// and the timer seals no block until the clock has caught up.
//
// A later Start on the same directory reopens the chain with all its state,
// checks that the contracts still have code at the recorded addresses, funds
// test accounts that were asked for but are not in the network file yet, and
// updates the RPC URL in the file if the port changed. It does not redeploy
// (unless the chain itself was removed).
//
// Every block is written to disk as it is sealed, with its state (go-ethereum's
// hash-based archive mode), so a devnet that is killed instead of closed
// restarts where it was. The price is disk space: a few KB per empty block,
// a few hundred MB a day with one-second blocks; a longer block period or
// MineOnTransaction saves it.
//
// Test accounts are deterministic: the private key of a role is
// keccak256("pexia-devnet/" + role). The roles are "deployer" (it deploys the
// contracts and mints the token), "client0".."clientN-1" and
// "node0".."nodeM-1". Each account holds 1,000,000 coins (the deployer
// 1,000,000,000) and 1,000,000 TestToken. The chain runs the forks of
// contracts.DevChainConfig from genesis, with chain ID 1337.
//
// The data directory holds network.json and chain/, the node's instance
// directory (its LOCK file, chaindata and node key). The LOCK makes a second
// devnet on the same directory fail at Start.
package devnet

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/eth"
	"github.com/ethereum/go-ethereum/eth/catalyst"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/node"

	"github.com/pexia-network/pexia/contracts"
)

// Defaults used for zero fields of Config.
const (
	DefaultBlockPeriod  = time.Second
	DefaultClients      = 2
	DefaultNodes        = 5
	DefaultLotteryDelay = 24 * time.Hour
)

// MineOnTransaction as Config.BlockPeriod seals a block as soon as a
// transaction arrives instead of on a timer.
const MineOnTransaction time.Duration = -1

// NetworkFileName is the name of the network file in the data directory.
const NetworkFileName = "network.json"

// NetworkName is the name written to the network file.
const NetworkName = "devnet"

// Config configures a devnet. Zero fields take the defaults above.
type Config struct {
	// DataDir holds the chain and the network file; it is created if
	// missing. Required.
	DataDir string
	// RPCPort is the HTTP JSON-RPC port on 127.0.0.1; 0 picks a free port
	// (see Devnet.RPC for the one taken).
	RPCPort int
	// RPCHost is the address the JSON-RPC endpoint listens on (default
	// 127.0.0.1). Tests in network namespaces give the namespace's own
	// address so that other namespaces reach the chain.
	RPCHost string
	// BlockPeriod is the time between blocks, at least one second (block
	// timestamps are whole seconds). MineOnTransaction seals a block for
	// every transaction instead.
	BlockPeriod time.Duration
	// Clients and Nodes are the numbers of client and node test accounts.
	Clients, Nodes int
	// LotteryDelay is the Lottery's delay between warn and withdraw, whole
	// seconds, at least one. It only matters when the contracts are
	// deployed, on the first start.
	LotteryDelay time.Duration
	// LogIndex keeps go-ethereum's log index, so that eth_getLogs over
	// long block ranges stays fast. Without it (as in the simulated
	// backend) eth_getLogs scans the blocks of the range, quick for the
	// short ranges clients poll; loading the index on every start costs
	// thousands of database reads (0.2 s, seconds under -race).
	LogIndex bool
	// Logger receives the devnet's own messages; nil discards them.
	// go-ethereum logs through its global logger (log.SetDefault), which
	// discards everything unless set.
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.DataDir == "" {
		return c, errors.New("devnet: no data directory")
	}
	dir, err := filepath.Abs(c.DataDir)
	if err != nil {
		return c, fmt.Errorf("devnet: data directory: %w", err)
	}
	c.DataDir = dir
	if c.RPCPort < 0 || c.RPCPort > 65535 {
		return c, fmt.Errorf("devnet: bad RPC port %d", c.RPCPort)
	}
	switch {
	case c.BlockPeriod == 0:
		c.BlockPeriod = DefaultBlockPeriod
	case c.BlockPeriod == MineOnTransaction:
	case c.BlockPeriod < time.Second:
		return c, fmt.Errorf("devnet: block period %v is below one second", c.BlockPeriod)
	}
	if c.Clients < 0 || c.Nodes < 0 {
		return c, fmt.Errorf("devnet: negative number of clients (%d) or nodes (%d)", c.Clients, c.Nodes)
	}
	if c.Clients == 0 {
		c.Clients = DefaultClients
	}
	if c.Nodes == 0 {
		c.Nodes = DefaultNodes
	}
	switch {
	case c.LotteryDelay == 0:
		c.LotteryDelay = DefaultLotteryDelay
	case c.LotteryDelay < time.Second:
		return c, fmt.Errorf("devnet: lottery delay %v is below one second", c.LotteryDelay)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Devnet is a running development chain. Its methods are safe for concurrent
// use.
type Devnet struct {
	cfg      Config
	log      *slog.Logger
	stack    *node.Node
	eth      *eth.Ethereum
	beacon   *catalyst.SimulatedBeacon
	client   *ethclient.Client // in-process, for the devnet's own transactions
	rpc      string
	netFile  string
	newChain bool // the chain was created by this Start

	mu  sync.Mutex
	net *contracts.Network

	mineReq chan chan struct{} // requests to seal a block now
	quit    chan struct{}      // closed by Close
	loops   sync.WaitGroup     // block production goroutines

	closeOnce sync.Once
	closeErr  error
}

// Start opens or creates the devnet in cfg.DataDir and returns once the chain
// answers JSON-RPC and the contracts are deployed. ctx bounds the start only;
// the devnet runs until Close.
func Start(ctx context.Context, cfg Config) (*Devnet, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("devnet: data directory: %w", err)
	}
	netFile := filepath.Join(cfg.DataDir, NetworkFileName)
	prev, err := loadNetwork(netFile)
	if err != nil {
		return nil, err
	}
	want, err := testKeys(Roles(cfg.Clients, cfg.Nodes))
	if err != nil {
		return nil, err
	}
	d := &Devnet{
		cfg:     cfg,
		log:     cfg.Logger,
		netFile: netFile,
		mineReq: make(chan chan struct{}),
		quit:    make(chan struct{}),
	}
	if err := d.openChain(want); err != nil {
		return nil, err
	}
	switch {
	case prev == nil:
		err = d.bootstrap(ctx, want)
	case d.newChain:
		// The chain was removed but not the network file: deploy anew
		// (the deployer's first transactions create the same addresses).
		d.log.Warn("devnet chain missing, deploying again", "network", netFile)
		err = d.bootstrap(ctx, want)
	default:
		err = d.reopen(ctx, prev, want)
	}
	if err != nil {
		return nil, errors.Join(err, d.Close())
	}
	return d, nil
}

// loadNetwork reads the network file, or returns nil if there is none.
func loadNetwork(path string) (*contracts.Network, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("devnet: %w", err)
	}
	n, err := contracts.LoadNetwork(path)
	if err != nil {
		return nil, fmt.Errorf("devnet: %w", err)
	}
	return n, nil
}

// Close stops block production and shuts the node down, writing the chain to
// disk. Only the first call does anything.
func (d *Devnet) Close() error {
	d.closeOnce.Do(func() {
		close(d.quit)
		d.loops.Wait()
		if d.client != nil {
			d.client.Close()
		}
		if err := d.stack.Close(); err != nil {
			d.closeErr = fmt.Errorf("devnet: close node: %w", err)
		}
		d.log.Info("devnet stopped")
	})
	return d.closeErr
}

// RPC is the URL of the HTTP JSON-RPC endpoint, e.g. http://127.0.0.1:8545.
func (d *Devnet) RPC() string { return d.rpc }

// NetworkFile is the path of the network file in the data directory.
func (d *Devnet) NetworkFile() string { return d.netFile }

// Network returns a copy of the network the devnet wrote to its network file.
func (d *Devnet) Network() *contracts.Network {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := *d.net
	n.ChainID = new(big.Int).Set(d.net.ChainID)
	n.Keys = append([]contracts.TestKey(nil), d.net.Keys...)
	return &n
}
