package payhop_test

import (
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/internal/payhop"
	"github.com/pexia-network/pexia/wallet/dir"
)

func TestHopInfo(t *testing.T) {
	nd := dir.Node{
		Address:        common.HexToAddress("0x00000000000000000000000000000000000000a1"),
		URL:            "https://node.example:8443/",
		TLSFingerprint: [32]byte{1, 2, 3},
		HandshakeKey:   [32]byte{4, 5, 6},
	}
	got := payhop.HopInfo(nd)
	if got.Address != onion.Address(nd.Address) || got.URL != nd.URL || [32]byte(got.Pin) != nd.TLSFingerprint || got.NoiseKey != nd.HandshakeKey {
		t.Errorf("HopInfo(%+v) = %+v", nd, got)
	}
}
