package devnet_test

import (
	"context"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/directory"
	"github.com/pexia-network/pexia/contracts/lottery"
	"github.com/pexia-network/pexia/contracts/testtoken"
	"github.com/pexia-network/pexia/devnet"
)

// signer is the ticket signer the test deposits are made for.
var signer = common.HexToAddress("0x5151515151515151515151515151515151515151")

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// start starts a devnet and closes it at the end of the test unless the test
// closes it first.
func start(t *testing.T, ctx context.Context, cfg devnet.Config) *devnet.Devnet {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	d, err := devnet.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// dial connects a client of its own to the RPC URL in the network file.
func dial(t *testing.T, ctx context.Context, path string) (*contracts.Network, *ethclient.Client) {
	t.Helper()
	n, err := contracts.LoadNetwork(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ethclient.DialContext(ctx, n.RPC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return n, c
}

// deposit deposits amount native coin into the Lottery from role for signer
// and waits for it to be mined.
func deposit(t *testing.T, ctx context.Context, c *ethclient.Client, n *contracts.Network, role string, amount *big.Int) {
	t.Helper()
	k, ok := n.Key(role)
	if !ok {
		t.Fatalf("no key for %s", role)
	}
	pk, err := crypto.HexToECDSA(k.Private)
	if err != nil {
		t.Fatal(err)
	}
	opts := bind.NewKeyedTransactor(pk, n.ChainID)
	opts.Context = ctx
	opts.Value = amount
	lot := lottery.NewLottery()
	start := time.Now()
	tx, err := bind.Transact(lot.Instance(c, n.Addresses.Lottery), opts, lot.PackDeposit(signer, new(big.Int)))
	if err != nil {
		t.Fatal(err)
	}
	r, err := contracts.WaitOK(ctx, c, tx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("deposit from %s mined in block %d after %v", role, r.BlockNumber, time.Since(start).Round(time.Millisecond))
}

// lotteryBalance is the Lottery balance of role's account for signer.
func lotteryBalance(t *testing.T, ctx context.Context, c *ethclient.Client, n *contracts.Network, role string) *big.Int {
	t.Helper()
	k, _ := n.Key(role)
	lot := lottery.NewLottery()
	a, err := bind.Call(lot.Instance(c, n.Addresses.Lottery), &bind.CallOpts{Context: ctx}, lot.PackAccount(common.Address{}, k.Address, signer), lot.UnpackAccount)
	if err != nil {
		t.Fatal(err)
	}
	return a.Balance
}

func tokenBalance(t *testing.T, ctx context.Context, c *ethclient.Client, n *contracts.Network, role string) *big.Int {
	t.Helper()
	k, ok := n.Key(role)
	if !ok {
		t.Fatalf("no key for %s", role)
	}
	tt := testtoken.NewTestToken()
	b, err := bind.Call(tt.Instance(c, n.Addresses.Token), &bind.CallOpts{Context: ctx}, tt.PackBalanceOf(k.Address), tt.UnpackBalanceOf)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func roleOf(n *contracts.Network, a common.Address) string {
	for _, k := range n.Keys {
		if k.Address == a {
			return k.Role
		}
	}
	return ""
}

func TestStart(t *testing.T) {
	ctx := testContext(t)
	t0 := time.Now()
	d := start(t, ctx, devnet.Config{DataDir: t.TempDir()})
	startTook := time.Since(t0)
	c, err := ethclient.DialContext(ctx, d.RPC())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id, err := c.ChainID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	answered := time.Since(t0)
	t.Logf("Start took %v; eth_chainId answered %v after Start was called", startTook.Round(time.Millisecond), answered.Round(time.Millisecond))
	if answered > 10*time.Second {
		t.Errorf("eth_chainId answered after %v, want within 10s", answered)
	}
	if id.Cmp(big.NewInt(1337)) != 0 {
		t.Errorf("chain ID %v, want 1337", id)
	}

	// A second client, knowing only the network file.
	n, c2 := dial(t, ctx, d.NetworkFile())
	if n.Name != "devnet" || n.RPC != d.RPC() || n.ChainID.Cmp(id) != 0 {
		t.Errorf("network file: name %q rpc %q chain %v, want devnet %q %v", n.Name, n.RPC, n.ChainID, d.RPC(), id)
	}
	if got := d.Network(); got.Addresses != n.Addresses {
		t.Errorf("Network() addresses %+v, file %+v", got.Addresses, n.Addresses)
	}
	var roles []string
	for _, k := range n.Keys {
		roles = append(roles, k.Role)
	}
	if got, want := strings.Join(roles, ","), "deployer,client0,client1,node0,node1,node2,node3,node4"; got != want {
		t.Errorf("roles %s, want %s", got, want)
	}
	key, err := devnet.Key("client0")
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := n.Key("client0"); k.Address != crypto.PubkeyToAddress(key.PublicKey) {
		t.Errorf("client0 address %s does not match devnet.Key", k.Address)
	}

	lot := lottery.NewLottery()
	delay, err := bind.Call(lot.Instance(c2, n.Addresses.Lottery), &bind.CallOpts{Context: ctx}, lot.PackDelay(), lot.UnpackDelay)
	if err != nil {
		t.Fatal(err)
	}
	if delay != 86400 {
		t.Errorf("lottery delay %d, want 86400", delay)
	}
	for _, role := range []string{"client0", "node4", "deployer"} {
		want := contracts.Ether(1_000_000)
		if strings.HasPrefix(role, "node") {
			want = contracts.Ether(1_000_000 - 10_000) // staked on itself
		}
		if b := tokenBalance(t, ctx, c2, n, role); b.Cmp(want) != 0 {
			t.Errorf("token balance of %s %v, want %v", role, b, want)
		}
		k, _ := n.Key(role)
		if b, err := c2.BalanceAt(ctx, k.Address, nil); err != nil || b.Cmp(contracts.Ether(1000)) < 0 {
			t.Errorf("coin balance of %s %v (%v), want plenty", role, b, err)
		}
	}

	// Every node is staked in the directory, and a scan finds one.
	dir := directory.NewDirectory()
	dirc := dir.Instance(c2, n.Addresses.Directory)
	total, err := bind.Call(dirc, &bind.CallOpts{Context: ctx}, dir.PackTotal(), dir.UnpackTotal)
	if err != nil || total.Cmp(contracts.Ether(5*10_000)) != 0 {
		t.Errorf("directory total stake %v (%v), want 5 × 10,000 tokens", total, err)
	}
	pick, err := bind.Call(dirc, &bind.CallOpts{Context: ctx}, dir.PackScan(big.NewInt(123456789)), dir.UnpackScan)
	if err != nil || !strings.HasPrefix(roleOf(n, pick.Stakee), "node") || pick.Delay != 90*86400 {
		t.Errorf("scan picked %s (%q) with delay %d (%v), want a node staked for 90 days", pick.Stakee, roleOf(n, pick.Stakee), pick.Delay, err)
	}

	deposit(t, ctx, c2, n, "client0", contracts.Ether(3))
	if b := lotteryBalance(t, ctx, c2, n, "client0"); b.Cmp(contracts.Ether(3)) != 0 {
		t.Errorf("lottery balance %v, want 3e18", b)
	}
	// Once the deployment's blocks are behind, the chain keeps to the clock.
	if h, err := c2.HeaderByNumber(ctx, nil); err != nil {
		t.Fatal(err)
	} else if ahead := int64(h.Time) - time.Now().Unix(); ahead > 1 {
		t.Errorf("head %d is %d s ahead of the clock", h.Number, ahead)
	}
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestRestart(t *testing.T) {
	ctx := testContext(t)
	dir := t.TempDir()
	d := start(t, ctx, devnet.Config{DataDir: dir})
	n1, c1 := dial(t, ctx, d.NetworkFile())
	deposit(t, ctx, c1, n1, "client0", contracts.Ether(5))
	deployer, _ := n1.Key("deployer")
	nonce1, err := c1.NonceAt(ctx, deployer.Address, nil)
	if err != nil {
		t.Fatal(err)
	}
	head1, err := c1.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// The data directory is locked while the devnet runs.
	if d2, err := devnet.Start(ctx, devnet.Config{DataDir: dir}); err == nil {
		d2.Close()
		t.Fatal("second devnet on the same directory started")
	} else if !strings.Contains(err.Error(), "in use") {
		t.Errorf("second devnet on the same directory: %v, want an in-use error", err)
	} else {
		t.Logf("second devnet on the same directory: %v", err)
	}

	c1.Close()
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Restart: the chain and the contracts are kept, nothing is deployed.
	t0 := time.Now()
	d = start(t, ctx, devnet.Config{DataDir: dir})
	t.Logf("restart took %v", time.Since(t0).Round(time.Millisecond))
	n2, c2 := dial(t, ctx, d.NetworkFile())
	if n2.RPC != d.RPC() {
		t.Errorf("network file RPC %s, devnet %s", n2.RPC, d.RPC())
	}
	if n2.Addresses != n1.Addresses || len(n2.Keys) != len(n1.Keys) {
		t.Errorf("network changed on restart: %+v, was %+v", n2, n1)
	}
	if nonce, err := c2.NonceAt(ctx, deployer.Address, nil); err != nil || nonce != nonce1 {
		t.Errorf("deployer nonce %d (%v) after restart, want %d: no redeployment", nonce, err, nonce1)
	}
	head2, err := c2.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if head2 < head1 {
		t.Errorf("head went back from %d to %d", head1, head2)
	}
	t.Logf("head %d before restart, %d after", head1, head2)
	if b := lotteryBalance(t, ctx, c2, n2, "client0"); b.Cmp(contracts.Ether(5)) != 0 {
		t.Errorf("lottery balance after restart %v, want 5e18", b)
	}
	// Blocks keep coming and transactions get mined after the restart.
	deposit(t, ctx, c2, n2, "client0", contracts.Ether(1))
	if b := lotteryBalance(t, ctx, c2, n2, "client0"); b.Cmp(contracts.Ether(6)) != 0 {
		t.Errorf("lottery balance %v, want 6e18", b)
	}
	if got := lotteryLogs(t, ctx, c2, n2); got != 2 {
		t.Errorf("%d Lottery logs, want 2", got)
	}
	c2.Close()
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}

	// Restart with one client more: it is funded, on the same contracts.
	d = start(t, ctx, devnet.Config{DataDir: dir, Clients: 3})
	n3, c3 := dial(t, ctx, d.NetworkFile())
	if n3.Addresses != n1.Addresses || len(n3.Keys) != len(n1.Keys)+1 {
		t.Errorf("network after restart with a client more: %+v, was %+v", n3, n1)
	}
	// The new client costs the deployer a coin transfer and a mint.
	if nonce, err := c3.NonceAt(ctx, deployer.Address, nil); err != nil || nonce != nonce1+2 {
		t.Errorf("deployer nonce %d (%v), want %d", nonce, err, nonce1+2)
	}
	if b := tokenBalance(t, ctx, c3, n3, "client2"); b.Cmp(contracts.Ether(1_000_000)) != 0 {
		t.Errorf("token balance of the new client %v, want 1e24", b)
	}
	deposit(t, ctx, c3, n3, "client2", contracts.Ether(1))
	if b := lotteryBalance(t, ctx, c3, n3, "client0"); b.Cmp(contracts.Ether(6)) != 0 {
		t.Errorf("lottery balance %v, want 6e18", b)
	}
}

// lotteryLogs counts the Lottery's logs since genesis.
func lotteryLogs(t *testing.T, ctx context.Context, c *ethclient.Client, n *contracts.Network) int {
	t.Helper()
	logs, err := c.FilterLogs(ctx, ethereum.FilterQuery{FromBlock: new(big.Int), Addresses: []common.Address{n.Addresses.Lottery}})
	if err != nil {
		t.Fatal(err)
	}
	return len(logs)
}

func TestMineOnTransaction(t *testing.T) {
	ctx := testContext(t)
	d := start(t, ctx, devnet.Config{DataDir: t.TempDir(), BlockPeriod: devnet.MineOnTransaction, Clients: 1, Nodes: 1, LogIndex: true})
	n, c := dial(t, ctx, d.NetworkFile())
	head, err := c.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deposit(t, ctx, c, n, "client0", contracts.Ether(2))
	if b := lotteryBalance(t, ctx, c, n, "client0"); b.Cmp(contracts.Ether(2)) != 0 {
		t.Errorf("lottery balance %v, want 2e18", b)
	}
	if got := lotteryLogs(t, ctx, c, n); got != 1 {
		t.Errorf("%d Lottery logs, want 1", got)
	}
	time.Sleep(1500 * time.Millisecond)
	after, err := c.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after != head+1 {
		t.Errorf("head %d after one transaction, want %d", after, head+1)
	}
}

func TestConfigErrors(t *testing.T) {
	ctx := testContext(t)
	for _, cfg := range []devnet.Config{
		{},
		{DataDir: t.TempDir(), BlockPeriod: 100 * time.Millisecond},
		{DataDir: t.TempDir(), Clients: -1},
		{DataDir: t.TempDir(), RPCPort: 70000},
		{DataDir: t.TempDir(), LotteryDelay: time.Millisecond},
	} {
		if d, err := devnet.Start(ctx, cfg); err == nil {
			d.Close()
			t.Errorf("Start(%+v) succeeded", cfg)
		}
	}
}

// TestChainRemoved removes the chain but keeps the network file: the next
// start deploys again, at the same addresses.
func TestChainRemoved(t *testing.T) {
	ctx := testContext(t)
	dir := t.TempDir()
	d := start(t, ctx, devnet.Config{DataDir: dir, BlockPeriod: devnet.MineOnTransaction})
	n1 := d.Network()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "chain")); err != nil {
		t.Fatal(err)
	}
	d = start(t, ctx, devnet.Config{DataDir: dir, BlockPeriod: devnet.MineOnTransaction})
	n2, c := dial(t, ctx, d.NetworkFile())
	if n2.Addresses != n1.Addresses {
		t.Errorf("addresses %+v, were %+v", n2.Addresses, n1.Addresses)
	}
	if b := tokenBalance(t, ctx, c, n2, "client0"); b.Cmp(contracts.Ether(1_000_000)) != 0 {
		t.Errorf("token balance %v, want 1e24", b)
	}
}
