package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/devnet"
	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/hop/stream"
	"github.com/pexia-network/pexia/internal/payhop"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/dir"
	"github.com/pexia-network/pexia/wallet/ticket"
)

var (
	buildOnce sync.Once
	binDir    string // removed by TestMain
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	testutil.VerifyTestMain(testutil.RunFunc(func() int {
		code := m.Run()
		if binDir != "" {
			os.RemoveAll(binDir)
		}
		return code
	}))
}

// binary builds pexia-node once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		var err error
		if binDir, err = os.MkdirTemp("", "pexia-node-test"); err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(binDir, "pexia-node")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// pexiaNode runs a pexia-node command to completion.
func pexiaNode(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(binary(t), args...).CombinedOutput()
	return string(out), err
}

// startRun starts `pexia-node` with args; its log is watched.
func startRun(t *testing.T, args ...string) *testutil.Proc {
	t.Helper()
	return testutil.StartProc(t, "pexia-node", exec.Command(binary(t), args...))
}

// hopInfo reads the node's keys from `init`'s output.
func hopInfo(t *testing.T, initOut, url string, addr onion.Address) hop.HopInfo {
	t.Helper()
	m := regexp.MustCompile(`handshake key ([0-9a-f]{64})\ntls pin +([0-9a-f]{64})`).FindStringSubmatch(initOut)
	if m == nil {
		t.Fatalf("init printed %q", initOut)
	}
	info := hop.HopInfo{Address: addr, URL: url}
	k, _ := hex.DecodeString(m[1])
	p, _ := hex.DecodeString(m[2])
	copy(info.NoiseKey[:], k)
	copy(info.Pin[:], p)
	return info
}

// TestRunGracefulShutdown runs the real pexia-node against a devnet chain
// in this process: register checks the exit policy before writing it on
// chain; run serves a paid circuit; on SIGTERM it refuses new streams, lets
// the open one finish, exits 0, and leaves a ticket store that reopens with
// the payments it took.
func TestRunGracefulShutdown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tmp := t.TempDir()
	dn, err := devnet.Start(ctx, devnet.Config{DataDir: filepath.Join(tmp, "chain"), BlockPeriod: devnet.MineOnTransaction, Nodes: 1, Clients: 1,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer dn.Close()
	n := dn.Network()
	nodeKey, err := devnet.Key("node0")
	if err != nil {
		t.Fatal(err)
	}
	nodeAddr := crypto.PubkeyToAddress(nodeKey.PublicKey)

	datadir := filepath.Join(tmp, "node")
	cfgPath := filepath.Join(tmp, "node.toml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
network = %q
datadir = %q
key = "devnet:node0"

[node]
listen = "127.0.0.1:0"
public_url = "https://127.0.0.1:1/"
roles = ["relay", "exit"]
price = "0.01"
exit_policy = "accept tcp 127.0.0.1:*; reject *:*"

[metrics]
listen = "127.0.0.1:0"

[payments]
grace = "10ms"

[shutdown]
drain_timeout = "20s"
`, dn.NetworkFile(), datadir)), 0o600); err != nil {
		t.Fatal(err)
	}
	initOut, err := pexiaNode(t, "-config", cfgPath, "init")
	if err != nil {
		t.Fatalf("init: %v\n%s", err, initOut)
	}

	// register refuses a bad policy before sending anything.
	out, err := pexiaNode(t, "-config", cfgPath, "register", "-policy", "accept *:80 reject *:*")
	if err == nil || !strings.Contains(out, "flag -policy: node.exit_policy: exit policy: column 13") {
		t.Fatalf("register with a bad policy: %v\n%s", err, out)
	}
	cl, err := chain.Dial(ctx, n, chain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, ok, err := dir.New(cl, n.Addresses).Lookup(ctx, nodeAddr); err != nil || ok {
		t.Fatalf("registry entry after a refused register: %v, %v", ok, err)
	}
	if out, err := pexiaNode(t, "-config", cfgPath, "register"); err != nil {
		t.Fatalf("register: %v\n%s", err, out)
	}
	entry, ok, err := dir.New(cl, n.Addresses).Lookup(ctx, nodeAddr)
	if err != nil || !ok || entry.ExitPolicy != "accept tcp 127.0.0.1:*; reject *:*" || entry.Roles != dir.RoleRelay|dir.RoleExit {
		t.Fatalf("registry entry %+v, %v, %v", entry, ok, err)
	}

	p := startRun(t, "-config", cfgPath, "run")
	signaling := p.Await(t, `signaling=(https://\S+/)`, 30*time.Second)
	metricsURL := p.Await(t, `msg="serving metrics" url=(\S+)`, time.Second)

	// A client pays the node with lottery tickets.
	funder, err := devnet.Key("client0")
	if err != nil {
		t.Fatal(err)
	}
	signerKey, _ := crypto.GenerateKey()
	signer := crypto.PubkeyToAddress(signerKey.PublicKey)
	face := contracts.Ether(1)
	face.Div(face, big.NewInt(100))
	if _, err := cl.Deposit(ctx, funder, common.Address{}, signer, contracts.Ether(2), contracts.Ether(1)); err != nil {
		t.Fatal(err)
	}
	lot := ticket.Lottery{ChainID: n.ChainID, Address: n.Addresses.Lottery}
	issuer := ticket.NewIssuer(lot, crypto.PubkeyToAddress(funder.PublicKey), signerKey, ticket.ChainAccounts{Client: cl})
	payer := payhop.Payer(issuer, payhop.ClientTerms{Face: face, WindowBytes: 2 << 20})
	info := hopInfo(t, initOut, signaling, onion.Address(nodeAddr))
	c, err := hop.Build(ctx, []hop.HopInfo{info}, hop.BuildConfig{Payer: payer})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := download(ctx, c, testutil.Source(t, "127.0.0.1:0").Addr, 8<<20); err != nil {
		t.Fatal(err)
	}
	held, err := c.Dial(ctx, "tcp", testutil.EchoTCP(t, "127.0.0.1:0").Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := testutil.RoundTrip(held, "before"); err != nil {
		t.Fatal(err)
	}
	fams := scrape(t, metricsURL)
	if v := value(fams, "pexia_node_tickets_accepted_total"); v < 1 {
		t.Errorf("tickets accepted: %v", v)
	}
	if v := value(fams, "pexia_node_streams_active"); v != 1 {
		t.Errorf("streams active: %v, want 1", v)
	}

	start := time.Now()
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.Await(t, `(shutting down)`, 5*time.Second)
	// The open stream still works; a new one is refused at once.
	if err := testutil.RoundTrip(held, "during the drain"); err != nil {
		t.Fatalf("open stream during the drain: %v", err)
	}
	if conn, err := c.Dial(ctx, "tcp", testutil.EchoTCP(t, "127.0.0.1:0").Addr); err == nil {
		conn.Close()
		t.Error("new stream opened during the drain")
	} else if re := new(stream.RefusedError); !errors.As(err, &re) || re.Reason != stream.ReasonResources {
		t.Errorf("new stream during the drain: %v", err)
	}
	if _, err := link.Dial(ctx, signaling, info.Pin, link.DialConfig{}); err == nil {
		t.Error("signaling still answers offers during the drain")
	}
	select {
	case <-p.Done():
		t.Fatal("pexia-node exited with a stream still open")
	case <-time.After(200 * time.Millisecond):
	}
	held.Close()
	if code := p.Exited(t, 15*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	t.Logf("exited %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(p.Log(), `msg="node stopped"`) {
		t.Error("no final log line")
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Error("client's circuit still up after the node exited")
	}

	// The store was closed cleanly: it reopens at once and holds the
	// payments' replay marks.
	store, err := ticket.OpenStore(filepath.Join(datadir, "tickets.db"))
	if err != nil {
		t.Fatalf("reopen ticket store: %v", err)
	}
	defer store.Close()
	marks, err := store.Marks()
	if err != nil {
		t.Fatal(err)
	}
	if marks[signer] == 0 {
		t.Errorf("no replay mark for the client's signer in %v", marks)
	}
}

// TestRunSecondSignal: a second signal during the drain exits at once.
func TestRunSecondSignal(t *testing.T) {
	tmp := t.TempDir()
	datadir := filepath.Join(tmp, "node")
	initOut, err := pexiaNode(t, "-config", "", "-datadir", datadir, "init")
	if err != nil {
		t.Fatalf("init: %v\n%s", err, initOut)
	}
	p := startRun(t, "-config", "", "-datadir", datadir, "run", "-listen", "127.0.0.1:0", "-metrics", "", "-exit",
		"-policy", "accept tcp 127.0.0.1:*", "-drain-timeout", "1m")
	signaling := p.Await(t, `signaling=(https://\S+/)`, 30*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := hop.Build(ctx, []hop.HopInfo{hopInfo(t, initOut, signaling, onion.Address{})}, hop.BuildConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	held, err := c.Dial(ctx, "tcp", testutil.EchoTCP(t, "127.0.0.1:0").Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := testutil.RoundTrip(held, "x"); err != nil {
		t.Fatal(err)
	}
	p.Cmd.Process.Signal(syscall.SIGTERM)
	p.Await(t, `(shutting down)`, 5*time.Second)
	select {
	case <-p.Done():
		t.Fatal("exited during the drain")
	case <-time.After(300 * time.Millisecond):
	}
	start := time.Now()
	p.Cmd.Process.Signal(syscall.SIGINT)
	if code := p.Exited(t, 3*time.Second); code != 1 {
		t.Errorf("exit code %d after a second signal, want 1", code)
	}
	t.Logf("exited %v after the second signal", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(p.Log(), "second signal") {
		t.Error("no log line for the second signal")
	}
}
