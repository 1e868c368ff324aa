package payhop

import (
	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/wallet/dir"
)

// HopInfo is what the circuit layer needs to reach and authenticate the
// node the directory described: its address, signaling URL, the pin of its
// TLS certificate and its Noise handshake key. It lives here, on the bridge
// between hop and wallet, so that the daemon, the CLI and the relay's
// registry check all convert a registry entry the same way.
func HopInfo(nd dir.Node) hop.HopInfo {
	return hop.HopInfo{
		Address:  onion.Address(nd.Address),
		URL:      nd.URL,
		Pin:      link.Pin(nd.TLSFingerprint),
		NoiseKey: nd.HandshakeKey,
	}
}
