package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	wgtun "golang.zx2c4.com/wireguard/tun"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/logger"
	"github.com/pexia-network/pexia/netstack"
	"github.com/pexia-network/pexia/tun"
)

// tunMode sends the whole machine's traffic through the session: the TUN
// device feeds the netstack, policy routing sends everything unmarked into
// the TUN, the system resolver points at an address inside it, and the kill
// switch (if on) drops whatever would go around it.
type tunMode struct {
	d      *Daemon
	s      *session
	dev    wgtun.Device
	stack  *netstack.Stack
	routes Routes
	dns    DNS // nil unless set

	mu  sync.Mutex
	set api.Settings
}

func (d *Daemon) ksPolicy(set api.Settings, iface string) tun.Policy {
	return ksPolicy(set, iface, d.cfg.TUN.Mark)
}

func ksPolicy(set api.Settings, iface string, mark uint32) tun.Policy {
	return tun.Policy{Iface: iface, Mark: mark, AllowLAN: set.AllowLAN, LAN: parsePrefixes(set.LANCIDRs)}
}

func tunPlane(d *Daemon, s *session, set api.Settings) (_ dataplane, err error) {
	name := d.cfg.TUN.Name
	t := &tunMode{d: d, s: s, set: set, routes: d.sys.Routes()}
	defer func() {
		if err != nil {
			t.close()
		}
	}()
	// The kill switch goes first, so nothing slips out while routes change.
	if set.KillSwitch {
		if err := d.fw.install(d.ksPolicy(set, name)); err != nil {
			return nil, err
		}
	}
	if t.dev, err = d.sys.CreateTUN(name, d.cfg.TUN.MTU, []netip.Prefix{tun.DefaultAddr4, tun.DefaultAddr6}); err != nil {
		return nil, err
	}
	if t.stack, err = netstack.New(t.dev, netstack.Config{Handler: s.router,
		Logf: logger.WithPrefix(d.cfg.Logf, "netstack: ")}); err != nil {
		return nil, err
	}
	s.router.names.Store(t.stack.Names())
	d.names.Store(t.stack.Names())
	if err := t.routes.Up(t.routeConfig(set)); err != nil {
		return nil, err
	}
	if set.DNSMode != api.DNSSystem {
		t.dns = d.sys.DNS()
		ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
		defer cancel()
		if err := t.dns.Set(ctx, name, []netip.Addr{tun.DNS4, tun.DNS6}); err != nil {
			return nil, fmt.Errorf("dns: %w", err)
		}
	}
	return t, nil
}

func (t *tunMode) routeConfig(set api.Settings) tun.RouteConfig {
	return tun.RouteConfig{Iface: t.d.cfg.TUN.Name, Mark: t.d.cfg.TUN.Mark, Table: t.d.cfg.TUN.Table,
		Exclude: parsePrefixes(set.ExcludeCIDRs), IPv6: true, StateDir: t.d.cfg.StateDir}
}

func parsePrefixes(ss []string) []netip.Prefix {
	var out []netip.Prefix
	for _, c := range ss {
		if p, err := netip.ParsePrefix(c); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func (t *tunMode) apply(set api.Settings) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.set
	t.set = set
	switch {
	case set.KillSwitch && (!old.KillSwitch || old.AllowLAN != set.AllowLAN || !slices.Equal(old.LANCIDRs, set.LANCIDRs)):
		if err := t.d.fw.install(t.d.ksPolicy(set, t.d.cfg.TUN.Name)); err != nil {
			return err
		}
	case !set.KillSwitch && old.KillSwitch:
		if err := t.d.fw.remove(); err != nil {
			return err
		}
	}
	if !slices.Equal(old.ExcludeCIDRs, set.ExcludeCIDRs) {
		t.s.router.setExclude(parsePrefixes(set.ExcludeCIDRs))
		if err := t.routes.Down(); err != nil {
			return err
		}
		if err := t.routes.Up(t.routeConfig(set)); err != nil {
			return err
		}
	}
	return nil
}

func (t *tunMode) proxyAddrs() []string { return nil }

// close undoes the data plane in reverse order. The kill switch stays,
// narrowed to nothing but the daemon's own traffic, in lockdown and
// whenever the user has not disconnected (the daemon is shutting down, a
// session failed, or another replaces it).
func (t *tunMode) close() error {
	var errs []error
	if t.dns != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		errs = append(errs, t.dns.Restore(ctx))
		cancel()
	}
	errs = append(errs, t.routes.Down())
	if t.stack != nil {
		t.d.names.CompareAndSwap(t.stack.Names(), nil)
		errs = append(errs, t.stack.Close())
	}
	if t.dev != nil {
		errs = append(errs, t.dev.Close())
	}
	t.mu.Lock()
	set := t.set
	t.mu.Unlock()
	errs = append(errs, t.d.applyIdle(set))
	return errors.Join(errs...)
}

// applyIdle puts the firewall in the state the settings and the user's
// target state ask for while no tunnel is up: the blocking table (see
// blocks), or none.
func (d *Daemon) applyIdle(set api.Settings) error {
	if d.cfg.Mode != api.ModeTUN {
		return nil
	}
	d.mu.Lock()
	in := d.intent
	d.mu.Unlock()
	if blocks(set, in) {
		return d.fw.install(d.ksPolicy(set, ""))
	}
	return d.fw.remove()
}

// recover undoes what a crashed run left: routes, rules, the TUN device,
// DNS and, unless traffic must stay blocked, the kill switch.
func (d *Daemon) recover() error {
	if d.cfg.Mode != api.ModeTUN {
		return nil
	}
	if err := d.sys.Recover(context.Background(), blocks(d.settings, d.intent)); err != nil {
		return fmt.Errorf("recover network state: %w", err)
	}
	return d.applyIdle(d.settings)
}

// Recover undoes what a pexiad that stopped left in the network
// configuration, for `pexiad recover` (systemd runs it before the service
// starts and after it stops, however it stopped). Routes, rules, the TUN
// and DNS go. The kill switch fails closed: if the settings and the
// target state say traffic must stay blocked (see blocks), the blocking
// table is kept, or installed again if it is missing; otherwise it goes.
func Recover(cfg Config) error {
	cfg = withDefaults(cfg)
	set, in, err := loadPersisted(cfg.StateDir)
	if err != nil {
		// Unknown intent: block rather than guess, if a table is there.
		set, in = api.Settings{KillSwitch: true}, intent{Connected: true}
	}
	rerr := cfg.System.Recover(context.Background(), blocks(set, in))
	var kerr error
	if blocks(set, in) {
		kerr = cfg.System.KillSwitch().Install(ksPolicy(set, "", cfg.TUN.Mark))
	}
	return errors.Join(err, rerr, kerr)
}

// EarlyBoot installs the blocking table from the persisted settings and
// target state, if they ask for one, for `pexiad early-boot`: a unit that
// runs before any network interface comes up, so that lockdown, and a
// connection the user never ended, hold from boot until pexiad takes over.
// It reports whether it installed the table.
func EarlyBoot(cfg Config) (bool, error) {
	cfg = withDefaults(cfg)
	set, in, err := loadPersisted(cfg.StateDir)
	if err != nil {
		set, in = api.Settings{KillSwitch: true}, intent{Connected: true}
	}
	if !blocks(set, in) {
		return false, nil
	}
	// No interface is up yet, so the LAN exemption holds only the user's
	// lan_cidrs until pexiad installs its own policy.
	if kerr := cfg.System.KillSwitch().Install(ksPolicy(set, "", cfg.TUN.Mark)); kerr != nil {
		return false, errors.Join(err, kerr)
	}
	return true, err
}

// Unblock is a disconnect for when pexiad is not running (`pexiad
// unblock`, root only): it records the target state "disconnected" and
// removes the kill-switch table unless lockdown is on. It reports whether
// lockdown keeps the table.
func Unblock(cfg Config) (lockdown bool, err error) {
	cfg = withDefaults(cfg)
	set, _, lerr := loadPersisted(cfg.StateDir)
	if err := saveIntent(cfg.StateDir, intent{}); err != nil {
		return false, err
	}
	if lerr == nil && set.KillSwitch && set.Lockdown {
		return true, nil
	}
	return false, cfg.System.KillSwitch().Remove()
}
