package devnet

import (
	"crypto/ecdsa"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/contracts"
)

// RoleDeployer is the role of the account that deploys the contracts and is
// the TestToken's minter.
const RoleDeployer = "deployer"

// keySeed prefixes the role in the derivation of a test key.
const keySeed = "pexia-devnet/"

// Funding of the test accounts. Every test account gets accountCoin native
// coin in genesis (the deployer deployerCoin, so that it can fund accounts
// added later) and accountTokens TestToken.
var (
	accountCoin   = contracts.Ether(1_000_000)
	deployerCoin  = contracts.Ether(1_000_000_000)
	accountTokens = contracts.Ether(1_000_000)
	// Every node account stakes nodeStake on itself, withdrawable
	// nodeStakeDelay seconds after a pull.
	nodeStake      = contracts.Ether(10_000)
	nodeStakeDelay = uint64(90 * 24 * 3600)
)

// ClientRole is the role of the i-th client test account ("client0", ...).
func ClientRole(i int) string { return fmt.Sprintf("client%d", i) }

// NodeRole is the role of the i-th node test account ("node0", ...).
func NodeRole(i int) string { return fmt.Sprintf("node%d", i) }

// Roles lists the roles of a devnet with the given numbers of clients and
// nodes: the deployer first, then the clients, then the nodes.
func Roles(clients, nodes int) []string {
	roles := make([]string, 0, 1+clients+nodes)
	roles = append(roles, RoleDeployer)
	for i := range clients {
		roles = append(roles, ClientRole(i))
	}
	for i := range nodes {
		roles = append(roles, NodeRole(i))
	}
	return roles
}

// Key returns the private key of a test account: keccak256("pexia-devnet/" +
// role). The same role gives the same key on every machine.
func Key(role string) (*ecdsa.PrivateKey, error) {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte(keySeed + role)))
	if err != nil {
		return nil, fmt.Errorf("devnet: key for role %q: %w", role, err)
	}
	return k, nil
}

// testKey returns the network file entry of a role.
func testKey(role string) (contracts.TestKey, error) {
	k, err := Key(role)
	if err != nil {
		return contracts.TestKey{}, err
	}
	return contracts.TestKey{
		Role:    role,
		Address: crypto.PubkeyToAddress(k.PublicKey),
		Private: common.Bytes2Hex(crypto.FromECDSA(k)),
	}, nil
}

// testKeys returns the network file entries of roles.
func testKeys(roles []string) ([]contracts.TestKey, error) {
	keys := make([]contracts.TestKey, 0, len(roles))
	for _, r := range roles {
		k, err := testKey(r)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// privateKey parses the private key of a network file entry.
func privateKey(k contracts.TestKey) (*ecdsa.PrivateKey, error) {
	pk, err := crypto.HexToECDSA(k.Private)
	if err != nil {
		return nil, fmt.Errorf("devnet: test key %q: %w", k.Role, err)
	}
	if crypto.PubkeyToAddress(pk.PublicKey) != k.Address {
		return nil, fmt.Errorf("devnet: test key %q: private key does not match address %s", k.Role, k.Address)
	}
	return pk, nil
}

// coinFor is the genesis balance of a role.
func coinFor(role string) *big.Int {
	if role == RoleDeployer {
		return new(big.Int).Set(deployerCoin)
	}
	return new(big.Int).Set(accountCoin)
}
