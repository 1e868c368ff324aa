package devnet

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/eth"
	"github.com/ethereum/go-ethereum/eth/catalyst"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/eth/filters"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/p2p"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/pexia-network/pexia/contracts"
)

const (
	// instanceName is the node's instance directory inside the data
	// directory.
	instanceName = "chain"
	// gasLimit is the block gas limit.
	gasLimit = 60_000_000
	// genesisTime is the fixed genesis timestamp (2026-01-01 UTC), so that
	// the genesis hash depends only on the funded accounts.
	genesisTime = 1_767_225_600
	// maxBurst bounds the blocks sealed in a row for waiting transactions
	// in MineOnTransaction mode.
	maxBurst = 64
)

// errClosed is returned by requests to a closed devnet.
var errClosed = errors.New("devnet: closed")

// chainID is the chain ID of every devnet.
var chainID = new(big.Int).Set(params.AllDevChainProtocolChanges.ChainID)

// genesis is the genesis of a new devnet: every fork from block zero as in
// go-ethereum's dev mode, the system contracts those forks call, and the test
// accounts funded.
func genesis(keys []contracts.TestKey) *core.Genesis {
	alloc := core.SystemContractAllocs()
	for _, k := range keys {
		alloc[k.Address] = types.Account{Balance: coinFor(k.Role)}
	}
	config := *params.AllDevChainProtocolChanges
	return &core.Genesis{
		Config:     &config,
		Timestamp:  genesisTime,
		GasLimit:   gasLimit,
		BaseFee:    big.NewInt(params.InitialBaseFee),
		Difficulty: big.NewInt(0),
		Alloc:      alloc,
	}
}

// openChain creates and starts the node, the Ethereum service and block
// production. On error nothing is left running.
func (d *Devnet) openChain(keys []contracts.TestKey) (err error) {
	nodeCfg := node.DefaultConfig
	nodeCfg.Name = instanceName
	nodeCfg.DataDir = d.cfg.DataDir
	nodeCfg.KeyStoreDir = filepath.Join(d.cfg.DataDir, instanceName, "keystore")
	nodeCfg.IPCPath = ""
	nodeCfg.HTTPHost = "127.0.0.1"
	nodeCfg.HTTPPort = d.cfg.RPCPort
	nodeCfg.HTTPModules = []string{"eth", "net", "web3"}
	nodeCfg.AuthPort = 0 // only opened if an authenticated API is registered; none is
	nodeCfg.WSHost = ""
	nodeCfg.P2P = p2p.Config{MaxPeers: 0, NoDiscovery: true, NoDial: true, ListenAddr: ""}
	stack, err := node.New(&nodeCfg)
	if errors.Is(err, node.ErrDatadirUsed) {
		return fmt.Errorf("devnet: data directory %s is in use by another devnet: %w", d.cfg.DataDir, err)
	}
	if err != nil {
		return fmt.Errorf("devnet: create node: %w", err)
	}
	d.stack = stack
	defer func() {
		if err != nil {
			close(d.quit)
			d.loops.Wait()
			if d.client != nil {
				d.client.Close()
			}
			err = errors.Join(err, stack.Close())
		}
	}()

	// A new chain gets the genesis; an existing one keeps the genesis and
	// chain configuration it was created with.
	exists, err := hasChain(stack)
	if err != nil {
		return err
	}
	ethCfg := ethconfig.Defaults
	if !exists {
		ethCfg.Genesis = genesis(keys)
		// Hash-based state in archive mode writes the state of every
		// block to the database as the block is added, so a devnet that
		// is killed loses nothing; path-based state (the default) keeps
		// recent state in memory until a clean shutdown and a kill
		// would take the chain back to genesis. An existing chain
		// keeps its scheme.
		ethCfg.StateScheme = rawdb.HashScheme
	}
	ethCfg.NoPruning = true
	ethCfg.SyncMode = ethconfig.FullSync
	ethCfg.TxPool.NoLocals = true
	ethCfg.LogNoHistory = !d.cfg.LogIndex
	ethCfg.Miner.GasCeil = gasLimit
	// A devnet holds little state: keep the caches small.
	ethCfg.DatabaseCache = 64
	ethCfg.TrieCleanCache = 32
	ethCfg.TrieDirtyCache = 32
	ethCfg.SnapshotCache = 0 // no snapshot to regenerate after a kill
	backend, err := eth.New(stack, &ethCfg)
	if err != nil {
		var mismatch *core.GenesisMismatchError
		if errors.As(err, &mismatch) {
			return fmt.Errorf("devnet: chain in %s is not a devnet chain (remove the directory to start over): %w", d.cfg.DataDir, err)
		}
		return fmt.Errorf("devnet: open chain: %w", err)
	}
	d.eth = backend
	if cc := backend.BlockChain().Config(); cc.ChainID == nil || cc.ChainID.Cmp(chainID) != 0 ||
		cc.TerminalTotalDifficulty == nil || cc.TerminalTotalDifficulty.Sign() != 0 || cc.ShanghaiTime == nil {
		return fmt.Errorf("devnet: chain in %s is not a devnet chain (chain ID %v, want %v; remove the directory to start over)", d.cfg.DataDir, cc.ChainID, chainID)
	}

	// Log filters (eth_getLogs, eth_newFilter), as geth registers them.
	filterSystem := filters.NewFilterSystem(backend.APIBackend, filters.Config{
		LogCacheSize:  ethCfg.FilterLogCacheSize,
		LogQueryLimit: ethCfg.LogQueryLimit,
		RangeLimit:    ethCfg.RangeLimit,
	})
	stack.RegisterAPIs([]rpc.API{{Namespace: "eth", Service: filters.NewFilterAPI(filterSystem)}})

	// The simulated beacon drives the merged chain. It is created with
	// period 0, so it seals nothing by itself: produce (below) calls
	// Commit from a single goroutine for the timer, for on-demand blocks
	// while bootstrapping, and for transactions in MineOnTransaction mode.
	// Its dev RPC API is not registered, because in period 0 that API
	// seals blocks from its own goroutine.
	beacon, err := catalyst.NewSimulatedBeacon(0, common.Address{}, backend)
	if err != nil {
		return fmt.Errorf("devnet: simulated beacon: %w", err)
	}
	d.beacon = beacon
	stack.RegisterLifecycle(beacon)

	if err := stack.Start(); err != nil {
		return fmt.Errorf("devnet: start node: %w", err)
	}
	d.rpc = stack.HTTPEndpoint()
	d.client = ethclient.NewClient(stack.Attach())
	d.startProduction()
	d.log.Info("devnet chain open", "rpc", d.rpc, "head", backend.BlockChain().CurrentBlock().Number, "new", !exists)
	return nil
}

// hasChain reports whether the node's chain database already holds a genesis.
func hasChain(stack *node.Node) (bool, error) {
	if rawdb.PreexistingDatabase(stack.ResolvePath("chaindata")) == "" {
		return false, nil
	}
	db, err := stack.OpenDatabaseWithOptions("chaindata", node.DatabaseOptions{ReadOnly: true})
	if err != nil {
		return false, fmt.Errorf("devnet: open chain database: %w", err)
	}
	defer db.Close()
	return rawdb.ReadCanonicalHash(db, 0) != (common.Hash{}), nil
}

// startProduction starts sealing blocks.
func (d *Devnet) startProduction() {
	var kick chan struct{}
	if d.cfg.BlockPeriod == MineOnTransaction {
		// Forward transaction pool events to a one-slot channel, never
		// blocking the pool (it sends while the producer waits on it).
		kick = make(chan struct{}, 1)
		txs := make(chan core.NewTxsEvent, 16)
		sub := d.eth.TxPool().SubscribeTransactions(txs, true)
		d.loops.Go(func() {
			defer sub.Unsubscribe()
			for {
				select {
				case <-txs:
					select {
					case kick <- struct{}{}:
					default:
					}
				case <-sub.Err():
					return
				case <-d.quit:
					return
				}
			}
		})
	}
	d.loops.Go(func() { d.produce(kick) })
}

// produce is the only caller of the beacon's Commit.
func (d *Devnet) produce(kick <-chan struct{}) {
	var tick <-chan time.Time
	var timer *time.Timer
	if period := d.cfg.BlockPeriod; period > 0 {
		timer = time.NewTimer(period)
		defer timer.Stop()
		tick = timer.C
	}
	for {
		select {
		case <-d.quit:
			return
		case <-tick:
			d.beacon.Commit()
			timer.Reset(d.cfg.BlockPeriod)
		case done := <-d.mineReq:
			d.sealPending()
			close(done)
		case <-kick:
			d.sealPending()
		}
	}
}

// sealPending seals blocks until the pool has no executable transactions
// left, as go-ethereum's dev mode does with period 0, but no empty blocks,
// and it stops when a block does not shrink the pool (transactions the miner
// will not take).
func (d *Devnet) sealPending() {
	pool := d.eth.TxPool()
	last := -1
	for range maxBurst {
		if err := pool.Sync(); err != nil {
			return
		}
		executable, _ := pool.Stats()
		if executable == 0 || (last >= 0 && executable >= last) {
			return
		}
		last = executable
		d.beacon.Commit()
		select {
		case <-d.quit:
			return
		default:
		}
	}
}

// mine seals the executable transactions of the pool now, and returns once
// they are in the chain.
func (d *Devnet) mine(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case d.mineReq <- done:
	case <-d.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-d.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}
