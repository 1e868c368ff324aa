package keys

import (
	"errors"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/contracts"
)

const devHex = "b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291"

func network(chainID int64) *contracts.Network {
	return &contracts.Network{ChainID: big.NewInt(chainID), RPC: "http://127.0.0.1:1",
		Keys: []contracts.TestKey{{Role: "client0", Address: addrOf(devHex), Private: devHex}}}
}

func addrOf(h string) common.Address {
	k, err := crypto.HexToECDSA(h)
	if err != nil {
		panic(err)
	}
	return crypto.PubkeyToAddress(k.PublicKey)
}

func writeSecret(t *testing.T, name, body string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // past the umask
		t.Fatal(err)
	}
	return p
}

// TestSecretFileModes: key files and passphrase files that the group or
// others may read are refused with an error that says how to fix it.
func TestSecretFileModes(t *testing.T) {
	n := network(1337)
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		kf := writeSecret(t, "node.key", devHex+"\n", mode)
		_, err := Source{KeyFile: kf}.Load(n)
		if !errors.Is(err, ErrInsecure) || !strings.Contains(err.Error(), "chmod 600 "+kf) {
			t.Errorf("key file mode %04o: %v, want ErrInsecure saying chmod 600 %s", mode, err, kf)
		}
		pf := writeSecret(t, "pass", "secret\n", mode)
		if _, err := ReadPassphrase(pf); !errors.Is(err, ErrInsecure) || !strings.Contains(err.Error(), "chmod 600 "+pf) {
			t.Errorf("passphrase file mode %04o: %v", mode, err)
		}
	}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		kf := writeSecret(t, "node.key", devHex+"\n", mode)
		k, err := Source{KeyFile: kf}.Load(n)
		if err != nil || crypto.PubkeyToAddress(k.PublicKey) != addrOf(devHex) {
			t.Errorf("key file mode %04o: %v", mode, err)
		}
	}
	if p, err := ReadPassphrase(writeSecret(t, "pass", "two words \r\n", 0o600)); err != nil || p != "two words " {
		t.Errorf("passphrase %q, %v", p, err)
	}
	if _, err := ReadPassphrase(writeSecret(t, "pass", "\n", 0o600)); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty passphrase: %v", err)
	}
	if _, err := ReadSecretFile(t.TempDir()); !errors.Is(err, ErrInsecure) && err == nil {
		t.Errorf("a directory read as a secret file")
	}
}

// TestPlainKeyOnlyOnDevChain: hex keys, given as such or in a file, are
// refused unless the chain is a development chain; devnet:ROLE needs the
// network file's test key.
func TestPlainKeyOnlyOnDevChain(t *testing.T) {
	kf := writeSecret(t, "k", devHex, 0o600)
	for _, src := range []Source{{Key: devHex}, {Key: "0x" + devHex}, {KeyFile: kf}} {
		for _, id := range []int64{1, 10, 8453, 11155111} {
			_, err := src.Load(network(id))
			if !errors.Is(err, ErrPlainKey) {
				t.Errorf("%s on chain %d: %v, want ErrPlainKey", src, id, err)
			}
			if err != nil && strings.Contains(err.Error(), devHex) {
				t.Errorf("error echoes the key: %v", err)
			}
		}
		for _, id := range []int64{1337, 31337} {
			if k, err := src.Load(network(id)); err != nil || crypto.PubkeyToAddress(k.PublicKey) != addrOf(devHex) {
				t.Errorf("%s on chain %d: %v", src, id, err)
			}
		}
		if _, err := src.Load(nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s without a network: %v", src, err)
		}
	}
	if k, err := (Source{Key: "devnet:client0"}).Load(network(1337)); err != nil || crypto.PubkeyToAddress(k.PublicKey) != addrOf(devHex) {
		t.Errorf("devnet:client0: %v", err)
	}
	if _, err := (Source{Key: "devnet:nobody"}).Load(network(1337)); err == nil {
		t.Error("devnet:nobody loaded")
	}
	if _, err := (Source{Key: "zz"}).Load(network(1337)); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad hex: %v", err)
	}
	if err := (Source{Key: devHex, KeyFile: kf}).Check(); !errors.Is(err, ErrInvalid) {
		t.Errorf("key and key file: %v", err)
	}
}

// TestInitAndLoad: Init writes a passphrase file and a keystore account
// once; Load finds it by label and by address, from the passphrase file or
// the systemd credential; a wrong passphrase, a missing keystore and a key
// file others may read are errors.
func TestInitAndLoad(t *testing.T) {
	dir := t.TempDir()
	src := Source{Keystore: filepath.Join(dir, "keystore"), Account: "funder", PassphraseFile: filepath.Join(dir, "etc", "funder.passphrase")}
	if _, err := src.Load(nil); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("load before init: %v", err) // no passphrase file yet
	}
	e, created, err := src.Init(RoleFunder, "", WithScrypt(1<<8, 1))
	if err != nil || !created || e.Label != "funder" {
		t.Fatalf("init: %+v %v %v", e, created, err)
	}
	fi, err := os.Stat(src.PassphraseFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("passphrase file: %v %v", fi, err)
	}
	if e2, created, err := src.Init(RoleFunder, ""); err != nil || created || e2.Address != e.Address {
		t.Fatalf("second init: %+v %v %v", e2, created, err)
	}
	k, err := src.Load(nil)
	if err != nil || crypto.PubkeyToAddress(k.PublicKey) != e.Address {
		t.Fatalf("load: %v", err)
	}
	byAddr := src
	byAddr.Account = strings.ToLower(e.Address.Hex())
	if a, err := byAddr.Address(nil); err != nil || a != e.Address {
		t.Fatalf("address by address: %v %v", a, err)
	}
	if _, err := byAddr.Load(nil); err != nil {
		t.Fatalf("load by address: %v", err)
	}

	// The systemd credential when no file is named.
	cred := t.TempDir()
	b, _ := os.ReadFile(src.PassphraseFile)
	if err := os.WriteFile(filepath.Join(cred, CredentialName), b, 0o400); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", cred)
	viaCred := src
	viaCred.PassphraseFile = ""
	if k, err := viaCred.Load(nil); err != nil || crypto.PubkeyToAddress(k.PublicKey) != e.Address {
		t.Fatalf("load via credential: %v", err)
	}

	wrong := src
	wrong.PassphraseFile = writeSecret(t, "wrong", "wrong\n", 0o600)
	if _, err := wrong.Load(nil); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	missing := src
	missing.Keystore = filepath.Join(dir, "nowhere")
	if _, err := missing.Load(nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing keystore: %v", err)
	}
	if _, err := os.Stat(missing.Keystore); err == nil {
		t.Fatal("Load created a keystore")
	}

	// An encrypted key file that others may read is refused too.
	kf := filepath.Join(src.Keystore, e.File)
	if err := os.Chmod(kf, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Load(nil); !errors.Is(err, ErrInsecure) || !strings.Contains(err.Error(), "chmod 600 "+kf) {
		t.Fatalf("key file 0644: %v", err)
	}
}

// TestInitImport: init -import stores a hex key file encrypted, once.
func TestInitImport(t *testing.T) {
	dir := t.TempDir()
	src := Source{Keystore: filepath.Join(dir, "ks"), Account: "recipient", PassphraseFile: filepath.Join(dir, "pass")}
	hexFile := writeSecret(t, "node.key", "0x"+devHex+"\n", 0o600)
	e, created, err := src.Init(RoleRecipient, hexFile, WithScrypt(1<<8, 1))
	if err != nil || !created || e.Address != addrOf(devHex) || e.Label != "recipient" {
		t.Fatalf("import: %+v %v %v", e, created, err)
	}
	if _, _, err := src.Init(RoleRecipient, hexFile); !errors.Is(err, ErrExists) {
		t.Fatalf("second import: %v", err)
	}
	if k, err := src.Load(nil); err != nil || crypto.PubkeyToAddress(k.PublicKey) != addrOf(devHex) {
		t.Fatalf("load imported: %v", err)
	}
	blob, _ := os.ReadFile(filepath.Join(src.Keystore, e.File))
	if strings.Contains(string(blob), devHex) {
		t.Fatal("keystore file holds the key in plain text")
	}
}
