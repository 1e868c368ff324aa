package daemon

import (
	"time"

	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sync"
	"testing"

	wgtun "golang.zx2c4.com/wireguard/tun"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/tun"
)

// fakeSystem is a System that records what TUN mode would change in the
// operating system instead of changing it: the TUN device (a real
// wgtun.Device in memory, which the daemon's netstack runs on), the
// routes, the resolver and the kill-switch table. Like the kernel, it
// refuses a second device of the same name and routes put up twice.
type fakeSystem struct {
	mu        sync.Mutex
	devs      map[string]*fakeDevice // open devices by name
	created   int
	routes    *tun.RouteConfig // nil while down
	routeUps  int
	dnsIface  string
	dns       []netip.Addr // nil while restored
	ks        *tun.Policy  // nil while no table
	installs  int
	recovered []bool // keepKillSwitch of each Recover
	changed   func() // the local-network watch's callback, while one runs
}

func newFakeSystem() *fakeSystem { return &fakeSystem{devs: map[string]*fakeDevice{}} }

func (f *fakeSystem) CreateTUN(name string, mtu int, addrs []netip.Prefix) (wgtun.Device, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.devs[name] != nil {
		return nil, fmt.Errorf("create tun %s: device busy", name)
	}
	d := &fakeDevice{f: f, name: name, mtu: mtu, addrs: addrs, closed: make(chan struct{}), events: make(chan wgtun.Event, 1)}
	d.events <- wgtun.EventUp
	f.devs[name] = d
	f.created++
	return d, nil
}

func (f *fakeSystem) Routes() Routes         { return &fakeRoutes{f: f} }
func (f *fakeSystem) DNS() DNS               { return fakeDNS{f} }
func (f *fakeSystem) KillSwitch() KillSwitch { return fakeKS{f} }

func (f *fakeSystem) Recover(_ context.Context, keepKillSwitch bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recovered = append(f.recovered, keepKillSwitch)
	f.routes, f.dns, f.dnsIface = nil, nil, ""
	if !keepKillSwitch {
		f.ks = nil
	}
	return nil
}

func (f *fakeSystem) WatchLocalNetworks(ctx context.Context, changed func()) error {
	f.mu.Lock()
	f.changed = changed
	f.mu.Unlock()
	<-ctx.Done()
	f.mu.Lock()
	f.changed = nil
	f.mu.Unlock()
	return ctx.Err()
}

// state is a copy of what the fake holds now.
type sysState struct {
	devs     []string
	routes   *tun.RouteConfig
	dnsIface string
	dns      []netip.Addr
	ks       *tun.Policy
}

func (f *fakeSystem) state() sysState {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := sysState{routes: f.routes, dnsIface: f.dnsIface, dns: slices.Clone(f.dns), ks: f.ks}
	for n := range f.devs {
		s.devs = append(s.devs, n)
	}
	return s
}

type fakeRoutes struct {
	f  *fakeSystem
	up bool
}

func (r *fakeRoutes) Up(cfg tun.RouteConfig) error {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	if r.f.routes != nil {
		return fmt.Errorf("routes: already up (table %d)", r.f.routes.Table)
	}
	if cfg.Iface == "" || r.f.devs[cfg.Iface] == nil {
		return fmt.Errorf("routes: no device %q", cfg.Iface)
	}
	cfg.Exclude = slices.Clone(cfg.Exclude)
	r.f.routes, r.up = &cfg, true
	r.f.routeUps++
	return nil
}

func (r *fakeRoutes) Down() error {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	if r.up {
		r.f.routes, r.up = nil, false
	}
	return nil
}

type fakeDNS struct{ f *fakeSystem }

func (d fakeDNS) Set(_ context.Context, iface string, servers []netip.Addr) error {
	d.f.mu.Lock()
	defer d.f.mu.Unlock()
	d.f.dnsIface, d.f.dns = iface, slices.Clone(servers)
	return nil
}

func (d fakeDNS) Restore(context.Context) error {
	d.f.mu.Lock()
	defer d.f.mu.Unlock()
	d.f.dnsIface, d.f.dns = "", nil
	return nil
}

type fakeKS struct{ f *fakeSystem }

func (k fakeKS) Install(p tun.Policy) error {
	k.f.mu.Lock()
	defer k.f.mu.Unlock()
	p.LAN = slices.Clone(p.LAN)
	k.f.ks = &p
	k.f.installs++
	return nil
}

func (k fakeKS) Remove() error {
	k.f.mu.Lock()
	defer k.f.mu.Unlock()
	k.f.ks = nil
	return nil
}

func (k fakeKS) Installed() (bool, error) {
	k.f.mu.Lock()
	defer k.f.mu.Unlock()
	return k.f.ks != nil, nil
}

// fakeDevice is a TUN device in memory: it reads no packets and drops the
// ones written to it.
type fakeDevice struct {
	f      *fakeSystem
	name   string
	mtu    int
	addrs  []netip.Prefix
	once   sync.Once
	closed chan struct{}
	events chan wgtun.Event
}

func (d *fakeDevice) File() *os.File { return nil }

func (d *fakeDevice) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	<-d.closed
	return 0, os.ErrClosed
}

func (d *fakeDevice) Write(bufs [][]byte, offset int) (int, error) {
	select {
	case <-d.closed:
		return 0, os.ErrClosed
	default:
		return len(bufs), nil
	}
}

func (d *fakeDevice) MTU() (int, error)          { return d.mtu, nil }
func (d *fakeDevice) Name() (string, error)      { return d.name, nil }
func (d *fakeDevice) Events() <-chan wgtun.Event { return d.events }
func (d *fakeDevice) BatchSize() int             { return 1 }

func (d *fakeDevice) Close() error {
	d.once.Do(func() {
		close(d.closed)
		close(d.events)
		d.f.mu.Lock()
		delete(d.f.devs, d.name)
		d.f.mu.Unlock()
	})
	return nil
}

// TestTUNModeSystem runs a real daemon in TUN mode, with real circuits
// through nodes that verify its tickets, over a recording System: on
// connect it creates the device, puts up routes into it (with the
// exclusions), points DNS at the tunnel and installs the kill switch for
// the device; settings apply at once (exclusions, LAN); the local-network
// watch reinstalls a LAN-allowing table; disconnect removes everything;
// close keeps blocking (the user never disconnected) and a restart
// recovers keeping the table, resumes and connects again.
func TestTUNModeSystem(t *testing.T) {
	w := newWorld(t, 2, 1)
	sys := newFakeSystem()
	cfg := w.config()
	cfg.Mode, cfg.System = api.ModeTUN, sys
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			d.Close()
		}
	}()
	ctx := context.Background()
	if got := sys.recovered; len(got) != 1 || got[0] {
		t.Fatalf("recover at start: %v, want one without keeping the kill switch", got)
	}

	set, _ := d.Settings(ctx)
	set.Hops, set.KillSwitch, set.ExcludeCIDRs = 2, true, []string{"192.0.2.0/24"}
	if _, err := d.SetSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	if s := sys.state(); s.ks != nil {
		t.Fatalf("kill switch %+v installed while disconnected without lockdown", *s.ks)
	}

	connect(t, d, 0)
	waitState(t, d, api.StateConnected)
	checkCircuit(t, d, w.nodes, 2)
	s := sys.state()
	wantRoutes := tun.RouteConfig{Iface: "pexia0", Mark: 0x5078, Table: 5078, IPv6: true, StateDir: cfg.StateDir,
		Exclude: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}
	switch {
	case !slices.Equal(s.devs, []string{"pexia0"}):
		t.Fatalf("devices %v, want pexia0", s.devs)
	case s.routes == nil || fmt.Sprint(*s.routes) != fmt.Sprint(wantRoutes):
		t.Fatalf("routes %+v, want %+v", s.routes, wantRoutes)
	case s.dnsIface != "pexia0" || !slices.Equal(s.dns, []netip.Addr{tun.DNS4, tun.DNS6}):
		t.Fatalf("dns %v on %q, want %v on pexia0", s.dns, s.dnsIface, []netip.Addr{tun.DNS4, tun.DNS6})
	case s.ks == nil || s.ks.Iface != "pexia0" || s.ks.Mark != 0x5078 || s.ks.AllowLAN:
		t.Fatalf("kill switch %+v, want one for pexia0 with mark 0x5078 and no LAN", s.ks)
	}
	sys.mu.Lock()
	dev := sys.devs["pexia0"]
	sys.mu.Unlock()
	if dev.mtu != 1420 || !slices.Equal(dev.addrs, []netip.Prefix{tun.DefaultAddr4, tun.DefaultAddr6}) {
		t.Fatalf("device mtu %d addrs %v", dev.mtu, dev.addrs)
	}

	// Exclusions and the LAN apply at once, to the routes, the router and
	// the table; the watch on the local networks reinstalls the table
	// that allows the LAN.
	set.ExcludeCIDRs, set.AllowLAN, set.LANCIDRs = []string{"198.51.100.0/24"}, true, []string{"10.20.0.0/16"}
	if _, err := d.SetSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	s = sys.state()
	if s.routes == nil || !slices.Equal(s.routes.Exclude, []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}) {
		t.Fatalf("routes after the exclusions changed: %+v", s.routes)
	}
	if s.ks == nil || !s.ks.AllowLAN || !slices.Equal(s.ks.LAN, []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}) {
		t.Fatalf("kill switch after allowing the LAN: %+v", s.ks)
	}
	d.mu.Lock()
	r := d.sess.router
	d.mu.Unlock()
	if !r.excluded(netip.MustParseAddr("198.51.100.7")) || r.excluded(netip.MustParseAddr("192.0.2.7")) {
		t.Fatal("the router does not follow the exclusions")
	}
	testutil.WaitFor(t, "the local-network watch", time.Minute, func() bool { sys.mu.Lock(); defer sys.mu.Unlock(); return sys.changed != nil })
	sys.mu.Lock()
	before, changed := sys.installs, sys.changed
	sys.mu.Unlock()
	changed()
	sys.mu.Lock()
	after := sys.installs
	sys.mu.Unlock()
	if after != before+1 {
		t.Fatalf("a local network change reinstalled the table %d times, want once", after-before)
	}

	// Disconnect undoes everything.
	if _, err := d.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	if s := sys.state(); len(s.devs) != 0 || s.routes != nil || s.dns != nil || s.ks != nil {
		t.Fatalf("after disconnect: devices %v, routes %+v, dns %v, kill switch %+v; want none", s.devs, s.routes, s.dns, s.ks)
	}

	// Lockdown blocks while disconnected, and only then.
	set.Lockdown = true
	if _, err := d.SetSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	if s := sys.state(); s.ks == nil || s.ks.Iface != "" {
		t.Fatalf("lockdown while disconnected: kill switch %+v, want the blocking table", s.ks)
	}
	set.Lockdown = false
	if _, err := d.SetSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	if s := sys.state(); s.ks != nil {
		t.Fatalf("lockdown off while disconnected: kill switch %+v", s.ks)
	}

	// Close while connected: everything goes but the blocking table.
	connect(t, d, 0)
	waitState(t, d, api.StateConnected)
	closed = true
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	checkJoined(t, "close in TUN mode")
	if s := sys.state(); len(s.devs) != 0 || s.routes != nil || s.dns != nil || s.ks == nil || s.ks.Iface != "" {
		t.Fatalf("after close while connected: devices %v, routes %+v, dns %v, kill switch %+v; want only the blocking table", s.devs, s.routes, s.dns, s.ks)
	}

	// A restart recovers keeping the table, resumes and connects.
	d2 := w.daemon(cfg)
	if got := sys.recovered; len(got) != 2 || !got[1] {
		t.Fatalf("recover at restart: %v, want the second to keep the kill switch", got)
	}
	waitState(t, d2, api.StateConnected)
	if s := sys.state(); len(s.devs) != 1 || s.routes == nil || s.ks == nil || s.ks.Iface != "pexia0" {
		t.Fatalf("after resuming: devices %v, routes %+v, kill switch %+v", s.devs, s.routes, s.ks)
	}
	if _, err := d2.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	if s := sys.state(); len(s.devs) != 0 || s.routes != nil || s.dns != nil || s.ks != nil {
		t.Fatalf("after the second disconnect: devices %v, routes %+v, dns %v, kill switch %+v; want none", s.devs, s.routes, s.dns, s.ks)
	}
}
