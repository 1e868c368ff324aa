package wire

import (
	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/hop/onion"
)

// HopInfo is what the client needs to reach and authenticate one node, as
// published in the registry.
type HopInfo struct {
	Address  onion.Address
	URL      string   // signaling endpoint
	Pin      link.Pin // TLS certificate fingerprint
	NoiseKey [32]byte // static handshake key
}
