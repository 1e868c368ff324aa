//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/lottery"
	"github.com/pexia-network/pexia/contracts/testtoken"
	"github.com/pexia-network/pexia/internal/testutil"
)

// buildBinary compiles one of the project's commands into dir.
func buildBinary(t *testing.T, dir, name string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, "../cmd/"+name)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("build %s: %v", name, err)
	}
	return out
}

type devnetProc struct {
	cmd     *exec.Cmd
	started time.Time
}

func startDevnet(t *testing.T, bin, datadir string) *devnetProc {
	t.Helper()
	cmd := exec.Command(bin, "-datadir", datadir, "-rpc-port", "0", "-block-period", "1s")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	p := &devnetProc{cmd: cmd, started: time.Now()}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.stop(t) })
	return p
}

func (p *devnetProc) stop(t *testing.T) {
	if p.cmd.ProcessState != nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("pexia-devnet exited with %v after SIGTERM", err)
		}
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		t.Error("pexia-devnet did not stop within 20 s of SIGTERM")
	}
}

// waitReady polls the network file and the RPC endpoint it names until
// eth_chainId answers, and returns the loaded network.
func waitReady(t *testing.T, p *devnetProc, file string, limit time.Duration) (*contracts.Network, *ethclient.Client) {
	t.Helper()
	var n *contracts.Network
	var c *ethclient.Client
	if testutil.Until("pexia-devnet to answer JSON-RPC", limit-time.Since(p.started), func() bool {
		var err error
		if n, err = contracts.LoadNetwork(file); err != nil {
			return false
		}
		if c, err = ethclient.Dial(n.RPC); err != nil {
			return false
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		id, err := c.ChainID(ctx)
		cancel()
		if err == nil && id.Cmp(n.ChainID) == 0 {
			t.Logf("pexia-devnet answered eth_chainId %v after %v", id, time.Since(p.started).Round(time.Millisecond))
			return true
		}
		c.Close()
		return false
	}) != nil {
		t.Fatalf("pexia-devnet not answering JSON-RPC within %v", limit)
	}
	return n, c
}

// TestDevnetProcess starts the real pexia-devnet binary, then, as a second
// process, reads its network file, calls the contracts and sends a deposit;
// a restart on the same data directory keeps the chain.
func TestDevnetProcess(t *testing.T) {
	dir := t.TempDir()
	bin := buildBinary(t, dir, "pexia-devnet")
	datadir := filepath.Join(dir, "chain")
	file := filepath.Join(datadir, "network.json")

	p := startDevnet(t, bin, datadir)
	n, c := waitReady(t, p, file, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	lot := lottery.NewLottery()
	inst := lot.Instance(c, n.Addresses.Lottery)
	delay, err := bind.Call(inst, &bind.CallOpts{Context: ctx}, lot.PackDelay(), lot.UnpackDelay)
	if err != nil || delay == 0 {
		t.Fatalf("Lottery.delay() = %d, %v", delay, err)
	}
	tk, ok := n.Key("client0")
	if !ok {
		t.Fatal("network file has no client0 key")
	}
	tok := testtoken.NewTestToken()
	bal, err := bind.Call(tok.Instance(c, n.Addresses.Token), &bind.CallOpts{Context: ctx}, tok.PackBalanceOf(tk.Address), tok.UnpackBalanceOf)
	if err != nil || bal.Sign() <= 0 {
		t.Fatalf("client0 token balance %v, %v", bal, err)
	}

	key, err := crypto.HexToECDSA(tk.Private)
	if err != nil {
		t.Fatal(err)
	}
	signer := common.HexToAddress("0x5161e7")
	opts := bind.NewKeyedTransactor(key, n.ChainID)
	opts.Context = ctx
	opts.Value = contracts.Ether(3)
	tx, err := bind.Transact(inst, opts, lot.PackDeposit(signer, contracts.Ether(1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := contracts.WaitOK(ctx, c, tx); err != nil {
		t.Fatal(err)
	}
	head, err := c.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	p.stop(t)

	// Restart: same contracts, the deposit is still there, no rewind.
	p = startDevnet(t, bin, datadir)
	n2, c := waitReady(t, p, file, 10*time.Second)
	defer c.Close()
	if n2.Addresses != n.Addresses {
		t.Fatalf("contracts moved on restart: %+v -> %+v", n.Addresses, n2.Addresses)
	}
	acct, err := bind.Call(lot.Instance(c, n2.Addresses.Lottery), &bind.CallOpts{Context: ctx}, lot.PackAccount(common.Address{}, tk.Address, signer), lot.UnpackAccount)
	if err != nil {
		t.Fatal(err)
	}
	if acct.Balance.Cmp(contracts.Ether(2)) != 0 || acct.Escrow.Cmp(contracts.Ether(1)) != 0 {
		t.Fatalf("after restart account = %v/%v, want 2/1 ether", acct.Balance, acct.Escrow)
	}
	if h, err := c.BlockNumber(ctx); err != nil || h < head {
		t.Fatalf("block number after restart %d (%v), was %d", h, err, head)
	}
}
