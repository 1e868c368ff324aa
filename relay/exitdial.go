package relay

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/pexia-network/pexia/hop/stream"
)

// exitDialTimeout bounds resolving a stream's destination and, separately,
// connecting to it.
const exitDialTimeout = 10 * time.Second

// minAddrTimeout is the least time each resolved address gets when several
// share exitDialTimeout (net.Dialer uses the same floor).
const minAddrTimeout = 2 * time.Second

// isOwn reports whether dst is an address of the exit itself: loopback,
// unspecified (which reaches the host), one of NodeConfig.OwnAddrs (a
// public address in front of a NAT), or any address the kernel delivers
// locally. For the last it asks the kernel which source address it would
// use, by connecting a UDP socket (which sends nothing): a locally
// delivered destination is its own source. That covers every address of
// every interface, including the public one, and local routes such as
// "ip route add local P dev lo", as they are at the moment of the dial.
func (n *Node) isOwn(ctx context.Context, network string, dst netip.AddrPort) bool {
	a := dst.Addr()
	if a.IsLoopback() || a.IsUnspecified() {
		return true
	}
	for _, o := range n.cfg.OwnAddrs {
		if o.Unmap().WithZone("") == a {
			return true
		}
	}
	pctx, cancel := context.WithTimeout(ctx, exitDialTimeout)
	defer cancel()
	c, err := n.cfg.Dialer(pctx, "udp", dst.String())
	if err != nil {
		// No route: the real dial fails as well.
		return false
	}
	defer c.Close()
	la, ok := c.LocalAddr().(*net.UDPAddr)
	return ok && la.AddrPort().Addr().Unmap() == a
}

// defaultResolve resolves host with the system resolver.
func defaultResolve(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// dialExit connects a stream to host:port. A name is resolved here, at the
// exit, and the exit policy is applied to every address it resolves to; the
// allowed addresses are then dialled by address, in the resolver's order,
// so the connection goes exactly where the policy was checked and a name
// that resolves to a refused address (127.0.0.1, a private network: DNS
// rebinding) never reaches it. It returns the connection, or nil and the
// reason to refuse the stream with.
func (n *Node) dialExit(ctx context.Context, network, host string, port uint16) (net.Conn, stream.Reason) {
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			// The client does not choose the exit's interfaces.
			return nil, stream.ReasonPolicy
		}
		addrs = []netip.Addr{a}
	} else {
		rctx, cancel := context.WithTimeout(ctx, exitDialTimeout)
		addrs, err = n.cfg.Resolve(rctx, host)
		cancel()
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return nil, stream.ReasonTimeout
		case err != nil || len(addrs) == 0:
			return nil, stream.ReasonDNS
		}
	}
	allowed := addrs[:0:0]
	for _, a := range addrs {
		a = a.Unmap()
		if a.Zone() != "" {
			continue
		}
		// Refusals are not logged: an exit keeps no record of where its
		// clients go.
		dst := netip.AddrPortFrom(a, port)
		if n.cfg.Policy.Allow(network, dst) != nil {
			continue
		}
		if !n.cfg.Policy.Names(network, dst) && n.isOwn(ctx, network, dst) {
			continue
		}
		allowed = append(allowed, a)
	}
	if len(allowed) == 0 {
		return nil, stream.ReasonPolicy
	}
	deadline := time.Now().Add(exitDialTimeout)
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var last error
	for i, a := range allowed {
		each := time.Until(deadline) / time.Duration(len(allowed)-i)
		actx, acancel := context.WithTimeout(dctx, max(each, minAddrTimeout))
		c, err := n.cfg.Dialer(actx, network, netip.AddrPortFrom(a, port).String())
		acancel()
		if err == nil {
			return c, 0
		}
		last = err
		if dctx.Err() != nil {
			break
		}
	}
	switch {
	case errors.Is(last, context.DeadlineExceeded), errors.Is(last, syscall.ETIMEDOUT):
		return nil, stream.ReasonTimeout
	case errors.Is(last, syscall.ENETUNREACH), errors.Is(last, syscall.EHOSTUNREACH):
		return nil, stream.ReasonUnreachable
	}
	return nil, stream.ReasonConnectFailed
}
