package link

import (
	"net"
	"net/netip"
)

// RemoteAddr returns the peer's address on the ICE candidate pair the link
// uses, or nil before the link is up. It is the address packets of the
// link come from: a node shows it in diagnostics, and tests use it to show
// which hops ever learn the client's address.
func (l *Link) RemoteAddr() net.Addr {
	sctp := l.pc.SCTP()
	if sctp == nil || sctp.Transport() == nil || sctp.Transport().ICETransport() == nil {
		return nil
	}
	pair, err := sctp.Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Remote == nil {
		return nil
	}
	ip, err := netip.ParseAddr(pair.Remote.Address)
	if err != nil {
		return nil
	}
	return net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, pair.Remote.Port))
}
