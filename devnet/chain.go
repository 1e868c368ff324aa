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
	// genesisTime is the fixed genesis timestamp, so that the genesis hash
	// depends only on the funded accounts. The first block gets the time
	// of day.
	genesisTime = 0
	// maxAhead is how many seconds the timer lets the chain be ahead of
	// the clock before it seals blocks anyway.
	maxAhead = 60
	// maxBurst bounds the blocks sealed in a row for waiting transactions
	// in MineOnTransaction mode.
	maxBurst = 64
)

// errClosed is returned by requests to a closed devnet.
var errClosed = errors.New("devnet: closed")

// chainID is the chain ID of every devnet.
var chainID = new(big.Int).Set(contracts.DevChainConfig().ChainID)

// genesis is the genesis of a new devnet: the forks of Pexia's local chains
// (contracts.DevChainConfig, go-ethereum's dev mode without unreleased forks)
// from block zero, the system contracts those forks call, and the test
// accounts funded.
func genesis(keys []contracts.TestKey) *core.Genesis {
	alloc := core.SystemContractAllocs()
	for _, k := range keys {
		alloc[k.Address] = types.Account{Balance: coinFor(k.Role)}
	}
	return &core.Genesis{
		Config:     contracts.DevChainConfig(),
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
	nodeCfg.HTTPHost = d.cfg.RPCHost
	if nodeCfg.HTTPHost == "" {
		nodeCfg.HTTPHost = "127.0.0.1"
	}
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
			// A node that failed to start is closed already.
			if cerr := stack.Close(); !errors.Is(cerr, node.ErrNodeStopped) {
				err = errors.Join(err, cerr)
			}
		}
	}()

	// A new chain gets the genesis; an existing one keeps the genesis and
	// chain configuration it was created with.
	stored, err := storedConfig(stack)
	if err != nil {
		return err
	}
	d.newChain = stored == nil
	if !d.newChain && (stored.ChainID == nil || stored.ChainID.Cmp(chainID) != 0 ||
		stored.TerminalTotalDifficulty == nil || stored.TerminalTotalDifficulty.Sign() != 0 || stored.ShanghaiTime == nil) {
		return fmt.Errorf("devnet: the chain in %s is not a devnet chain (chain ID %v); remove the directory to start over", d.cfg.DataDir, stored.ChainID)
	}
	ethCfg := ethconfig.Defaults
	if d.newChain {
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
		return fmt.Errorf("devnet: open chain: %w", err)
	}
	d.eth = backend

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
	d.log.Info("devnet chain open", "rpc", d.rpc, "head", backend.BlockChain().CurrentBlock().Number, "new", d.newChain)
	return nil
}

// storedConfig returns the chain configuration in the node's chain database,
// or nil if it has no chain yet.
func storedConfig(stack *node.Node) (*params.ChainConfig, error) {
	if rawdb.PreexistingDatabase(stack.ResolvePath("chaindata")) == "" {
		return nil, nil
	}
	db, err := stack.OpenDatabaseWithOptions("chaindata", node.DatabaseOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("devnet: open chain database: %w", err)
	}
	defer db.Close()
	hash := rawdb.ReadCanonicalHash(db, 0)
	if hash == (common.Hash{}) {
		return nil, nil
	}
	config := rawdb.ReadChainConfig(db, hash)
	if config == nil {
		return nil, fmt.Errorf("devnet: chain database in %s has a genesis block but no chain configuration", stack.ResolvePath("chaindata"))
	}
	return config, nil
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
			// A block's timestamp is above its parent's, so blocks
			// sealed in a burst (deploying the contracts) put the
			// chain ahead of the clock; wait for it to catch up,
			// unless the clock went far back.
			ahead := int64(d.eth.BlockChain().CurrentBlock().Time) - time.Now().Unix()
			if ahead < 0 || ahead > maxAhead {
				d.beacon.Commit()
				d.persist()
			}
			timer.Reset(d.cfg.BlockPeriod)
		case done := <-d.mineReq:
			if d.sealPending() {
				d.persist()
			}
			close(done)
		case <-kick:
			if d.sealPending() {
				d.persist()
			}
		}
	}
}

// sealPending seals blocks until the pool has no executable transactions
// left, as go-ethereum's dev mode does with period 0, but no empty blocks,
// and it stops when a block does not shrink the pool (transactions the miner
// will not take).
func (d *Devnet) sealPending() (sealed bool) {
	pool := d.eth.TxPool()
	last := -1
	for range maxBurst {
		if err := pool.Sync(); err != nil {
			return sealed
		}
		executable, _ := pool.Stats()
		if executable == 0 || (last >= 0 && executable >= last) {
			return sealed
		}
		last = executable
		d.beacon.Commit()
		sealed = true
		select {
		case <-d.quit:
			return sealed
		default:
		}
	}
	return sealed
}

// persist makes the blocks sealed so far survive the process being killed:
// go-ethereum's database buffers writes in memory otherwise.
func (d *Devnet) persist() {
	if err := d.eth.ChainDb().SyncKeyValue(); err != nil {
		d.log.Warn("devnet: sync chain database", "err", err)
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
