package main

import (
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/wallet/keys"
)

// fakeNetwork writes a network file for chainID whose RPC endpoint does not
// answer: enough for everything that happens before a chain call.
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

const testHexKey = "8a1f9a8f95be41cd7ccb6168179afb4504aefe388d1e14474d32c45c72ce7b7a"

// TestPlainKeysRefused: a hex key on the command line (or in the config) is
// refused unless the chain is a development chain, and a key file that its
// group or others may read is refused on any chain, before anything is sent.
func TestPlainKeysRefused(t *testing.T) {
	mainnet, dev := fakeNetwork(t, 1), fakeNetwork(t, 1337)
	datadir := t.TempDir()
	base := []string{"-config", "", "-datadir", datadir}

	out, err := pexiaNode(t, append(base, "-network", mainnet, "-key", testHexKey, "earnings")...)
	if err == nil || !strings.Contains(out, "plain-text private key refused") {
		t.Errorf("hex key on the command line of chain 1: %v\n%s", err, out)
	}
	if strings.Contains(out, testHexKey) {
		t.Errorf("output echoes the key:\n%s", out)
	}

	loose := filepath.Join(t.TempDir(), "node.key")
	if err := os.WriteFile(loose, []byte(testHexKey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(loose, 0o644)
	out, err = pexiaNode(t, append(base, "-network", dev, "-key-file", loose, "earnings")...)
	if err == nil || !strings.Contains(out, "chmod 600 "+loose) {
		t.Errorf("key file mode 0644: %v\n%s", err, out)
	}
	out, err = pexiaNode(t, append(base, "-network", mainnet, "-key-file", loose, "earnings")...)
	if err == nil || !strings.Contains(out, "chmod 600 "+loose) {
		t.Errorf("key file mode 0644 on chain 1: %v\n%s", err, out)
	}

	// On the development chain, a private key file and a hex key are taken:
	// what fails is the (absent) chain, not the key.
	if err := os.Chmod(loose, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range [][]string{{"-key-file", loose}, {"-key", testHexKey}} {
		out, err = pexiaNode(t, append(append(base, "-network", dev), append(k, "earnings")...)...)
		if err == nil || strings.Contains(out, "node account:") {
			t.Errorf("%s on the development chain: %v\n%s", k[0], err, out)
		}
	}
}

// TestRunFromKeystore: init creates the node account in an encrypted
// keystore (and a passphrase file only its owner may read), run starts
// from it on a chain that is not a development chain, and neither the key
// nor the passphrase shows in /proc/PID/cmdline, /proc/PID/environ or the
// log.
func TestRunFromKeystore(t *testing.T) {
	tmp := t.TempDir()
	datadir := filepath.Join(tmp, "node")
	passFile := filepath.Join(tmp, "etc", "node.passphrase")
	cfgPath := filepath.Join(tmp, "node.toml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
network = %q
datadir = %q
log_level = "debug"

[node]
listen = "127.0.0.1:0"
price = "0"

[metrics]
listen = ""
`, fakeNetwork(t, 1), datadir)), 0o644); err != nil {
		t.Fatal(err)
	}
	initOut, err := pexiaNode(t, "-config", cfgPath, "-passphrase-file", passFile, "init")
	if err != nil {
		t.Fatalf("init: %v\n%s", err, initOut)
	}
	fi, err := os.Stat(passFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("passphrase file: %v, %v", fi, err)
	}
	pass, err := os.ReadFile(passFile)
	if err != nil {
		t.Fatal(err)
	}
	passphrase := strings.TrimSpace(string(pass))
	st, err := keys.Open(filepath.Join(datadir, "keystore"))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := st.Unlock("recipient", passphrase)
	if err != nil {
		t.Fatalf("the keystore does not hold the node account: %v\ninit printed:\n%s", err, initOut)
	}
	addr := crypto.PubkeyToAddress(priv.PublicKey)
	keyHex := hex.EncodeToString(crypto.FromECDSA(priv))
	if !strings.Contains(initOut, addr.Hex()) {
		t.Errorf("init did not print the account %s:\n%s", addr, initOut)
	}
	// Nothing in the data directory holds the key in plain text.
	filepath.Walk(datadir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			if b, _ := os.ReadFile(p); strings.Contains(strings.ToLower(string(b)), keyHex) {
				t.Errorf("%s holds the private key in plain text", p)
			}
		}
		return nil
	})

	// A second init keeps the account.
	if out, err := pexiaNode(t, "-config", cfgPath, "-passphrase-file", passFile, "init"); err != nil || !strings.Contains(out, addr.Hex()) {
		t.Fatalf("second init: %v\n%s", err, out)
	}

	p := startRun(t, "-config", cfgPath, "-passphrase-file", passFile, "run")
	got := p.Await(t, `msg="node account" address=(0x[0-9a-fA-F]{40})`, 30*time.Second)
	if !strings.EqualFold(got, addr.Hex()) {
		t.Fatalf("node runs as %s, want the keystore's %s", got, addr)
	}
	p.Await(t, `signaling=(https://\S+/)`, 30*time.Second)
	pid := p.Cmd.Process.Pid
	for _, f := range []string{"cmdline", "environ"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, f))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ToLower(string(b))
		if strings.Contains(s, keyHex) || strings.Contains(string(b), passphrase) {
			t.Errorf("/proc/%d/%s holds the key or the passphrase: %q", pid, f, b)
		}
	}
	p.Cmd.Process.Signal(syscall.SIGTERM)
	if code := p.Exited(t, 30*time.Second); code != 0 {
		t.Errorf("exit code %d", code)
	}
	log := p.Log()
	if strings.Contains(strings.ToLower(log), keyHex) || strings.Contains(log, passphrase) {
		t.Errorf("the log holds the key or the passphrase:\n%s", log)
	}

	// A wrong passphrase, or a passphrase file others may read, stops run.
	wrong := filepath.Join(tmp, "wrong")
	os.WriteFile(wrong, []byte("not it\n"), 0o600)
	if out, err := pexiaNode(t, "-config", cfgPath, "-passphrase-file", wrong, "run"); err == nil || !strings.Contains(out, "wrong passphrase") {
		t.Errorf("run with a wrong passphrase: %v\n%s", err, out)
	}
	if err := os.Chmod(passFile, 0o640); err != nil {
		t.Fatal(err)
	}
	if out, err := pexiaNode(t, "-config", cfgPath, "-passphrase-file", passFile, "run"); err == nil || !strings.Contains(out, "chmod 600 "+passFile) {
		t.Errorf("run with a passphrase file of mode 0640: %v\n%s", err, out)
	}
}
