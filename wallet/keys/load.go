package keys

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/contracts"
)

// How binaries get their private key.
//
// A binary names a keystore directory and an account in it (a label such as
// "funder" or "recipient", or the key's address), and reads the passphrase
// from a file that only its owner may read: a file given by path, or the
// systemd credential CredentialName in $CREDENTIALS_DIRECTORY (a unit's
// LoadCredential=). A passphrase is never taken from the command line or the
// environment, where other local users can read it (/proc/PID/cmdline,
// /proc/PID/environ of a child).
//
// Plain-text keys are for development only: "devnet:ROLE" names a test key
// of the network file, and a hex key (given as such or in a file) is accepted
// only when the network's chain is a development chain (IsDevChain). Secret
// files that their group or others may read are refused.

// CredentialName is the name of the systemd credential holding the keystore
// passphrase (LoadCredential=keystore-passphrase:PATH).
const CredentialName = "keystore-passphrase"

// maxSecretFile bounds what is read from a secret file.
const maxSecretFile = 64 << 10

// ErrInsecure is returned for a secret file that others may read or that
// belongs to another user.
var ErrInsecure = errors.New("insecure secret file")

// ErrPlainKey is returned for a plain-text private key outside a
// development chain.
var ErrPlainKey = errors.New("plain-text private key refused")

// Source is where a binary takes its private key from: either a keystore
// account (Keystore, Account, PassphraseFile) or a development key (Key or
// KeyFile). The zero Source names nothing.
type Source struct {
	// Keystore is the keystore directory.
	Keystore string
	// Account is the key in the keystore: a label ("funder", "recipient")
	// or its 0x address.
	Account string
	// PassphraseFile holds the keystore passphrase (one line). Empty: the
	// credential CredentialName in $CREDENTIALS_DIRECTORY.
	PassphraseFile string

	// Key is a development key: "devnet:ROLE" for a test key of the
	// network file, or hex (only on a development chain).
	Key string
	// KeyFile is a file holding a development key in hex (only on a
	// development chain, and only if no one but its owner may read it).
	KeyFile string
}

// Plain reports whether the source is a development key rather than a
// keystore account; such a source needs the network to be loaded.
func (s Source) Plain() bool { return s.Key != "" || s.KeyFile != "" }

// String describes the source without any secret.
func (s Source) String() string {
	switch {
	case strings.HasPrefix(s.Key, "devnet:"):
		return "test key " + strings.TrimPrefix(s.Key, "devnet:") + " of the network file"
	case s.Key != "":
		return "plain-text key"
	case s.KeyFile != "":
		return "plain-text key file " + s.KeyFile
	}
	return fmt.Sprintf("keystore %s account %s", s.Keystore, s.Account)
}

// Check reports a source that names no key or two kinds at once.
func (s Source) Check() error {
	switch {
	case s.Key != "" && s.KeyFile != "":
		return fmt.Errorf("keys: %w: a key and a key file given; give one", ErrInvalid)
	case s.Plain():
		return nil
	case s.Keystore == "":
		return fmt.Errorf("keys: %w: no keystore directory", ErrInvalid)
	case s.Account == "":
		return fmt.Errorf("keys: %w: no account (a label such as funder, or an address)", ErrInvalid)
	}
	return nil
}

// IsDevChain reports whether id is a local development chain's ID: 1337
// (pexia-devnet, geth --dev) or 31337 (anvil, hardhat). Only on those are
// plain-text keys accepted.
func IsDevChain(id *big.Int) bool {
	return id != nil && id.IsInt64() && (id.Int64() == 1337 || id.Int64() == 31337)
}

// Load returns the private key the source names. n is the network the key
// is used on; it is needed for a development key (and may be nil for a
// keystore account).
func (s Source) Load(n *contracts.Network) (*ecdsa.PrivateKey, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	if s.Plain() {
		return s.loadPlain(n)
	}
	pass, err := s.Passphrase()
	if err != nil {
		return nil, err
	}
	st, err := openExisting(s.Keystore)
	if err != nil {
		return nil, err
	}
	label, err := st.labelOf(s.Account)
	if err != nil {
		return nil, err
	}
	return st.Unlock(label, pass)
}

// Address returns the address of the source's key without decrypting it
// when it is a keystore account, or after loading it otherwise.
func (s Source) Address(n *contracts.Network) (common.Address, error) {
	if !s.Plain() && s.Check() == nil {
		st, err := openExisting(s.Keystore)
		if err != nil {
			return common.Address{}, err
		}
		label, err := st.labelOf(s.Account)
		if err != nil {
			return common.Address{}, err
		}
		e, err := st.Get(label)
		return e.Address, err
	}
	k, err := s.Load(n)
	if err != nil {
		return common.Address{}, err
	}
	defer zero(k)
	return crypto.PubkeyToAddress(k.PublicKey), nil
}

func (s Source) loadPlain(n *contracts.Network) (*ecdsa.PrivateKey, error) {
	spec := s.Key
	if s.KeyFile != "" {
		b, err := ReadSecretFile(s.KeyFile)
		if err != nil {
			return nil, err
		}
		spec = strings.TrimSpace(string(b))
	}
	if n == nil {
		return nil, fmt.Errorf("keys: %w: a plain-text or devnet key needs the network file", ErrInvalid)
	}
	if !strings.HasPrefix(spec, "devnet:") && !IsDevChain(n.ChainID) {
		return nil, fmt.Errorf("keys: %w: chain %v is not a development chain (1337 or 31337), and a key given in plain text "+
			"leaks through /proc/PID/cmdline, logs and backups; use an encrypted keystore with a passphrase file instead", ErrPlainKey, n.ChainID)
	}
	k, err := contracts.ParseKey(n, spec)
	if err != nil {
		// ParseKey's errors never echo the key.
		return nil, fmt.Errorf("keys: %w: %v", ErrInvalid, err)
	}
	return k, nil
}

// Passphrase reads the keystore passphrase from PassphraseFile, or from the
// systemd credential when no file is named.
func (s Source) Passphrase() (string, error) {
	path, err := s.passphrasePath()
	if err != nil {
		return "", err
	}
	return ReadPassphrase(path)
}

func (s Source) passphrasePath() (string, error) {
	if s.PassphraseFile != "" {
		return s.PassphraseFile, nil
	}
	if dir := os.Getenv("CREDENTIALS_DIRECTORY"); dir != "" {
		p := filepath.Join(dir, CredentialName)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		return "", fmt.Errorf("keys: %w: no credential %q in $CREDENTIALS_DIRECTORY (LoadCredential=%s:PATH in the unit) and no passphrase file given",
			ErrInvalid, CredentialName, CredentialName)
	}
	return "", fmt.Errorf("keys: %w: no passphrase file given (and no systemd credential %s)", ErrInvalid, CredentialName)
}

// ReadPassphrase reads a passphrase from a secret file: its content without
// one trailing newline.
func ReadPassphrase(path string) (string, error) {
	b, err := ReadSecretFile(path)
	if err != nil {
		return "", err
	}
	p := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if p == "" {
		return "", fmt.Errorf("keys: %w: passphrase file %s is empty", ErrInvalid, path)
	}
	return p, nil
}

// ReadSecretFile reads a file holding a secret, refusing one that is not a
// regular file, that its group or others may access (the error says how to
// fix it: chmod 600 PATH), or that belongs to another user than this
// process's (or root).
func ReadSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if err := checkSecretMode(path, fi); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, fmt.Errorf("keys: read %s: %w", path, err)
	}
	if len(b) > maxSecretFile {
		return nil, fmt.Errorf("keys: %w: %s is larger than %d bytes", ErrInvalid, path, maxSecretFile)
	}
	return b, nil
}

func checkSecretMode(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("keys: %w: %s is not a regular file", ErrInsecure, path)
	}
	return checkSecretAccess(path, fi)
}

// EnsurePassphraseFile creates path (mode 0600) holding a new random
// passphrase if it does not exist, and reports whether it did.
func EnsurePassphraseFile(path string) (created bool, err error) {
	if _, err := os.Lstat(path); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("keys: %w", err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return false, fmt.Errorf("keys: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, fmt.Errorf("keys: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return false, fmt.Errorf("keys: create passphrase file: %w", err)
	}
	_, err = f.WriteString(base64.RawURLEncoding.EncodeToString(raw[:]) + "\n")
	if err2 := f.Sync(); err == nil {
		err = err2
	}
	if err2 := f.Close(); err == nil {
		err = err2
	}
	if err != nil {
		os.Remove(path)
		return false, fmt.Errorf("keys: write passphrase file: %w", err)
	}
	return true, nil
}

// Init makes sure the source's keystore holds an account for role: it
// creates one (or imports the hex key in the secret file importHex, if set),
// encrypted with the source's passphrase, unless the account exists. A
// passphrase file that does not exist yet is created with a random
// passphrase first. It returns the account and whether it was made now.
func (s Source) Init(role Role, importHex string, opts ...Option) (e Entry, created bool, err error) {
	if s.Plain() {
		return Entry{}, false, fmt.Errorf("keys: %w: init makes a keystore account, not a plain-text key", ErrInvalid)
	}
	if s.Keystore == "" {
		return Entry{}, false, fmt.Errorf("keys: %w: no keystore directory", ErrInvalid)
	}
	if s.PassphraseFile != "" {
		if _, err := EnsurePassphraseFile(s.PassphraseFile); err != nil {
			return Entry{}, false, err
		}
	}
	pass, err := s.Passphrase()
	if err != nil {
		return Entry{}, false, err
	}
	st, err := Open(s.Keystore, opts...)
	if err != nil {
		return Entry{}, false, err
	}
	account := s.Account
	if account == "" {
		account = Label(role, NoHop)
	}
	if label, err := st.labelOf(account); err == nil {
		e, err := st.Get(label)
		if err != nil {
			return Entry{}, false, err
		}
		if importHex != "" {
			return e, false, fmt.Errorf("keys: %w: the keystore already holds %s (%s); not importing %s", ErrExists, e.Label, e.Address, importHex)
		}
		// Check that the passphrase opens it, so a mismatch shows now.
		k, err := st.Unlock(label, pass)
		if err != nil {
			return e, false, err
		}
		zero(k)
		return e, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return Entry{}, false, err
	}
	if common.IsHexAddress(account) {
		return Entry{}, false, fmt.Errorf("keys: %w: no account %s in %s", ErrNotFound, account, s.Keystore)
	}
	if account != Label(role, NoHop) {
		return Entry{}, false, fmt.Errorf("keys: %w: account %q is not the %s slot", ErrInvalid, account, role)
	}
	if importHex != "" {
		b, err := os.ReadFile(importHex)
		if err != nil {
			return Entry{}, false, fmt.Errorf("keys: import: %w", err)
		}
		e, err = st.ImportHex(role, NoHop, string(b), pass)
		return e, err == nil, err
	}
	e, err = st.Create(role, NoHop, pass)
	return e, err == nil, err
}

// openExisting opens a keystore that must exist already.
func openExisting(dir string) (*Store, error) {
	if _, err := os.Stat(filepath.Join(dir, indexFile)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("keys: %w: no keystore in %s (create its account with init)", ErrNotFound, dir)
		}
		return nil, fmt.Errorf("keys: %w", err)
	}
	return Open(dir)
}

// labelOf resolves an account given as a label or an address to its label.
func (s *Store) labelOf(account string) (string, error) {
	if !common.IsHexAddress(account) {
		e, err := s.Get(account)
		return e.Label, err
	}
	want := common.HexToAddress(account)
	es, err := s.List()
	if err != nil {
		return "", err
	}
	for _, e := range es {
		if e.Address == want {
			return e.Label, nil
		}
	}
	return "", fmt.Errorf("keys: %w: no key with address %s in %s", ErrNotFound, want, s.dir)
}
