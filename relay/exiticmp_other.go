//go:build !linux

package relay

import (
	"net"
	"net/netip"

	"golang.org/x/net/icmp"

	"github.com/pexia-network/pexia/internal/icmperr"
)

// Elsewhere than on Linux the exit's ping sockets have no error queue:
// echo replies are carried, ICMP errors are not.

func listenPing(network string) (net.PacketConn, error) {
	addr := "0.0.0.0"
	if network == "udp6" {
		addr = "::"
	}
	return icmp.ListenPacket(network, addr)
}

func readPing(pc net.PacketConn, buf []byte) (int, netip.Addr, *icmperr.Error, error) {
	return readPlain(pc, buf)
}

func pathMTU(net.Conn) int { return 0 }
