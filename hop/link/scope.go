package link

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"

	"github.com/pion/ice/v4"
)

// scopedMux is a UDP mux that tells pion to gather host candidates on the
// given addresses only. pion lists a candidate for every address a mux
// returns from GetListenAddresses, and for a socket on the wildcard address
// that is every address of every interface (LAN, ULA, loopback): the
// peer would learn them all. SettingEngine's IP and interface filters do
// not apply to a mux's addresses.
type scopedMux struct {
	*ice.UDPMuxDefault
	addrs []net.Addr
}

func (m scopedMux) GetListenAddresses() []net.Addr { return m.addrs }

// scope returns mux restricted to candidates on ip: ip itself if the
// socket is on the wildcard address of a family that can carry ip, or the
// socket's own address if it is bound to one (the owner chose it).
func scope(mux *ice.UDPMuxDefault, ip netip.Addr) (scopedMux, error) {
	la, ok := mux.LocalAddr().(*net.UDPAddr)
	if !ok {
		return scopedMux{}, fmt.Errorf("link: udp socket address %v is not UDP", mux.LocalAddr())
	}
	if !la.IP.IsUnspecified() {
		return scopedMux{mux, []net.Addr{la}}, nil
	}
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsUnspecified() {
		return scopedMux{}, fmt.Errorf("link: no local address to offer (got %v)", ip)
	}
	if la.IP.To4() != nil && !ip.Is4() {
		return scopedMux{}, fmt.Errorf("link: udp socket %v cannot carry %v", la, ip)
	}
	return scopedMux{mux, []net.Addr{&net.UDPAddr{IP: ip.AsSlice(), Port: la.Port, Zone: ip.Zone()}}}, nil
}

// routeSource returns the local address the kernel sends from to reach
// dst, for packets with the firewall mark (0: none): the local address of
// a UDP socket connected to dst. Connecting sends nothing.
func routeSource(ctx context.Context, dst netip.AddrPort, mark int) (netip.Addr, error) {
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error { return setMark(c, mark) }}
	c, err := d.DialContext(ctx, "udp", dst.String())
	if err != nil {
		return netip.Addr{}, fmt.Errorf("route to %v: %w", dst, err)
	}
	defer c.Close()
	ap, err := netip.ParseAddrPort(c.LocalAddr().String())
	if err != nil {
		return netip.Addr{}, fmt.Errorf("route to %v: local address %v: %w", dst, c.LocalAddr(), err)
	}
	return ap.Addr().Unmap(), nil
}

// keepCandidatesFrom drops the candidates of an SDP whose address is not
// src (all of them if src is the zero Addr).
func keepCandidatesFrom(sdp string, src netip.Addr) string {
	lines := strings.SplitAfter(sdp, "\n")
	kept := lines[:0]
	for _, line := range lines {
		if strings.HasPrefix(line, "a=candidate:") {
			// a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...
			f := strings.Fields(line)
			if len(f) < 6 {
				continue
			}
			ip, err := netip.ParseAddr(f[4])
			if err != nil || !src.IsValid() || ip.Unmap().WithZone("") != src.Unmap().WithZone("") {
				continue
			}
		}
		kept = append(kept, line)
	}
	return strings.Join(kept, "")
}
