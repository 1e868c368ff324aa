package netstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.zx2c4.com/wireguard/tun"
)

// Flow identifies one flow seen on the TUN.
type Flow struct {
	Network  string         // "tcp" or "udp"
	Src, Dst netip.AddrPort // as the local app sent it
}

// String formats f as "tcp 10.0.0.2:40000->192.0.2.1:443".
func (f Flow) String() string {
	return f.Network + " " + f.Src.String() + "->" + f.Dst.String()
}

// Handler connects flows to the outside. Its methods are called
// concurrently, one goroutine per flow or DNS query.
type Handler interface {
	// DialTCP is called when a SYN arrives, before the handshake is
	// completed; return the upstream connection. On error the app gets a
	// RST (connection refused), or ICMP host unreachable if the error
	// wraps ErrHostUnreachable: the upstream is connected first and the
	// handshake completed after, so failures are visible to the app. The
	// Stack owns the returned connection and closes it. If it implements
	// interface{ CloseWrite() error }, the app's FIN is passed on.
	DialTCP(ctx context.Context, f Flow) (net.Conn, error)
	// DialUDP returns a datagram connection to f.Dst: each Write sends one
	// datagram, each Read returns one. The Stack owns the connection and
	// closes it when the flow ends.
	DialUDP(ctx context.Context, f Flow) (net.Conn, error)
	// ResolveDNS answers one DNS query (wire format) intercepted on port 53
	// (UDP or TCP, any destination address) with a DNS message in wire
	// format. The query slice is not used by the Stack after the call.
	ResolveDNS(ctx context.Context, f Flow, query []byte) ([]byte, error)
}

// Config configures a Stack. Only Handler is required.
type Config struct {
	// MTU of the TUN device. Zero means the device's own MTU; any other
	// value must equal it (it is trusted when the device cannot report
	// its MTU). 1280 to 65535.
	MTU int
	// Handler connects flows; required.
	Handler Handler
	// UDPIdleTimeout ends a UDP flow after this long without a datagram in
	// either direction. Zero means DefaultUDPIdleTimeout. DNS flows end
	// after min(UDPIdleTimeout, DNSIdleTimeout).
	UDPIdleTimeout time.Duration
	// DialTimeout bounds DialTCP and DialUDP. Zero means DefaultDialTimeout.
	DialTimeout time.Duration
	// Logf receives rare, short diagnostics about the device (lines carry
	// no package prefix); nil discards them. Per-flow failures are only
	// counted in Stats: the Handler knows their cause. Its type is the
	// module's internal/logger.Logf spelt out: netstack imports no other
	// Pexia package (internal/deptest enforces it), and a logger.Logf is
	// assignable to it.
	Logf func(format string, args ...any)
}

// Defaults for Config and fixed limits.
const (
	DefaultUDPIdleTimeout = 60 * time.Second
	DefaultDialTimeout    = 30 * time.Second
	// DNSIdleTimeout ends an idle DNS flow (UDP or TCP) with no query in
	// progress.
	DNSIdleTimeout = 10 * time.Second
	// DNSQueryTimeout bounds one Handler.ResolveDNS call.
	DNSQueryTimeout = 15 * time.Second
	// MaxUDPFlows caps concurrent UDP flows; datagrams that would open
	// another one are dropped (and counted in Stats.Drops).
	MaxUDPFlows = 8192
)

const (
	minMTU = 1280 // IPv6 minimum
	maxMTU = 65535
)

// ErrClosed is the cause (context.Cause) of the contexts passed to the
// Handler once the Stack is closing.
var ErrClosed = errors.New("netstack: closed")

// withDefaults validates c against dev and fills in defaults.
func (c Config) withDefaults(dev tun.Device) (Config, error) {
	if c.Handler == nil {
		return c, errors.New("netstack: config: Handler is required")
	}
	// The wireguard TUN reads its MTU through a socket of the calling
	// thread's network namespace, so this fails when the device lives in
	// another one; a configured MTU is then trusted.
	devMTU, err := dev.MTU()
	switch {
	case err != nil && c.MTU == 0:
		return c, fmt.Errorf("netstack: config: read device mtu: %w", err)
	case err != nil:
	case c.MTU == 0:
		c.MTU = devMTU
	case c.MTU != devMTU:
		return c, fmt.Errorf("netstack: config: mtu %d does not match the device mtu %d", c.MTU, devMTU)
	}
	if c.MTU < minMTU || c.MTU > maxMTU {
		return c, fmt.Errorf("netstack: config: mtu %d out of range [%d, %d]", c.MTU, minMTU, maxMTU)
	}
	if c.UDPIdleTimeout < 0 || c.DialTimeout < 0 {
		return c, errors.New("netstack: config: negative timeout")
	}
	if c.UDPIdleTimeout == 0 {
		c.UDPIdleTimeout = DefaultUDPIdleTimeout
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	return c, nil
}

func (c Config) dnsIdle() time.Duration {
	return min(c.UDPIdleTimeout, DNSIdleTimeout)
}
