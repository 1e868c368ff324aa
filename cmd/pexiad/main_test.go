package main

import (
	"encoding/hex"
	"fmt"
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
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/wallet/keys"
)

var (
	buildOnce sync.Once
	binDir    string
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

// binary builds pexiad once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "pexiad-test"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "pexiad")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// fakeNetwork writes a network file for chainID whose RPC endpoint does not
// answer; the daemon needs no chain until it connects.
func fakeNetwork(t *testing.T, chainID int64) string {
	t.Helper()
	a := func(b byte) common.Address { return common.BytesToAddress([]byte{b}) }
	n := &contracts.Network{Name: "test", ChainID: big.NewInt(chainID), RPC: "http://127.0.0.1:1",
		Addresses: contracts.Addresses{Lottery: a(1), Directory: a(2), Registry: a(3), Curator: a(4), Token: a(5)}}
	p := filepath.Join(t.TempDir(), "network.json")
	if err := n.Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// start runs pexiad (proxy mode, unprivileged) on network; its log is kept.
func start(t *testing.T, network string, extra ...string) *testutil.Proc {
	t.Helper()
	state := t.TempDir()
	args := append([]string{"-mode", "proxy", "-proxy", "127.0.0.1:0", "-state-dir", state, "-socket", filepath.Join(state, "pexiad.sock"),
		"-group", "", "-network", network}, extra...)
	return testutil.StartProc(t, "pexiad", exec.Command(binary(t), args...))
}

// outcome waits until pexiad either exits (started false) or serves its
// API (started true), and returns the log so far.
func outcome(t *testing.T, d *testutil.Proc) (started bool, log string) {
	t.Helper()
	testutil.WaitFor(t, "pexiad to start or exit", 60*time.Second, func() bool {
		select {
		case <-d.Done():
			return true
		default:
			return strings.Contains(d.Log(), "local API on")
		}
	})
	l := d.Log()
	return strings.Contains(l, "local API on"), l
}

const testHexKey = "8a1f9a8f95be41cd7ccb6168179afb4504aefe388d1e14474d32c45c72ce7b7a"

// TestPlainKeysRefused: -key with a hex key is refused unless the network
// is a development chain (it would show in /proc/PID/cmdline), and a key
// file that its group or others may read is refused on any chain.
func TestPlainKeysRefused(t *testing.T) {
	mainnet, dev := fakeNetwork(t, 1), fakeNetwork(t, 1337)
	loose := filepath.Join(t.TempDir(), "funder.key")
	if err := os.WriteFile(loose, []byte(testHexKey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(loose, 0o644)
	for _, tc := range []struct {
		name, network, key, want string
	}{
		{"hex on chain 1", mainnet, testHexKey, "plain-text private key refused"},
		{"0x hex on chain 1", mainnet, "0x" + testHexKey, "plain-text private key refused"},
		{"key file 0644", dev, "file:" + loose, "chmod 600 " + loose},
	} {
		t.Run(tc.name, func(t *testing.T) {
			started, log := outcome(t, start(t, tc.network, "-key", tc.key))
			if started || !strings.Contains(log, tc.want) {
				t.Errorf("pexiad with -key %s: started %v, want it refused with %q", tc.key, started, tc.want)
			}
			if strings.Contains(log, testHexKey) {
				t.Errorf("the log echoes the key")
			}
		})
	}
	// A development chain takes a hex key.
	if started, _ := outcome(t, start(t, dev, "-key", testHexKey)); !started {
		t.Error("pexiad refused a hex key on a development chain")
	}
}

// TestStartsFromKeystore: init creates the funder key in an encrypted
// keystore and a passphrase file only its owner may read; pexiad starts
// from them on a chain that is not a development chain, and neither the key
// nor the passphrase shows in /proc/PID/cmdline, /proc/PID/environ or the
// log.
func TestStartsFromKeystore(t *testing.T) {
	tmp := t.TempDir()
	ks := filepath.Join(tmp, "keystore")
	passFile := filepath.Join(tmp, "etc", "funder.passphrase")
	out, err := exec.Command(binary(t), "-keystore", ks, "-passphrase-file", passFile, "init").CombinedOutput()
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	fi, err := os.Stat(passFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("passphrase file: %v, %v", fi, err)
	}
	pass, _ := os.ReadFile(passFile)
	passphrase := strings.TrimSpace(string(pass))
	st, err := keys.Open(ks)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := st.Unlock("funder", passphrase)
	if err != nil {
		t.Fatalf("the keystore does not hold the funder: %v\ninit printed:\n%s", err, out)
	}
	addr := crypto.PubkeyToAddress(priv.PublicKey)
	keyHex := hex.EncodeToString(crypto.FromECDSA(priv))
	if !strings.Contains(string(out), addr.Hex()) {
		t.Errorf("init did not print the funder %s:\n%s", addr, out)
	}

	d := start(t, fakeNetwork(t, 1), "-keystore", ks, "-passphrase-file", passFile)
	started, log := outcome(t, d)
	if !started {
		t.Fatal("pexiad did not start from the keystore")
	}
	if m := regexp.MustCompile(`funder (0x[0-9a-fA-F]{40})`).FindStringSubmatch(log); m == nil || m[1] != addr.Hex() {
		t.Errorf("pexiad does not say it pays from %s", addr)
	}
	pid := d.Cmd.Process.Pid
	for _, f := range []string{"cmdline", "environ"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(strings.ToLower(string(b)), keyHex) || strings.Contains(string(b), passphrase) {
			t.Errorf("/proc/%d/%s holds the key or the passphrase: %q", pid, f, b)
		}
	}
	d.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("pexiad did not stop")
	}
	if log := d.Log(); strings.Contains(strings.ToLower(log), keyHex) || strings.Contains(log, passphrase) {
		t.Errorf("the log holds the key or the passphrase:\n%s", log)
	}

	// A passphrase file others may read stops the daemon from starting.
	if err := os.Chmod(passFile, 0o644); err != nil {
		t.Fatal(err)
	}
	if started, log := outcome(t, start(t, fakeNetwork(t, 1), "-keystore", ks, "-passphrase-file", passFile)); started || !strings.Contains(log, "chmod 600 "+passFile) {
		t.Errorf("pexiad with a passphrase file of mode 0644: started %v", started)
	}
}
