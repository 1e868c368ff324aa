package devnet_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/devnet"
	"github.com/pexia-network/pexia/internal/testutil"
)

// helperDirEnv makes the test binary run a devnet in the directory it names
// (see TestMain) instead of the tests.
const helperDirEnv = "PEXIA_DEVNET_HELPER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperDirEnv); dir != "" {
		os.Exit(helperDevnet(dir))
	}
	testutil.VerifyTestMain(m)
}

// helperDevnet runs a devnet for TestCrash until it is killed, or until its
// standard input closes (the test is gone).
func helperDevnet(dir string) int {
	d, err := devnet.Start(context.Background(), devnet.Config{DataDir: dir})
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	fmt.Println("READY", d.RPC())
	io.Copy(io.Discard, os.Stdin)
	d.Close()
	return 0
}

// TestCrash kills a devnet process without letting it close, and checks that
// a restart keeps what was mined before.
func TestCrash(t *testing.T) {
	ctx := testContext(t)
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperDirEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(out)
	ready := false
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "READY ") {
			ready = true
			break
		}
		t.Log(lines.Text())
	}
	if !ready {
		t.Fatal("helper devnet did not start")
	}
	n, c := dial(t, ctx, filepath.Join(dir, devnet.NetworkFileName))
	deposit(t, ctx, c, n, "client0", contracts.Ether(4))
	head, err := c.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Let a few empty blocks follow.
	for h := head; h < head+2; time.Sleep(200 * time.Millisecond) {
		if h, err = c.BlockNumber(ctx); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	d := start(t, ctx, devnet.Config{DataDir: dir})
	c2, err := ethclient.DialContext(ctx, d.RPC())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	head2, err := c2.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("head %d before the kill, %d after the restart", head, head2)
	if b := lotteryBalance(t, ctx, c2, n, "client0"); b.Cmp(contracts.Ether(4)) != 0 {
		t.Errorf("lottery balance after crash %v, want 4e18", b)
	}
	deposit(t, ctx, c2, n, "client0", contracts.Ether(1))
}
