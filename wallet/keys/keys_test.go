package keys

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/crypto"
)

const pass = "correct horse"

func open(t *testing.T) *Store {
	t.Helper()
	// Tests use a scrypt cost far below even LightScrypt (TestPermissions
	// covers that one) to stay fast under the race detector.
	s, err := Open(filepath.Join(t.TempDir(), "keys"), WithScrypt(1<<8, 1), WithLogf(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCreateUnlockList(t *testing.T) {
	s := open(t)
	f, err := s.Create(RoleFunder, NoHop, pass)
	if err != nil {
		t.Fatal(err)
	}
	if f.Label != "funder" || f.Role != RoleFunder || f.Hop != NoHop {
		t.Fatalf("funder entry %+v", f)
	}
	sg, err := s.Create(RoleSigner, NoHop, pass)
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.Unlock("funder", pass)
	if err != nil {
		t.Fatal(err)
	}
	if crypto.PubkeyToAddress(k.PublicKey) != f.Address {
		t.Fatal("unlocked key does not match the indexed address")
	}
	got, err := s.Funder()
	if err != nil || got != f {
		t.Fatalf("Funder() = %+v, %v", got, err)
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Label != "funder" || list[1].Label != "signer" || list[1].Address != sg.Address {
		t.Fatalf("List() = %+v", list)
	}
	if _, err := s.Create(RoleFunder, NoHop, pass); !errors.Is(err, ErrExists) {
		t.Fatalf("second funder: %v, want ErrExists", err)
	}

	// A second Store on the same directory sees the same keys.
	s2, err := Open(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if e, err := s2.Signer(NoHop); err != nil || e.Address != sg.Address {
		t.Fatalf("reopened Signer(NoHop) = %+v, %v", e, err)
	}
}

func TestPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	dir := filepath.Join(t.TempDir(), "keys")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, LightScrypt())
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.Create(RoleRecipient, NoHop, pass)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{
		dir:                              0o700,
		filepath.Join(dir, e.File):       0o600,
		filepath.Join(dir, "index.json"): 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
}

func TestTypedErrors(t *testing.T) {
	s := open(t)
	e, err := s.Create(RoleFunder, NoHop, pass)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Unlock("funder", "wrong"); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("wrong passphrase: %v", err)
	}
	if _, err := s.Unlock("signer", pass); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing key: %v", err)
	}
	if _, err := s.Create("miner", NoHop, pass); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown role: %v", err)
	}
	if _, err := s.Create(RoleFunder, 2, pass); !errors.Is(err, ErrInvalid) {
		t.Errorf("funder with a hop: %v", err)
	}
	if _, err := s.Create(RoleSigner, NoHop, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty passphrase: %v", err)
	}
	if _, err := s.ImportHex(RoleSigner, NoHop, "zz", pass); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad hex: %v", err)
	}

	// A corrupt key file.
	path := filepath.Join(s.Dir(), e.File)
	if err := os.WriteFile(path, []byte(`{"version":3,"crypto":`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Unlock("funder", pass); !errors.Is(err, ErrCorrupt) {
		t.Errorf("corrupt file: %v", err)
	}
	// A key file holding another key than the index says.
	other, err := s.Create(RoleSigner, NoHop, pass)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(s.Dir(), other.File))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Unlock("funder", pass); !errors.Is(err, ErrCorrupt) {
		t.Errorf("swapped file: %v", err)
	}
	// A missing key file.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Unlock("funder", pass); !errors.Is(err, ErrCorrupt) {
		t.Errorf("missing file: %v", err)
	}
	// ... which can be dropped from the index without a passphrase.
	if err := s.Delete("funder", ""); err != nil {
		t.Errorf("delete entry with missing file: %v", err)
	}
	// A corrupt index.
	if err := os.WriteFile(filepath.Join(s.Dir(), "index.json"), []byte("{nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("corrupt index: %v", err)
	}
	if _, err := Open(s.Dir()); !errors.Is(err, ErrCorrupt) {
		t.Errorf("open with corrupt index: %v", err)
	}
}

func TestImportExport(t *testing.T) {
	s := open(t)
	priv, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	addr := crypto.PubkeyToAddress(priv.PublicKey)
	e, err := s.ImportHex(RoleFunder, NoHop, "0x"+hex.EncodeToString(crypto.FromECDSA(priv)), pass)
	if err != nil {
		t.Fatal(err)
	}
	if e.Address != addr {
		t.Fatalf("imported %s, want %s", e.Address, addr)
	}
	if _, err := s.ImportHex(RoleSigner, NoHop, hex.EncodeToString(crypto.FromECDSA(priv)), pass); !errors.Is(err, ErrExists) {
		t.Fatalf("same key in two slots: %v, want ErrExists", err)
	}

	blob, err := s.Export("funder", pass, "export pass")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Export("funder", "wrong", "x"); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("export with wrong passphrase: %v", err)
	}
	// The export is standard keystore JSON.
	k, err := keystore.DecryptKey(blob, "export pass")
	if err != nil {
		t.Fatal(err)
	}
	if k.Address != addr {
		t.Fatalf("exported key is %s, want %s", k.Address, addr)
	}

	// Import it into another store under a new passphrase.
	s2 := open(t)
	if _, err := s2.ImportJSON(RoleFunder, NoHop, blob, "wrong", "new pass"); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("import with wrong passphrase: %v", err)
	}
	if _, err := s2.ImportJSON(RoleFunder, NoHop, []byte("not json"), "export pass", "new pass"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("import garbage: %v", err)
	}
	// A file whose address field lies about the key.
	var m map[string]any
	if err := json.Unmarshal(blob, &m); err != nil {
		t.Fatal(err)
	}
	m["address"] = "0000000000000000000000000000000000000001"
	lying, _ := json.Marshal(m)
	if _, err := s2.ImportJSON(RoleFunder, NoHop, lying, "export pass", "new pass"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("import with wrong address field: %v", err)
	}
	e2, err := s2.ImportJSON(RoleFunder, NoHop, blob, "export pass", "new pass")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s2.Unlock(e2.Label, "new pass")
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 secp256k1 keys have no PrivateKey.Bytes; D is the scalar
	if crypto.PubkeyToAddress(got.PublicKey) != addr || got.D.Cmp(priv.D) != 0 {
		t.Fatal("round trip changed the key")
	}
}

func TestChangePassphraseAndDelete(t *testing.T) {
	s := open(t)
	e, err := s.Create(RoleRecipient, NoHop, pass)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ChangePassphrase(e.Label, pass, "second"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Unlock(e.Label, pass); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("old passphrase after change: %v", err)
	}
	if err := s.Delete(e.Label, pass); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("delete with wrong passphrase: %v", err)
	}
	if err := s.Delete(e.Label, "second"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), e.File)); !os.IsNotExist(err) {
		t.Fatalf("key file still there: %v", err)
	}
	if _, err := s.Get(e.Label); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted key: %v", err)
	}
	if err := s.Delete(e.Label, "second"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestPerHopSigners(t *testing.T) {
	s := open(t)
	def, created, err := s.EnsureSigner(NoHop, pass)
	if err != nil || !created || def.Label != "signer" {
		t.Fatalf("EnsureSigner(NoHop) = %+v, %v, %v", def, created, err)
	}
	if _, err := s.Signer(1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Signer(1) before creation: %v (must not fall back to the default signer)", err)
	}

	// Concurrent callers asking for the same hop get one key.
	var wg sync.WaitGroup
	got := make([]Entry, 4)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, _, err := s.EnsureSigner(1, pass)
			if err != nil {
				t.Error(err)
			}
			got[i] = e
		}()
	}
	wg.Wait()
	for _, e := range got[1:] {
		if e.Address != got[0].Address {
			t.Fatalf("EnsureSigner(1) returned different keys: %s and %s", e.Address, got[0].Address)
		}
	}
	h1 := got[0]
	if h1.Label != "signer-hop-1" || h1.Hop != 1 || h1.Role != RoleSigner || h1.Address == def.Address {
		t.Fatalf("hop 1 signer %+v", h1)
	}
	h2, created, err := s.EnsureSigner(2, pass)
	if err != nil || !created || h2.Address == h1.Address || h2.Address == def.Address {
		t.Fatalf("EnsureSigner(2) = %+v, %v, %v", h2, created, err)
	}
	again, created, err := s.EnsureSigner(2, pass)
	if err != nil || created || again != h2 {
		t.Fatalf("EnsureSigner(2) again = %+v, %v, %v", again, created, err)
	}
	k, err := s.Unlock(Label(RoleSigner, 2), pass)
	if err != nil || crypto.PubkeyToAddress(k.PublicKey) != h2.Address {
		t.Fatalf("unlock hop 2 signer: %v", err)
	}
	if _, err := s.Signer(-5); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative hop: %v", err)
	}
}
