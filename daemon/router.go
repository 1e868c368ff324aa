package daemon

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/netstack"
	"github.com/pexia-network/pexia/rules"
	"github.com/pexia-network/pexia/rules/owner"
	"github.com/pexia-network/pexia/tun"
)

// router decides where each flow goes: through a circuit of the pool, or,
// for an excluded destination or a flow the split-tunnel rules send
// direct, straight out with a marked socket that bypasses the tunnel; a
// flow the rules block is refused. It counts the bytes both ways, in
// total and per application (appMeter), looking up every new TUN flow's
// owner for that.
//
// A tunnelled flow whose rule names a profile rides that profile's
// circuit (profiles gives its pool profile), and so do the DNS queries of
// the application the rule matched; the others ride the connection's
// circuit (profile).
type router struct {
	pool     *hop.Pool
	profile  hop.Profile
	profiles func(name string) (hop.Profile, error)
	direct   *net.Dialer
	exclude  atomic.Pointer[[]netip.Prefix]

	// rules decides each new flow; nil tunnels everything. owners finds a
	// flow's process (nil where the OS has no lookup) and names the
	// destination's names (set once the netstack runs; proxy mode has
	// none, its flows carry the name they were opened with).
	rules  *rules.Engine
	owners owner.Finder
	names  atomic.Pointer[netstack.Names]
	// blocked counts flows refused by a block rule, ownerMisses new
	// flows whose owner was not found.
	blocked, ownerMisses atomic.Int64
	// apps counts each application's flows and bytes (nil: none).
	apps *appMeter

	up, down    atomic.Int64 // bytes through circuits
	flows       atomic.Int64 // flows opened
	active      atomic.Int64 // flows open now
	dnsQueries  atomic.Int64
	directFlows atomic.Int64
	failedDials atomic.Int64
	dnsTimeout  time.Duration
	lastDialErr atomic.Pointer[string]

	// limit is what happens at the budget's limit (nil: nothing), set
	// under limitMu.
	limit   atomic.Pointer[routerLimit]
	limitMu sync.Mutex
}

func newRouter(pool *hop.Pool, profile hop.Profile, mark uint32, exclude []netip.Prefix) *router {
	r := &router{pool: pool, profile: profile, direct: tun.MarkDialer(mark), dnsTimeout: 10 * time.Second}
	r.setExclude(exclude)
	return r
}

func (r *router) setExclude(p []netip.Prefix) {
	p = append([]netip.Prefix(nil), p...)
	r.exclude.Store(&p)
}

func (r *router) excluded(a netip.Addr) bool {
	for _, p := range *r.exclude.Load() {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// ErrBlocked is the error of a flow a block rule refused.
var ErrBlocked = errors.New("blocked by a split-tunnel rule")

// decide runs the rules for a new flow, looking up its owner if a rule
// needs it.
func (r *router) decide(f *rules.Flow) rules.Decision {
	// The owner is looked up for every flow when applications are
	// counted, else only when a rule asks for it.
	if r.owners != nil && f.Src.IsValid() && (r.apps != nil || r.rules != nil && r.rules.NeedsOwner()) {
		o, err := r.owners.Owner(f.Proto, f.Src, f.Dst)
		if err != nil {
			r.ownerMisses.Add(1)
		}
		f.Owner = o
	}
	if r.rules == nil {
		return rules.Decision{Target: rules.Target{Action: rules.Tunnel}}
	}
	var nl rules.NameLookup
	if n := r.names.Load(); n != nil {
		nl = n
	}
	return r.rules.Classify(f, nl)
}

// dial opens a flow from src (invalid if unknown) to dst ("tcp" or
// "udp").
func (r *router) dial(ctx context.Context, network string, src, dst netip.AddrPort) (net.Conn, error) {
	if r.excluded(dst.Addr()) {
		r.directFlows.Add(1)
		c, err := r.direct.DialContext(ctx, network, dst.String())
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	f := rules.Flow{Proto: rules.Proto(network), Src: src, Dst: dst}
	return r.dialDecided(ctx, network, dst.String(), r.decide(&f), f.Owner)
}

// dialDecided opens a flow of owner o to address as the rules decided.
func (r *router) dialDecided(ctx context.Context, network, address string, d rules.Decision, o rules.Owner) (net.Conn, error) {
	var app *appStat
	if r.apps != nil {
		// The profile whose payer shares the circuit's tickets: the rules
		// profile's name, as its payer labels them, or the connection's.
		profile := ""
		if d.Action == rules.Tunnel {
			profile = d.Profile
			if profile == "" {
				profile = r.profile.Name
			}
		}
		app = r.apps.stat(appLabel(o), profile, d)
	}
	if d.Action == rules.Tunnel && r.limitDirect() {
		d.Action = rules.Direct // at the budget's limit, by the user's choice
	}
	switch d.Action {
	case rules.Block:
		r.blocked.Add(1)
		if app != nil {
			app.blocked.Add(1)
		}
		return nil, fmt.Errorf("%w: %s", ErrBlocked, d)
	case rules.Direct:
		r.directFlows.Add(1)
		c, err := r.direct.DialContext(ctx, network, address)
		if err != nil || app == nil {
			return c, err
		}
		app.flows.Add(1)
		return &appConn{Conn: c, app: app}, nil
	}
	return r.dialCircuit(ctx, network, address, d.Profile, app)
}

// dialCircuit opens a flow through the circuit of the rules profile named
// profile, or the connection's circuit if profile is empty, counting its
// bytes for application app (nil: not counted).
func (r *router) dialCircuit(ctx context.Context, network, address, profile string, app *appStat) (net.Conn, error) {
	p, err := r.poolProfile(profile)
	var c net.Conn
	if err == nil {
		c, err = r.pool.Dial(ctx, p, network, address)
	}
	if err != nil {
		r.failedDials.Add(1)
		s := err.Error()
		r.lastDialErr.Store(&s)
		return nil, err
	}
	r.flows.Add(1)
	r.active.Add(1)
	if app != nil {
		app.flows.Add(1)
	}
	return &countedConn{Conn: c, r: r, app: app}, nil
}

func (r *router) poolProfile(name string) (hop.Profile, error) {
	if name == "" || r.profiles == nil {
		return r.profile, nil
	}
	return r.profiles(name)
}

// DialContext is the dialer of the userspace proxy: address may be a name,
// which is resolved at the exit.
func (r *router) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
		network = "tcp"
	case "udp", "udp4", "udp6":
		network = "udp"
	default:
		return nil, fmt.Errorf("network %q not supported", network)
	}
	if ap, err := netip.ParseAddrPort(address); err == nil {
		return r.dial(ctx, network, netip.AddrPort{}, ap)
	}
	// A name: the rules see it as the destination's name; a direct flow
	// resolves it with the system's resolver.
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	f := rules.Flow{Proto: rules.Proto(network)}
	if p, err := strconv.ParseUint(port, 10, 16); err == nil {
		f.Dst = netip.AddrPortFrom(netip.Addr{}, uint16(p))
	}
	if n, err := rules.NormalizeDomain(host); err == nil && n[0] != '.' {
		f.Names = []string{n}
	}
	return r.dialDecided(ctx, network, address, r.decide(&f), f.Owner)
}

// resolve answers one DNS query through the circuit of the rules profile
// named profile, or the connection's if profile is empty: its exit
// resolves it with its own resolver. Each query rides its own short "dns"
// stream. Its bytes count for application app (nil: not counted).
func (r *router) resolve(ctx context.Context, profile string, app *appStat, q []byte) ([]byte, error) {
	if len(q) < 12 || len(q) > 65535 {
		return nil, errors.New("malformed DNS query")
	}
	r.dnsQueries.Add(1)
	ctx, cancel := context.WithTimeout(ctx, r.dnsTimeout)
	defer cancel()
	p, err := r.poolProfile(profile)
	if err != nil {
		return nil, err
	}
	c, err := r.pool.Dial(ctx, p, "dns", "resolver:53")
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	msg := make([]byte, 2+len(q))
	binary.BigEndian.PutUint16(msg, uint16(len(q)))
	copy(msg[2:], q)
	if _, err := c.Write(msg); err != nil {
		return nil, err
	}
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return nil, err
	}
	a := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, a); err != nil {
		return nil, err
	}
	r.up.Add(int64(len(msg)))
	r.down.Add(int64(len(a) + 2))
	if app != nil {
		app.up.Add(uint64(len(msg)))
		app.down.Add(uint64(len(a) + 2))
	}
	return a, nil
}

// countedConn counts a circuit flow's bytes, for the router and for its
// application (app, nil if not counted).
type countedConn struct {
	net.Conn
	r      *router
	app    *appStat
	closed atomic.Bool
}

func (c *countedConn) Read(p []byte) (int, error) {
	var n int
	var err error
	if lim := c.r.throttle(); lim != nil {
		n, err = throttledRead(c.Conn, p, lim)
	} else {
		n, err = c.Conn.Read(p)
	}
	c.r.down.Add(int64(n))
	if c.app != nil && n > 0 {
		c.app.down.Add(uint64(n))
	}
	return n, err
}

func (c *countedConn) Write(p []byte) (int, error) {
	var n int
	var err error
	if lim := c.r.throttle(); lim != nil {
		n, err = throttledWrite(c.Conn, p, lim)
	} else {
		n, err = c.Conn.Write(p)
	}
	c.r.up.Add(int64(n))
	if c.app != nil && n > 0 {
		c.app.up.Add(uint64(n))
	}
	return n, err
}

func (c *countedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *countedConn) Close() error {
	if !c.closed.Swap(true) {
		c.r.active.Add(-1)
	}
	return c.Conn.Close()
}

// appConn counts a direct flow's bytes for its application.
type appConn struct {
	net.Conn
	app *appStat
}

func (c *appConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.app.down.Add(uint64(n))
	}
	return n, err
}

func (c *appConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.app.up.Add(uint64(n))
	}
	return n, err
}

func (c *appConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
