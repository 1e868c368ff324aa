package contracts

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/internal/atomicfile"
)

// Network names a chain and the Pexia contracts on it. Every binary loads one
// from a JSON file given with a single flag (-network).
type Network struct {
	Name      string    `json:"name"`
	ChainID   *big.Int  `json:"chainId"`
	RPC       string    `json:"rpc"`
	Addresses Addresses `json:"contracts"`
	// Keys are funded test accounts (hex private keys). Only local
	// development networks carry them.
	Keys []TestKey `json:"testKeys,omitempty"`
}

// TestKey is a funded account of a development network.
type TestKey struct {
	Role    string         `json:"role"` // e.g. "deployer", "client0", "node1"
	Address common.Address `json:"address"`
	Private string         `json:"privateKey"` // hex, no 0x
}

// LoadNetwork reads and checks a network file.
func LoadNetwork(path string) (*Network, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("network file: %w", err)
	}
	var n Network
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&n); err != nil {
		return nil, fmt.Errorf("network file %s: %w", path, err)
	}
	if err := n.Check(); err != nil {
		return nil, fmt.Errorf("network file %s: %w", path, err)
	}
	return &n, nil
}

// Check reports the first missing or malformed field.
func (n *Network) Check() error {
	if n.ChainID == nil || n.ChainID.Sign() <= 0 {
		return errors.New("chainId missing or not positive")
	}
	u, err := url.Parse(n.RPC)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return fmt.Errorf("rpc %q is not an http(s) or ws(s) URL", n.RPC)
	}
	zero := common.Address{}
	for name, a := range map[string]common.Address{
		"lottery": n.Addresses.Lottery, "directory": n.Addresses.Directory,
		"registry": n.Addresses.Registry, "curator": n.Addresses.Curator, "token": n.Addresses.Token,
	} {
		if a == zero {
			return fmt.Errorf("contracts.%s missing", name)
		}
	}
	return nil
}

// Save writes the network file atomically (write, fsync, rename).
func (n *Network) Save(path string) error {
	b, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o600)
}

// Key returns the test key with the given role.
func (n *Network) Key(role string) (TestKey, bool) {
	for _, k := range n.Keys {
		if k.Role == role {
			return k, true
		}
	}
	return TestKey{}, false
}

// ParseKey reads a private key given on a command line: hex (with or
// without 0x), or devnet:ROLE for one of n's funded test keys.
func ParseKey(n *Network, spec string) (*ecdsa.PrivateKey, error) {
	if role, ok := strings.CutPrefix(spec, "devnet:"); ok {
		if n == nil {
			return nil, errors.New("a devnet:ROLE key needs a network file")
		}
		k, ok := n.Key(role)
		if !ok {
			return nil, fmt.Errorf("network file has no test key %q", role)
		}
		return crypto.HexToECDSA(k.Private)
	}
	if spec == "" {
		return nil, errors.New("no key given")
	}
	return crypto.HexToECDSA(strings.TrimPrefix(spec, "0x"))
}
