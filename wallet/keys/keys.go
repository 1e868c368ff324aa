// Package keys is Pexia's encrypted keystore: private keys encrypted with a
// passphrase in go-ethereum's Web3 Secret Storage format (the "keystore
// JSON" of geth, scrypt and AES-128-CTR), one file per key, plus a small
// JSON index that names each key by its role.
//
// Roles:
//
//   - the funder key holds coin or tokens and funds lottery accounts
//     (deposit, warn, withdraw); it never signs tickets;
//   - signer keys sign tickets off chain and never hold coin. There is one
//     default signer and, on demand, a separate signer per hop index so that
//     payments to the different hops of a circuit cannot be linked by their
//     signer (seed 001 §5.8);
//   - the recipient key is a node's payout key: it claims winning tickets
//     and collects earnings.
//
// Each key has a label derived from its role and hop ("funder", "signer",
// "signer-hop-2", "recipient"), and the index maps labels to addresses and
// files. Files are written atomically with mode 0600 in a directory with mode
// 0700, and a key file that its group or others may read is refused (an
// encrypted key can still be attacked offline). The index is re-read on
// every operation, so several processes see each other's changes;
// concurrent writers in different processes are not serialized, only
// writers within one Store are.
//
// Source (load.go) is how every binary gets its key: a keystore account
// unlocked with a passphrase from an owner-only file or a systemd
// credential, or, on development chains only, a plain-text key.
package keys

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/internal/atomicfile"
	"github.com/pexia-network/pexia/internal/logger"
)

// Errors returned by Store methods, wrapped with context; test with
// errors.Is.
var (
	// ErrNotFound is returned for a label that is not in the index.
	ErrNotFound = errors.New("no such key")
	// ErrExists is returned when a role's slot is taken or the key's address
	// is already stored under another label.
	ErrExists = errors.New("key already exists")
	// ErrWrongPassphrase is returned when a passphrase does not decrypt a key.
	ErrWrongPassphrase = errors.New("wrong passphrase")
	// ErrCorrupt is returned for an index or key file that is missing,
	// unreadable or inconsistent (for example a file holding another
	// address than the index says).
	ErrCorrupt = errors.New("corrupt keystore")
	// ErrInvalid is returned for malformed arguments: an unknown role, a hop
	// on a role that has none, a bad hex key, an empty passphrase.
	ErrInvalid = errors.New("invalid argument")
)

// Role is what a key is used for.
type Role string

// Roles of stored keys.
const (
	// RoleFunder holds coin and funds lottery accounts.
	RoleFunder Role = "funder"
	// RoleSigner signs tickets; never holds coin.
	RoleSigner Role = "signer"
	// RoleRecipient is a node's payout key: it claims tickets and collects.
	RoleRecipient Role = "recipient"
)

// NoHop is the hop index of keys that are not tied to a hop: the funder, the
// recipient and the default signer.
const NoHop = -1

// indexFile is the name of the index in the store directory.
const indexFile = "index.json"

// indexVersion is the format version of the index.
const indexVersion = 1

// Entry describes one stored key. It holds no secret.
type Entry struct {
	Label   string         `json:"label"`
	Role    Role           `json:"role"`
	Hop     int            `json:"hop"` // hop index of a per-hop signer; NoHop otherwise
	Address common.Address `json:"address"`
	File    string         `json:"file"` // base name of the key file in the store directory
	Created time.Time      `json:"created"`
}

type index struct {
	Version int     `json:"version"`
	Keys    []Entry `json:"keys"`
}

// Option configures a Store.
type Option func(*Store)

// WithScrypt sets the scrypt cost parameters used to encrypt keys (default
// keystore.StandardScryptN and StandardScryptP). Decryption reads the
// parameters from each file, so keys written with other costs stay readable.
func WithScrypt(n, p int) Option {
	return func(s *Store) { s.scryptN, s.scryptP = n, p }
}

// LightScrypt encrypts with go-ethereum's light scrypt parameters: much
// faster, much weaker. Meant for tests and throwaway development keys.
func LightScrypt() Option { return WithScrypt(keystore.LightScryptN, keystore.LightScryptP) }

// WithLogf sets the logger (nil is silent).
func WithLogf(l logger.Logf) Option { return func(s *Store) { s.logf = l } }

// Store is an encrypted keystore in one directory. Its methods are safe for
// concurrent use.
type Store struct {
	dir              string
	scryptN, scryptP int
	logf             logger.Logf

	mu sync.Mutex // serializes read-modify-write of the index
}

// Open opens the keystore in dir, creating the directory (mode 0700) if
// needed, and checks that its index, if any, is readable.
func Open(dir string, opts ...Option) (*Store, error) {
	s := &Store{dir: dir, scryptN: keystore.StandardScryptN, scryptP: keystore.StandardScryptP}
	for _, o := range opts {
		o(s)
	}
	if s.scryptN <= 1 || s.scryptN&(s.scryptN-1) != 0 || s.scryptP <= 0 {
		return nil, fmt.Errorf("keys: %w: scrypt N must be a power of two above 1 and P positive (got N=%d P=%d)", ErrInvalid, s.scryptN, s.scryptP)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keys: create %s: %w", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("keys: %s is not a directory", dir)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, fmt.Errorf("keys: restrict %s to its owner: %w", dir, err)
		}
		s.log("keys: %s was accessible to others (mode %v); now 0700", dir, fi.Mode().Perm())
	}
	if _, err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

// Label is the label of the key in a role's slot: "funder", "recipient",
// "signer" for the default signer and "signer-hop-<hop>" for a per-hop
// signer.
func Label(role Role, hop int) string {
	if role == RoleSigner && hop != NoHop {
		return string(RoleSigner) + "-hop-" + strconv.Itoa(hop)
	}
	return string(role)
}

func checkSlot(role Role, hop int) error {
	switch role {
	case RoleFunder, RoleRecipient:
		if hop != NoHop {
			return fmt.Errorf("keys: %w: role %s has no hop index (got %d)", ErrInvalid, role, hop)
		}
	case RoleSigner:
		if hop < NoHop {
			return fmt.Errorf("keys: %w: hop index %d", ErrInvalid, hop)
		}
	default:
		return fmt.Errorf("keys: %w: unknown role %q", ErrInvalid, role)
	}
	return nil
}

func checkPassphrase(p string) error {
	if p == "" {
		return fmt.Errorf("keys: %w: empty passphrase", ErrInvalid)
	}
	return nil
}

// List returns every stored key, sorted by label.
func (s *Store) List() ([]Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix, err := s.load()
	if err != nil {
		return nil, err
	}
	return ix.Keys, nil
}

// Get returns the entry labelled label.
func (s *Store) Get(label string) (Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix, err := s.load()
	if err != nil {
		return Entry{}, err
	}
	e, ok := ix.find(label)
	if !ok {
		return Entry{}, fmt.Errorf("keys: %w: %q", ErrNotFound, label)
	}
	return e, nil
}

// Funder returns the funder key's entry.
func (s *Store) Funder() (Entry, error) { return s.Get(Label(RoleFunder, NoHop)) }

// Signer returns the signer for hop, or the default signer for NoHop. It
// never falls back from a per-hop signer to the default one: whether hops
// share a signer is the caller's decision.
func (s *Store) Signer(hop int) (Entry, error) {
	if err := checkSlot(RoleSigner, hop); err != nil {
		return Entry{}, err
	}
	return s.Get(Label(RoleSigner, hop))
}

// Create generates a new key for a role's slot, encrypted with passphrase.
// hop is NoHop except for per-hop signers.
func (s *Store) Create(role Role, hop int, passphrase string) (Entry, error) {
	priv, err := crypto.GenerateKey()
	if err != nil {
		return Entry{}, fmt.Errorf("keys: generate key: %w", err)
	}
	defer zero(priv)
	return s.add(role, hop, priv, passphrase)
}

// EnsureSigner returns the signer for hop (NoHop: the default signer),
// creating it with passphrase if it does not exist yet. created reports
// whether it was made now.
func (s *Store) EnsureSigner(hop int, passphrase string) (e Entry, created bool, err error) {
	e, err = s.Signer(hop)
	if err == nil {
		return e, false, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return Entry{}, false, err
	}
	e, err = s.Create(RoleSigner, hop, passphrase)
	if errors.Is(err, ErrExists) {
		// Another goroutine or process created it in between.
		if e, err2 := s.Signer(hop); err2 == nil {
			return e, false, nil
		}
	}
	if err != nil {
		return Entry{}, false, err
	}
	return e, true, nil
}

// ImportHex stores a raw secp256k1 private key given in hex (with or without
// 0x) in a role's slot, encrypted with passphrase.
func (s *Store) ImportHex(role Role, hop int, hexKey, passphrase string) (Entry, error) {
	h := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(hexKey), "0x"), "0X")
	priv, err := crypto.HexToECDSA(h)
	if err != nil {
		// The error text of HexToECDSA never echoes the key.
		return Entry{}, fmt.Errorf("keys: %w: private key: %v", ErrInvalid, err)
	}
	defer zero(priv)
	return s.add(role, hop, priv, passphrase)
}

// ImportJSON stores a key given as keystore JSON (as written by geth, Clef,
// MetaMask exports or Export) that decrypts with oldPassphrase, re-encrypted
// with newPassphrase and this store's scrypt costs.
func (s *Store) ImportJSON(role Role, hop int, keyJSON []byte, oldPassphrase, newPassphrase string) (Entry, error) {
	k, err := decrypt(keyJSON, oldPassphrase)
	if err != nil {
		return Entry{}, fmt.Errorf("keys: import: %w", err)
	}
	defer zero(k.PrivateKey)
	var hdr struct {
		Address string `json:"address"`
	}
	if json.Unmarshal(keyJSON, &hdr) == nil && hdr.Address != "" {
		if !common.IsHexAddress(hdr.Address) || common.HexToAddress(hdr.Address) != k.Address {
			return Entry{}, fmt.Errorf("keys: %w: import: file says address %s but the key is %s", ErrCorrupt, hdr.Address, k.Address)
		}
	}
	return s.add(role, hop, k.PrivateKey, newPassphrase)
}

// Export returns the key labelled label as keystore JSON encrypted with
// newPassphrase (which may equal passphrase), after checking passphrase.
func (s *Store) Export(label, passphrase, newPassphrase string) ([]byte, error) {
	if err := checkPassphrase(newPassphrase); err != nil {
		return nil, fmt.Errorf("keys: export %q: %w", label, err)
	}
	e, k, err := s.unlock(label, passphrase)
	if err != nil {
		return nil, err
	}
	defer zero(k.PrivateKey)
	out, err := keystore.EncryptKey(k, newPassphrase, s.scryptN, s.scryptP)
	if err != nil {
		return nil, fmt.Errorf("keys: export %q (%s): encrypt: %w", label, e.Address, err)
	}
	return out, nil
}

// Unlock decrypts the key labelled label.
func (s *Store) Unlock(label, passphrase string) (*ecdsa.PrivateKey, error) {
	_, k, err := s.unlock(label, passphrase)
	if err != nil {
		return nil, err
	}
	return k.PrivateKey, nil
}

// ChangePassphrase re-encrypts the key labelled label with newPassphrase.
func (s *Store) ChangePassphrase(label, passphrase, newPassphrase string) error {
	if err := checkPassphrase(newPassphrase); err != nil {
		return fmt.Errorf("keys: change passphrase of %q: %w", label, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, k, err := s.unlockLocked(label, passphrase)
	if err != nil {
		return err
	}
	defer zero(k.PrivateKey)
	blob, err := keystore.EncryptKey(k, newPassphrase, s.scryptN, s.scryptP)
	if err != nil {
		return fmt.Errorf("keys: change passphrase of %q: %w", label, err)
	}
	if err := atomicfile.Write(filepath.Join(s.dir, e.File), blob, 0o600); err != nil {
		return fmt.Errorf("keys: change passphrase of %q: write: %w", label, err)
	}
	return nil
}

// Delete removes the key labelled label after checking passphrase. A key
// whose file is already gone is removed from the index without a check.
// Deleting a funder key that still controls funds loses them unless the key
// was exported first.
func (s *Store) Delete(label, passphrase string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix, err := s.load()
	if err != nil {
		return err
	}
	e, ok := ix.find(label)
	if !ok {
		return fmt.Errorf("keys: %w: %q", ErrNotFound, label)
	}
	path := filepath.Join(s.dir, e.File)
	if _, err := os.Stat(path); err == nil {
		_, k, err := s.unlockLocked(label, passphrase)
		if err != nil {
			return err
		}
		zero(k.PrivateKey)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("keys: delete %q: %w", label, err)
	}
	ix.remove(label)
	// Index first: a crash between the two steps leaves an orphan file
	// (harmless, and recoverable by importing it), never an index entry
	// without its key.
	if err := s.save(ix); err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("keys: delete %q: remove %s: %w", label, e.File, err)
	}
	s.log("keys: deleted %s (%s)", label, e.Address)
	return nil
}

// add encrypts priv and stores it in a slot.
func (s *Store) add(role Role, hop int, priv *ecdsa.PrivateKey, passphrase string) (Entry, error) {
	label := Label(role, hop)
	if err := checkSlot(role, hop); err != nil {
		return Entry{}, err
	}
	if err := checkPassphrase(passphrase); err != nil {
		return Entry{}, fmt.Errorf("keys: add %q: %w", label, err)
	}
	k := &keystore.Key{Address: crypto.PubkeyToAddress(priv.PublicKey), PrivateKey: priv}
	if _, err := rand.Read(k.Id[:]); err != nil {
		return Entry{}, fmt.Errorf("keys: add %q: %w", label, err)
	}
	k.Id[6] = k.Id[6]&0x0f | 0x40 // UUID version 4
	k.Id[8] = k.Id[8]&0x3f | 0x80 // RFC 4122 variant
	blob, err := keystore.EncryptKey(k, passphrase, s.scryptN, s.scryptP)
	if err != nil {
		return Entry{}, fmt.Errorf("keys: add %q: encrypt: %w", label, err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	ix, err := s.load()
	if err != nil {
		return Entry{}, err
	}
	if old, ok := ix.find(label); ok {
		return Entry{}, fmt.Errorf("keys: %w: %q is %s", ErrExists, label, old.Address)
	}
	for _, o := range ix.Keys {
		if o.Address == k.Address {
			return Entry{}, fmt.Errorf("keys: %w: %s is already stored as %q", ErrExists, k.Address, o.Label)
		}
	}
	e := Entry{
		Label:   label,
		Role:    role,
		Hop:     hop,
		Address: k.Address,
		File:    label + "--" + strings.ToLower(hex.EncodeToString(k.Address[:])) + ".json",
		Created: time.Now().UTC().Truncate(time.Second),
	}
	if hop == NoHop || role != RoleSigner {
		e.Hop = NoHop
	}
	path := filepath.Join(s.dir, e.File)
	if err := atomicfile.Write(path, blob, 0o600); err != nil {
		return Entry{}, fmt.Errorf("keys: add %q: write key: %w", label, err)
	}
	ix.Keys = append(ix.Keys, e)
	if err := s.save(ix); err != nil {
		os.Remove(path)
		return Entry{}, err
	}
	s.log("keys: stored %s (%s)", label, e.Address)
	return e, nil
}

// unlock decrypts the key labelled label and checks it is the indexed one.
func (s *Store) unlock(label, passphrase string) (Entry, *keystore.Key, error) {
	s.mu.Lock()
	ix, err := s.load()
	s.mu.Unlock()
	if err != nil {
		return Entry{}, nil, err
	}
	return s.decryptEntry(ix, label, passphrase)
}

// unlockLocked is unlock with s.mu held.
func (s *Store) unlockLocked(label, passphrase string) (Entry, *keystore.Key, error) {
	ix, err := s.load()
	if err != nil {
		return Entry{}, nil, err
	}
	return s.decryptEntry(ix, label, passphrase)
}

func (s *Store) decryptEntry(ix *index, label, passphrase string) (Entry, *keystore.Key, error) {
	e, ok := ix.find(label)
	if !ok {
		return Entry{}, nil, fmt.Errorf("keys: %w: %q", ErrNotFound, label)
	}
	path := filepath.Join(s.dir, e.File)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return e, nil, fmt.Errorf("keys: %w: key file of %q (%s) is missing", ErrCorrupt, label, e.File)
	}
	// An encrypted key that others may read can be attacked offline.
	blob, err := ReadSecretFile(path)
	if err != nil {
		return e, nil, fmt.Errorf("keys: read %q: %w", label, err)
	}
	k, err := decrypt(blob, passphrase)
	if err != nil {
		return e, nil, fmt.Errorf("keys: unlock %q: %w", label, err)
	}
	if k.Address != e.Address {
		zero(k.PrivateKey)
		return e, nil, fmt.Errorf("keys: %w: %q: file %s holds %s, index says %s", ErrCorrupt, label, e.File, k.Address, e.Address)
	}
	return e, k, nil
}

// decrypt decrypts keystore JSON, sorting failures into typed errors.
func decrypt(blob []byte, passphrase string) (*keystore.Key, error) {
	k, err := keystore.DecryptKey(blob, passphrase)
	switch {
	case err == nil:
		return k, nil
	case errors.Is(err, keystore.ErrDecrypt):
		return nil, ErrWrongPassphrase
	default:
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
}

// load reads the index; a missing index is an empty store.
func (s *Store) load() (*index, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, indexFile))
	if errors.Is(err, fs.ErrNotExist) {
		return &index{Version: indexVersion}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keys: read index: %w", err)
	}
	var ix index
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ix); err != nil {
		return nil, fmt.Errorf("keys: %w: index %s: %v", ErrCorrupt, filepath.Join(s.dir, indexFile), err)
	}
	if ix.Version != indexVersion {
		return nil, fmt.Errorf("keys: %w: index version %d, want %d", ErrCorrupt, ix.Version, indexVersion)
	}
	seen := map[string]bool{}
	for _, e := range ix.Keys {
		if e.Label == "" || seen[e.Label] || e.File == "" || filepath.Base(e.File) != e.File || e.Label != Label(e.Role, e.Hop) {
			return nil, fmt.Errorf("keys: %w: index entry %+v is malformed", ErrCorrupt, e)
		}
		seen[e.Label] = true
	}
	sort.Slice(ix.Keys, func(i, j int) bool { return ix.Keys[i].Label < ix.Keys[j].Label })
	return &ix, nil
}

func (s *Store) save(ix *index) error {
	ix.Version = indexVersion
	sort.Slice(ix.Keys, func(i, j int) bool { return ix.Keys[i].Label < ix.Keys[j].Label })
	b, err := json.MarshalIndent(ix, "", "  ")
	if err != nil {
		return fmt.Errorf("keys: encode index: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(s.dir, indexFile), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("keys: write index: %w", err)
	}
	return nil
}

func (ix *index) find(label string) (Entry, bool) {
	for _, e := range ix.Keys {
		if e.Label == label {
			return e, true
		}
	}
	return Entry{}, false
}

func (ix *index) remove(label string) {
	out := ix.Keys[:0]
	for _, e := range ix.Keys {
		if e.Label != label {
			out = append(out, e)
		}
	}
	ix.Keys = out
}

func (s *Store) log(format string, args ...any) {
	if s.logf != nil {
		s.logf(format, args...)
	}
}

// zero overwrites a private scalar that is no longer needed. Best effort:
// big.Int may have copied it before.
func zero(k *ecdsa.PrivateKey) {
	//lint:ignore SA1019 secp256k1 is not a crypto/ecdsa curve: PrivateKey.Bytes and ParseRawPrivateKey serve NIST curves only, so the scalar is D
	if k == nil || k.D == nil {
		return
	}
	//lint:ignore SA1019 as above
	b := k.D.Bits()
	for i := range b {
		b[i] = 0
	}
}
