package daemon

import (
	"context"
	"net/netip"
	"os"

	wgtun "golang.zx2c4.com/wireguard/tun"

	"github.com/pexia-network/pexia/internal/logger"
	"github.com/pexia-network/pexia/tun"
)

// System is what TUN mode changes in the operating system: the TUN device,
// the policy routes, the resolver and the kill-switch table, plus the
// recovery of what a crashed run left and the watch on the local networks.
// Config.System nil is the machine itself (package tun; it needs root).
// Tests pass a fake that records the changes instead of applying them, and
// the daemon's own logic (the order of the steps, the netstack, the
// router, the circuits) runs unchanged over it.
//
// The daemon calls it from one session at a time, except the kill switch,
// which the local-network watch may reinstall concurrently.
type System interface {
	// CreateTUN creates the TUN device name with mtu, gives it addrs and
	// brings it up. Closing the device removes it.
	CreateTUN(name string, mtu int, addrs []netip.Prefix) (wgtun.Device, error)
	// Routes returns an empty set of policy routes (tun.Routes).
	Routes() Routes
	// DNS returns the resolver configuration (tun.DNS).
	DNS() DNS
	// KillSwitch is the kill-switch table (tun.KillSwitch).
	KillSwitch() KillSwitch
	// Recover undoes what a run that stopped left behind: routes, rules,
	// the TUN device, DNS and, unless keepKillSwitch, the kill switch
	// (tun.Recover).
	Recover(ctx context.Context, keepKillSwitch bool) error
	// WatchLocalNetworks calls changed whenever the machine's local
	// networks change, until ctx ends (tun.WatchLocalNetworks).
	WatchLocalNetworks(ctx context.Context, changed func()) error
}

// Routes sends the machine's traffic into the TUN: Up installs the rules
// and routes cfg describes, Down removes what Up installed.
type Routes interface {
	Up(cfg tun.RouteConfig) error
	Down() error
}

// DNS points the system resolver at servers inside the tunnel (Set) and
// puts back what was there before (Restore).
type DNS interface {
	Set(ctx context.Context, iface string, servers []netip.Addr) error
	Restore(ctx context.Context) error
}

// KillSwitch is the firewall table that drops whatever would leave the
// machine outside the tunnel.
type KillSwitch interface {
	Install(p tun.Policy) error
	Remove() error
	Installed() (bool, error)
}

// osSystem is the machine's own network configuration, through package
// tun; what it changes is journaled in stateDir so Recover can undo it.
type osSystem struct {
	stateDir string
	logf     logger.Logf
}

func (o osSystem) CreateTUN(name string, mtu int, addrs []netip.Prefix) (wgtun.Device, error) {
	dev, err := tun.Create(name, mtu, tun.WithStateDir(o.stateDir))
	if err != nil {
		return nil, err
	}
	if err := tun.Configure(name, addrs, tun.WithStateDir(o.stateDir)); err != nil {
		dev.Close()
		return nil, err
	}
	// Like wg-quick: let reverse-path filtering take the mark into account,
	// or strict rp_filter drops the replies to the daemon's marked sockets.
	if err := os.WriteFile("/proc/sys/net/ipv4/conf/all/src_valid_mark", []byte("1"), 0o644); err != nil {
		o.logf("src_valid_mark: %v", err)
	}
	return dev, nil
}

func (o osSystem) Routes() Routes         { return &tun.Routes{} }
func (o osSystem) DNS() DNS               { return &tun.DNS{StateDir: o.stateDir} }
func (o osSystem) KillSwitch() KillSwitch { return tun.KillSwitch{StateDir: o.stateDir} }

func (o osSystem) Recover(ctx context.Context, keepKillSwitch bool) error {
	var opts []tun.Option
	if keepKillSwitch {
		opts = append(opts, tun.KeepKillSwitch())
	}
	return tun.Recover(ctx, o.stateDir, opts...)
}

func (o osSystem) WatchLocalNetworks(ctx context.Context, changed func()) error {
	return tun.WatchLocalNetworks(ctx, "", changed)
}
