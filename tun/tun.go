package tun

import (
	"errors"
	"net/netip"
)

// Names and numbers that identify what this package installs. Everything it
// adds to the system carries one of them, which is how Recover finds
// leftovers that no journal mentions.
const (
	// DefaultName is the name of the client's TUN interface.
	DefaultName = "pexia0"
	// DefaultMTU is the TUN MTU the daemon uses unless configured otherwise.
	// Flows terminate in the local netstack, so the MTU is not bounded by any
	// path; a jumbo MTU cuts the per-packet cost at the TUN boundary while
	// staying clear of drivers and buffers that misbehave near 64 KiB.
	DefaultMTU = 9000
	// DefaultMark is the firewall mark ("Px") carried by the daemon's own
	// sockets; marked packets bypass the tunnel and the kill switch.
	DefaultMark uint32 = 0x5078
	// DefaultTable is the routing table holding the default routes into the
	// TUN.
	DefaultTable = 5078
	// DefaultPriority is the base priority of the policy rules: exclusions sit
	// at DefaultPriority, the main-table rule 10 higher and the tunnel rule 20
	// higher, which leaves room for an administrator's rules in between.
	DefaultPriority = 5070
	// KillSwitchTable is the name of the nftables table (family inet) that
	// holds the kill switch. No other table is ever touched.
	KillSwitchTable = "pexia"

	// routeProto is the routing protocol number ("P") set on every rule and
	// route this package adds, so that `ip rule` shows "proto 80" on them and
	// leftovers can be told apart from everyone else's.
	routeProto = 0x50
)

// Addresses of the TUN interface and of the in-tunnel resolver. The resolver
// addresses lie inside the interface's prefixes but are not the interface's
// own, so the kernel routes queries to them into the TUN (where the netstack
// answers them) instead of delivering them locally. The IPv4 prefix is carved
// from the shared address space 100.64.0.0/10 (RFC 6598) and the IPv6 prefix
// is a unique local prefix (RFC 4193) whose global ID spells "pexia".
var (
	DefaultAddr4 = netip.MustParsePrefix("100.80.120.1/24")
	DefaultAddr6 = netip.MustParsePrefix("fd70:6578:6961::1/64")
	DNS4         = netip.MustParseAddr("100.80.120.53")
	DNS6         = netip.MustParseAddr("fd70:6578:6961::53")
)

// ErrUnsupported is returned by every operation on operating systems this
// package has no implementation for yet.
var ErrUnsupported = errors.New("tun: not supported on this operating system")

// Option adjusts Create, Configure and Recover.
type Option func(*options)

type options struct {
	netNS    string
	stateDir string
	keepKS   bool
}

func collect(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// InNetNS makes the operation act inside the network namespace whose handle
// is the file at path (for example /run/netns/NAME). Without it, operations
// act in the namespace the daemon runs in.
func InNetNS(path string) Option { return func(o *options) { o.netNS = path } }

// WithStateDir makes Create journal the device it creates in dir, so that
// Recover can remove it after a crash. The journal entry is removed when the
// device is closed.
func WithStateDir(dir string) Option { return func(o *options) { o.stateDir = dir } }

// KeepKillSwitch makes Recover leave the kill-switch table in place, for a
// daemon in lockdown mode that must never open a window without it.
func KeepKillSwitch() Option { return func(o *options) { o.keepKS = true } }
