package daemon

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/internal/logger"
	"github.com/pexia-network/pexia/netstack"
	"github.com/pexia-network/pexia/rules"
	"github.com/pexia-network/pexia/rules/owner"
	"github.com/pexia-network/pexia/tun"
	"github.com/pexia-network/pexia/wallet/budget"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/dir"
	"github.com/pexia-network/pexia/wallet/hopacct"
	"github.com/pexia-network/pexia/wallet/keys"
)

// Config configures a Daemon. Zero fields take the defaults.
type Config struct {
	// StateDir holds settings.json, the budget ledger and the record of
	// network changes to undo after a crash (default /var/lib/pexia).
	StateDir string
	// Networks are the networks the admin allows, by name: group members
	// choose among them (api.Settings.Network). NetworkFile, when set, is
	// one more, named DefaultNetworkName. DefaultNetwork is used when the
	// settings name none; it may be empty if there is only one network.
	// Only the admin sets these (pexiad's flags and configuration file);
	// see the privilege model in package api.
	Networks       map[string]NetworkChoice
	NetworkFile    string
	DefaultNetwork string
	// MaxMonthlyBudget is the highest monthly budget a group member may
	// set; nil or zero for no limit.
	MaxMonthlyBudget *big.Int
	// Key is where the funder key comes from: a keystore account with a
	// passphrase file, or a development key (see keys.Source).
	Key keys.Source
	// Face, if set, is a flat ticket face value in smallest units for
	// every hop, and the hop accounts are kept at 100 faces (pexiad's
	// -face, for tests). Nil, the normal case: the budget engine plans each
	// hop's face and win ratio from the node's terms and sizes the
	// accounts' deposits from the budget (see wallet.go).
	Face *big.Int
	// BudgetClock, if set, is the budget engine's clock instead of real
	// time: a compressed month for tests (pexiad's -test-clock, which only
	// the admin sets; never in normal use).
	BudgetClock *BudgetClock
	// HopRotation is how long the per-hop lottery accounts pay before
	// new ones take over (default a week; see wallet/hopacct).
	HopRotation time.Duration
	// Mode is ModeTUN (root) or ModeProxy (local SOCKS5/HTTP proxies only).
	Mode api.Mode
	// ProxyAddr is the proxies' listen address in proxy mode (default
	// 127.0.0.1:1080; one port serves SOCKS5 and HTTP). It must be a
	// loopback address unless ProxyAllowRemote. Clients always
	// authenticate, with credentials that API callers find in
	// Status.ProxyAddrs and, when ProxyCredentialsFile is set, in that
	// file (the proxies' URLs, one per line; mode 0640, group
	// ProxyCredentialsGroup, or 0600 without one).
	ProxyAddr             string
	ProxyAllowRemote      bool
	ProxyCredentialsFile  string
	ProxyCredentialsGroup string
	// TUN configures the TUN mode.
	TUN TUNConfig
	// Logf receives the daemon's log.
	Logf logger.Logf

	// The seams below let a test run the real daemon in-process against
	// an in-process chain, in-process nodes and a recording operating
	// system. The zero value of each is what pexiad uses.

	// DialChain opens a chain client on network n with opts: each
	// session's, and the one kept for wallet reads while disconnected.
	// Nil is chain.Dial (JSON-RPC through opts.HTTPClient, whose sockets
	// carry the bypass mark). A test returns, for instance, chain.New over
	// contracts/chaintest's simulated backend.
	DialChain func(ctx context.Context, n *contracts.Network, opts chain.Options) (*chain.Client, error)
	// Directory returns where a session picks the nodes of its circuits,
	// given the session's chain client and network. Nil reads the
	// on-chain directory (wallet/dir). A test lists in-process nodes
	// (hop/hoptest). Either way the terms a picked node announces are
	// checked against the entry the directory gave for it.
	Directory func(cl *chain.Client, n *contracts.Network) NodeDirectory
	// System is the operating system that TUN mode configures; nil is the
	// machine's own (see System).
	System System
}

// NodeDirectory picks the nodes of a circuit; wallet/dir.Directory does,
// from the chain.
type NodeDirectory interface {
	// Circuit returns hops distinct nodes: the last passes exit, the
	// others relay.
	Circuit(ctx context.Context, hops int, relay, exit dir.Filter) ([]dir.Node, error)
	// Lookup returns a node's current entry; ok is false if it has none.
	Lookup(ctx context.Context, node common.Address) (n dir.Node, ok bool, err error)
}

// NetworkChoice is one network the admin allows: a network file and,
// optionally, a JSON-RPC endpoint used instead of the file's.
type NetworkChoice struct {
	File string
	RPC  string
}

// DefaultNetworkName names Config.NetworkFile among Config.Networks.
const DefaultNetworkName = "default"

// checkNetworks completes and checks the admin's networks in cfg.
func checkNetworks(cfg *Config) error {
	nets := make(map[string]NetworkChoice, len(cfg.Networks)+1)
	for name, n := range cfg.Networks {
		nets[name] = n
	}
	if cfg.NetworkFile != "" {
		if _, ok := nets[DefaultNetworkName]; ok {
			return fmt.Errorf("network %q is configured twice (the -network file and a named network)", DefaultNetworkName)
		}
		nets[DefaultNetworkName] = NetworkChoice{File: cfg.NetworkFile}
		if cfg.DefaultNetwork == "" {
			cfg.DefaultNetwork = DefaultNetworkName
		}
	}
	for name, n := range nets {
		probe := api.Settings{Hops: 1, DNSMode: api.DNSTunnel, Network: name, NetworkFile: n.File, RPCURL: n.RPC}
		if err := probe.Validate(); err != nil {
			return fmt.Errorf("network %q: %w", name, err)
		}
		if n.File == "" {
			return fmt.Errorf("network %q: no network file", name)
		}
	}
	if cfg.DefaultNetwork == "" && len(nets) == 1 {
		for name := range nets {
			cfg.DefaultNetwork = name
		}
	}
	if _, ok := nets[cfg.DefaultNetwork]; cfg.DefaultNetwork != "" && !ok {
		return fmt.Errorf("default network %q is not among the configured networks", cfg.DefaultNetwork)
	}
	if cfg.DefaultNetwork == "" && len(nets) > 1 {
		return errors.New("several networks are configured and none is the default")
	}
	cfg.Networks = nets
	return nil
}

// TUNConfig configures the OS side of TUN mode.
type TUNConfig struct {
	Name string // default "pexia0"
	MTU  int    // default 1420
	// Mark is the firewall mark of the daemon's own sockets (default
	// 0x5078); Table the routing table of the tunnel's default routes
	// (default 5078).
	Mark  uint32
	Table int
	// ExcludeCgroup is the cgroup v2, relative to the hierarchy's root,
	// of the programs `pexia exclude` routes around the tunnel (default
	// tun.DefaultExcludeCgroup, /sys/fs/cgroup/pexia-exclude on a unified
	// system). It is the same for every user; pexiad creates it.
	ExcludeCgroup string
}

// Daemon is pexiad: it connects the machine to circuits and serves the
// local API through its api.Backend methods.
type Daemon struct {
	cfg  Config
	feed *api.Feed
	pay  *payments
	wins *wins
	plan dataplaneFactory
	fw   *firewall
	sys  System

	// rules are the split-tunnel rules every session's router uses;
	// owners finds flows' processes (nil where the OS has no lookup);
	// names is the connected TUN session's table of DNS answers.
	rules  *rules.Store
	guards *guards
	owners *owner.Table
	names  atomic.Pointer[netstack.Names]
	excl   excluder

	// setMu serializes settings changes, so that a change is checked
	// against the settings it replaces.
	setMu sync.Mutex
	// lifeMu serializes Connect, Disconnect and Close: they are the only
	// ones that replace sess, and each replaces it (stopping the old
	// session, starting the new one) as one step, so no session is ever
	// started that nothing will stop.
	lifeMu   sync.Mutex
	mu       sync.Mutex
	settings api.Settings
	intent   intent // the user's target state, as saved
	intentMu sync.Mutex
	// priceMu guards the fiat rate of the settings, read by currency()
	// whatever lock its caller holds.
	priceMu   sync.Mutex
	priceRate string
	priceAt   time.Time
	status    api.Status
	sess      *session
	closed    bool

	meter rateMeter
	// apps counts each application's flows, bytes and spend.
	apps    *appMeter
	chainMu sync.Mutex
	cl      *chain.Client // for wallet reads while disconnected
	clNet   *contracts.Network
	// hc carries every chain client's requests; its idle connections are
	// closed with the clients, so none outlives a session or the daemon.
	hc   *http.Client
	done chan struct{}

	// ctx ends when Close begins; wg counts every goroutine the daemon
	// starts (tick, the account upkeep, the sessions' run, the kill
	// switch's follower), and Close waits for it before closing the state
	// they use.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// session is one connection: from Connect to Disconnect.
type session struct {
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	// held: the session holds at the budget's limit (holdAtLimit).
	held atomic.Bool

	net *contracts.Network
	cl  *chain.Client // written under mu by run; run reads it without
	// stopFollow stops cl's event follower, which closes followed when
	// it returned; both are set with cl.
	stopFollow context.CancelFunc
	followed   chan struct{}
	sel        *selector
	pool       *hop.Pool
	router     *router
	profile    hop.Profile
	plane      dataplane // written under mu by run; run reads it without

	padRate int // padding cells per second each way; 0 for none
	// hops is the longest circuit the hop accounts are funded for: the
	// connection's, or a longer profile's; guarded by fundMu.
	hops   int
	fundMu sync.Mutex

	maintaining atomic.Bool                  // the hop accounts are being kept up
	acctCl      atomic.Pointer[chain.Client] // set once the accounts are funded
	// short is set when a plan refused a node because one of our hop
	// accounts is too small for the budget (raised since it was funded):
	// build tops the accounts up before its next attempt.
	short atomic.Bool

	mu         sync.Mutex
	circuit    *hop.Circuit
	builtAt    time.Time
	buildMS    int64
	padPerHour *big.Int // what padding costs on this circuit
}

// New opens the daemon's state and undoes what a crashed predecessor left
// in the network configuration.
func New(cfg Config) (*Daemon, error) {
	if cfg.StateDir == "" {
		cfg.StateDir = "/var/lib/pexia"
	}
	if cfg.Mode == "" {
		cfg.Mode = api.ModeTUN
	}
	if cfg.ProxyAddr == "" {
		cfg.ProxyAddr = "127.0.0.1:1080"
	}
	if cfg.TUN.Name == "" {
		cfg.TUN.Name = "pexia0"
	}
	if cfg.TUN.MTU == 0 {
		cfg.TUN.MTU = 1420
	}
	if cfg.TUN.Mark == 0 {
		cfg.TUN.Mark = 0x5078
	}
	if cfg.TUN.Table == 0 {
		cfg.TUN.Table = 5078
	}
	cfg.Logf = logger.OrDiscard(cfg.Logf)
	if cfg.DialChain == nil {
		cfg.DialChain = chain.Dial
	}
	if cfg.Directory == nil {
		cfg.Directory = func(cl *chain.Client, n *contracts.Network) NodeDirectory { return dir.New(cl, n.Addresses) }
	}
	if cfg.System == nil {
		cfg.System = osSystem{stateDir: cfg.StateDir, logf: cfg.Logf}
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, err
	}
	if err := checkNetworks(&cfg); err != nil {
		return nil, err
	}
	if cfg.Mode == api.ModeProxy {
		if err := checkProxyAddr(cfg.ProxyAddr, cfg.ProxyAllowRemote); err != nil {
			return nil, err
		}
	}
	d := &Daemon{cfg: cfg, feed: api.NewFeed(256), done: make(chan struct{})}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.hc = markedHTTP(cfg.TUN.Mark, 10*time.Second)
	d.sys = cfg.System
	d.fw = &firewall{sys: cfg.System, ks: cfg.System.KillSwitch()}
	var err error
	if d.settings, err = loadSettings(d.settingsPath(), defaultSettings(), cfg.Logf); err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	if err := d.settings.Validate(); err != nil {
		return nil, fmt.Errorf("settings file %s: %w", d.settingsPath(), err)
	}
	if n := d.settings.Network; n != "" {
		if _, ok := cfg.Networks[n]; !ok {
			cfg.Logf("settings: network %q is no longer configured; using the default", n)
			d.settings.Network = ""
		}
	}
	if d.rules, err = rules.Open(rulesPathIn(cfg.StateDir)); err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	d.guards = openGuards(guardsPathIn(cfg.StateDir), cfg.Logf)
	in, err := loadIntent(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	d.intent = in
	key, err := d.funderKey()
	if err != nil {
		return nil, err
	}
	cfg.Logf("funder %s (%s)", crypto.PubkeyToAddress(key.PublicKey), cfg.Key)
	if d.wins, err = newWins(cfg.StateDir); err != nil {
		return nil, err
	}
	if d.pay, err = openPayments(key, cfg.Face, d.settings.MonthlyBudget.Big(), timeZone(d.settings.TimeZone), cfg.StateDir, cfg.BudgetClock); err != nil {
		return nil, err
	}
	d.pay.sched.Period = cfg.HopRotation
	d.pay.engine.SetFloor(floorRate(d.settings))
	d.pay.publish = d.feed.Publish
	d.setPrice(d.settings)
	switch cfg.Mode {
	case api.ModeTUN:
		d.plan = tunPlane
	case api.ModeProxy:
		d.plan = proxyPlane
	default:
		return nil, fmt.Errorf("unknown mode %q", cfg.Mode)
	}
	if err := d.recover(); err != nil {
		d.cancel()
		d.pay.close()
		return nil, err
	}
	d.status = api.Status{State: api.StateDisconnected, Since: time.Now(), Mode: cfg.Mode}
	d.owners = d.openOwners()
	d.apps = newAppMeter()
	d.excl.ex = tun.Exclusion{Cgroup: cfg.TUN.ExcludeCgroup, Mark: cfg.TUN.Mark}
	d.excl.resolvers = func() ([]netip.Addr, error) { return tun.SystemResolvers(cfg.StateDir, "") }
	d.excl.logf, d.excl.dns = cfg.Logf, d.settings.ExcludedDNSMode()
	d.goJoined(d.tick)
	if cfg.Mode == api.ModeTUN {
		d.goJoined(func() { d.fw.follow(d.ctx, cfg.Logf) })
	}
	// The user's last word was "connect": the daemon stopped without a
	// disconnect, so it resumes (blocked meanwhile, with the kill switch).
	if in := d.intent; in.Connected {
		cfg.Logf("resuming the connection the user asked for")
		if _, err := d.Connect(context.Background(), api.ConnectRequest{Hops: in.Hops, Country: in.Country}); err != nil {
			cfg.Logf("resume: %v", err)
		}
	}
	return d, nil
}

func defaultSettings() api.Settings {
	return api.Settings{
		Hops:          3,
		DNSMode:       api.DNSTunnel,
		ExcludedDNS:   api.DNSTunnel,
		MonthlyBudget: api.NewAmount(new(big.Int).Mul(big.NewInt(10), big.NewInt(1e18))),
	}
}

func (d *Daemon) settingsPath() string { return settingsPathIn(d.cfg.StateDir) }

func settingsPathIn(dir string) string { return filepath.Join(dir, "settings.json") }

// funderKey loads the funder key; the network is read only for a
// development key, which needs its test keys or chain ID.
func (d *Daemon) funderKey() (_ *ecdsa.PrivateKey, err error) {
	var n *contracts.Network
	if d.cfg.Key.Plain() {
		if n, err = d.network(); err != nil {
			return nil, err
		}
	}
	k, err := d.cfg.Key.Load(n)
	if err != nil {
		return nil, fmt.Errorf("funder key: %w", err)
	}
	return k, nil
}

// network loads the network to pay on: the admin's network_file if an
// admin set one, else the admin-configured network the settings name (or
// the default one). Group members can only choose the name.
func (d *Daemon) network() (*contracts.Network, error) {
	d.mu.Lock()
	path, rpc, name := d.settings.NetworkFile, d.settings.RPCURL, d.settings.Network
	d.mu.Unlock()
	if path == "" {
		if name == "" {
			name = d.cfg.DefaultNetwork
		}
		if name == "" {
			return nil, fmt.Errorf("%w: no network configured: the admin sets one with pexiad -network FILE or in pexiad's configuration file", api.ErrUnavailable)
		}
		ch, ok := d.cfg.Networks[name]
		if !ok {
			return nil, fmt.Errorf("%w: network %q is not one the admin allows (%s)", api.ErrInvalid, name, strings.Join(d.networkNames(), ", "))
		}
		path = ch.File
		if rpc == "" {
			rpc = ch.RPC
		}
	}
	if err := CheckAdminFile(path); err != nil {
		return nil, fmt.Errorf("network file: %w", err)
	}
	n, err := contracts.LoadNetwork(path)
	if err != nil {
		return nil, err
	}
	if rpc != "" {
		n.RPC = rpc
	}
	return n, nil
}

// goJoined runs f on a goroutine that Close waits for. Callers make sure
// Close has not begun waiting: they run on such a goroutine themselves,
// or hold lifeMu and checked closed.
func (d *Daemon) goJoined(f func()) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		f()
	}()
}

// Close disconnects (keeping the kill switch in lockdown), waits for every
// goroutine the daemon started and closes the daemon's state.
func (d *Daemon) Close() error {
	d.lifeMu.Lock()
	defer d.lifeMu.Unlock()
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	s := d.sess
	d.sess = nil
	d.mu.Unlock()
	if s != nil {
		d.stop(s)
	}
	d.cancel()
	close(d.done)
	d.wg.Wait()
	d.chainMu.Lock()
	if d.cl != nil {
		d.cl.Close()
	}
	d.chainMu.Unlock()
	d.hc.CloseIdleConnections()
	if err := d.excl.close(); err != nil {
		d.cfg.Logf("exclude: %v", err)
	}
	d.feed.Close()
	if d.owners != nil {
		d.owners.Close()
	}
	return d.pay.close()
}

// setState records a state change and publishes it.
func (d *Daemon) setState(st api.State, err error, mut func(*api.Status)) {
	d.mu.Lock()
	if d.status.State != st {
		d.status.Since = time.Now()
	}
	d.status.State = st
	d.status.Error, d.status.Reason = "", reasonOf(err)
	if err != nil {
		d.status.Error = err.Error()
	}
	if mut != nil {
		mut(&d.status)
	}
	s := d.snapshotLocked()
	d.mu.Unlock()
	if err != nil {
		d.cfg.Logf("%s: %v", st, err)
	} else {
		d.cfg.Logf("%s", st)
	}
	d.feed.Publish(api.Event{Type: api.EventState, Time: time.Now(), State: &s})
}

// publishStatus publishes the status as it is, state and error unchanged.
func (d *Daemon) publishStatus() {
	d.mu.Lock()
	s := d.snapshotLocked()
	d.mu.Unlock()
	d.feed.Publish(api.Event{Type: api.EventState, Time: time.Now(), State: &s})
}

func (d *Daemon) snapshotLocked() api.Status {
	s := d.status
	s.ProxyAddrs = append([]string(nil), s.ProxyAddrs...)
	up, down, ru, rd := d.meter.read()
	s.BytesUp, s.BytesDown, s.RateUp, s.RateDown = up, down, ru, rd
	s.KillSwitch = d.settings.KillSwitch
	s.Lockdown = d.settings.Lockdown
	s.ExcludedDNS, s.ExcludedDNSServers = d.settings.ExcludedDNSMode(), d.excl.systemDNS()
	s.AtLimit = ""
	if d.sess != nil && (d.sess.held.Load() || d.pay.engine.AtLimit()) {
		s.AtLimit = limitAction(d.settings)
	}
	return s
}

// Status implements api.Backend.
func (d *Daemon) Status(ctx context.Context) (api.Status, error) {
	d.mu.Lock()
	st, s := d.snapshotLocked(), d.sess
	d.mu.Unlock()
	if s != nil {
		s.mu.Lock()
		c, pool := s.circuit, s.pool
		s.mu.Unlock()
		st.UDPFlows = udpFlows(c, api.CallerFrom(ctx).Access == api.AccessAdmin)
		if pool != nil && c != nil {
			st.Circuits = d.profileCircuits(s, pool)
			st.Guards = d.guards.status(s.sel.network)
		}
	}
	return st, nil
}

// Connect implements api.Backend: it starts a session in the background.
func (d *Daemon) Connect(_ context.Context, req api.ConnectRequest) (api.Status, error) {
	d.lifeMu.Lock()
	defer d.lifeMu.Unlock()
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return api.Status{}, fmt.Errorf("%w: the daemon is shutting down", api.ErrUnavailable)
	}
	d.mu.Unlock()
	// The target state is on disk before anything acts on it, so that an
	// unexpected stop from here on leaves traffic blocked (kill switch)
	// and the next start reconnects.
	if err := d.setIntent(intent{Connected: true, Hops: req.Hops, Country: req.Country}); err != nil {
		return api.Status{}, err
	}
	d.mu.Lock()
	old := d.sess
	d.sess = nil
	set := d.settings
	d.mu.Unlock()
	if old != nil {
		d.stop(old)
	}
	plan := Plan{Hops: set.Hops, MaxPricePerGB: nil}
	if req.Hops != 0 {
		plan.Hops = req.Hops
	}
	if !set.PriceCapPerGB.IsZero() {
		plan.MaxPricePerGB = set.PriceCapPerGB.Big()
	}
	if req.Country != "" {
		plan.Country = req.Country
	} else if len(set.ExitCountries) > 0 {
		plan.Country = set.ExitCountries[0]
	}
	if err := checkPlan(plan); err != nil {
		return api.Status{}, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{ctx: ctx, cancel: cancel, done: make(chan struct{}),
		profile: hop.Profile{Name: fmt.Sprintf("default-%d", plan.Hops), Hops: plan.Hops}}
	d.mu.Lock()
	d.sess = s
	d.mu.Unlock()
	d.setState(api.StateConnecting, nil, func(st *api.Status) {
		st.Profile = s.profile.Name
		st.ExitAddr, st.ExitCountry, st.ExitHost = "", "", ""
	})
	d.goJoined(func() { d.run(s, plan, set) })
	return d.Status(ctx)
}

// Disconnect implements api.Backend. It is the one thing that lifts the
// kill switch's blocking after a connect (lockdown aside).
func (d *Daemon) Disconnect(ctx context.Context) (api.Status, error) {
	d.lifeMu.Lock()
	defer d.lifeMu.Unlock()
	if err := d.setIntent(intent{}); err != nil {
		// Disconnect all the same; a crash before the next save blocks
		// again, which fails closed.
		d.cfg.Logf("disconnect: %v", err)
	}
	d.mu.Lock()
	s := d.sess
	d.sess = nil
	d.mu.Unlock()
	if s != nil {
		d.stop(s)
	}
	d.setState(api.StateDisconnected, nil, func(st *api.Status) {
		st.Profile, st.ExitAddr, st.ExitCountry, st.ExitHost, st.ProxyAddrs = "", "", "", "", nil
	})
	return d.Status(ctx)
}

// setIntent saves the user's target state, then adopts it.
func (d *Daemon) setIntent(in intent) error {
	d.intentMu.Lock()
	defer d.intentMu.Unlock()
	err := saveIntent(d.cfg.StateDir, in)
	if err == nil || !in.Connected {
		d.mu.Lock()
		d.intent = in
		d.mu.Unlock()
	}
	return err
}

// stop ends a session and waits for its teardown.
func (d *Daemon) stop(s *session) {
	s.cancel()
	<-s.done
}

// run is a session's life: chain, payments, first circuit, data plane,
// then watching the circuit and replacing it whenever it dies.
func (d *Daemon) run(s *session, plan Plan, set api.Settings) {
	defer close(s.done)
	err := d.open(s, plan, set)
	if err == nil {
		err = d.watch(s)
	}
	d.teardown(s, set)
	if err != nil && s.ctx.Err() == nil {
		// The proxies closed with the session.
		d.setState(api.StateError, err, func(st *api.Status) { st.ProxyAddrs = nil })
	}
}

func (d *Daemon) open(s *session, plan Plan, set api.Settings) error {
	var err error
	if s.net, err = d.network(); err != nil {
		return err
	}
	cl, err := d.cfg.DialChain(s.ctx, s.net, chain.Options{HTTPClient: d.hc,
		Logf: logger.WithPrefix(d.cfg.Logf, "chain: ")})
	if err != nil {
		return fmt.Errorf("chain %s: %w", s.net.RPC, err)
	}
	s.mu.Lock()
	s.cl = cl // chainClient reads it under mu
	s.mu.Unlock()
	// The event follower keeps the lottery accounts' cache current, so the
	// tickets are issued against memory and the chain sees the same polls
	// whatever the traffic; while the endpoint is down the cache answers
	// (stale, as the client's Status says) and the follower probes once a
	// poll. teardown stops and joins it.
	fctx, fcancel := context.WithCancel(s.ctx)
	s.stopFollow, s.followed = fcancel, make(chan struct{})
	go func() {
		defer close(s.followed)
		cl.Run(fctx)
	}()
	if err := d.startWins(s.ctx, s.cl); err != nil {
		return fmt.Errorf("chain %s: %w", s.net.RPC, err)
	}
	if err := d.pay.fund(s.ctx, s.cl, plan.Hops, d.cfg.Logf); err != nil {
		return err
	}
	plan.MinDelay = 0
	s.sel = &selector{d: d.cfg.Directory(s.cl, s.net), plan: plan, name: s.profile.Name}
	s.sel.fund = d.fundHops(s)
	s.sel.guards, s.sel.network = d.guards, guardNetwork(s.net)
	s.sel.guardFilter = dir.Filter{Role: dir.RoleRelay, MaxPricePerGB: plan.MaxPricePerGB, Token: &common.Address{}}
	s.padRate = paddingRate(set.PaddingKbps)
	s.hops = plan.Hops
	s.acctCl.Store(s.cl)
	n := s.net
	onIssue := func(t *contracts.Signed, hop int, node common.Address) {
		d.wins.remember(n, t, hop, node, s.profile.Name)
	}
	check, err := termsCheck(s.ctx, s.cl, s.sel, plan, d.cfg.Logf)
	if err != nil {
		return fmt.Errorf("chain %s: %w", s.net.RPC, err)
	}
	pool := newPool(s.sel, d.pay.payer(s.net, s.cl, s.profile.Name, d.apps.window, onIssue, check), d.cfg.TUN.Mark, s.padRate, d.cfg.Logf)
	pool.PayerFor = d.payerFor(s, n, check)
	pool.NodeFailed = func(node onion.Address) { d.guards.result(s.sel.network, common.Address(node), false) }
	pool.NodeRefused = func(_ onion.Address, err error) {
		if accountShort(err) {
			s.short.Store(true)
		}
	}
	pool.Built = func(c *hop.Circuit) { d.guards.result(s.sel.network, common.Address(c.Hops()[0].Address), true) }
	s.mu.Lock()
	s.pool = pool // Status and the idle reaper read it under mu
	s.mu.Unlock()
	var exclude []netip.Prefix
	for _, c := range set.ExcludeCIDRs {
		if p, err := netip.ParsePrefix(c); err == nil {
			exclude = append(exclude, p)
		}
	}
	r := newRouter(s.pool, s.profile, d.cfg.TUN.Mark, exclude)
	r.profiles = func(name string) (hop.Profile, error) { return d.profileFor(s, name) }
	r.rules = d.rules.Engine()
	r.apps = d.apps
	if d.owners != nil {
		r.owners = d.owners
	}
	s.mu.Lock()
	s.router = r // the tick's refreshLimit reads it under mu
	s.mu.Unlock()
	d.applyLimit(s, set)
	d.meter.attach(s.router)

	// The data plane goes up before the first circuit, so that with the
	// kill switch nothing leaks while the circuit is being built; flows
	// opened meanwhile wait for it.
	plane, err := d.plan(d, s, set)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.plane = plane // SetSettings reads it under mu
	s.mu.Unlock()
	if pa := plane.proxyAddrs(); len(pa) > 0 {
		d.mu.Lock()
		d.status.ProxyAddrs = pa
		d.mu.Unlock()
	}
	return d.build(s, api.StateConnecting)
}

// build gets a circuit from the pool, retrying with backoff until the
// session ends.
func (d *Daemon) build(s *session, during api.State) error {
	backoff := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
		c, err := s.pool.Circuit(ctx, s.profile)
		cancel()
		if err == nil {
			err = d.checkPadding(s, c)
		}
		if err == nil {
			s.mu.Lock()
			s.circuit, s.builtAt, s.buildMS = c, time.Now(), time.Since(t0).Milliseconds()
			s.mu.Unlock()
			d.connected(s, c)
			return nil
		}
		if s.ctx.Err() != nil {
			return s.ctx.Err()
		}
		if d.refusedByBudget(err) {
			if err := d.holdAtLimit(s, err); err != nil {
				return err
			}
			attempt, backoff = 0, 500*time.Millisecond
			continue
		}
		if s.short.Swap(false) && d.refill(s) {
			attempt--
			continue
		}
		d.setState(during, fmt.Errorf("building a circuit (attempt %d): %w", attempt, err), nil)
		if attempt >= 5 && during == api.StateConnecting {
			return err
		}
		select {
		case <-s.ctx.Done():
			return s.ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// checkPadding prices the circuit's padding and refuses it (closing c) if
// the budget cannot keep it up until the period ends.
func (d *Daemon) checkPadding(s *session, c *hop.Circuit) error {
	if s.padRate == 0 {
		return nil
	}
	var prices []*big.Int
	for _, h := range s.sel.describe(c) {
		prices = append(prices, h.PricePerGB)
	}
	cost := budget.PaddingCost(s.padRate, onion.DefaultCellSize, prices, time.Hour)
	s.mu.Lock()
	s.padPerHour = cost
	s.mu.Unlock()
	if err := d.pay.engine.CheckPadding(d.pay.budgetNow(), cost); err != nil {
		c.Close()
		return err
	}
	return nil
}

func (d *Daemon) connected(s *session, c *hop.Circuit) {
	hops := s.sel.describe(c)
	var exit HopStatus
	if len(hops) > 0 {
		exit = hops[len(hops)-1]
	}
	host := exit.URL
	if u, err := url.Parse(exit.URL); err == nil {
		host = u.Host
	}
	d.setState(api.StateConnected, nil, func(st *api.Status) {
		st.Profile = s.profile.Name
		st.ExitAddr, st.ExitCountry, st.ExitHost = exit.Address.Hex(), exit.Country, host
	})
	if ci, err := d.circuitOf(s); err == nil {
		d.feed.Publish(api.Event{Type: api.EventCircuit, Time: time.Now(), Circuit: &ci})
	}
}

// watch replaces the circuit whenever it dies, until the session ends. It
// returns the error that ended the session: nil when it was stopped, the
// reason a replacement was refused (the budget) otherwise.
func (d *Daemon) watch(s *session) error {
	for {
		s.mu.Lock()
		c := s.circuit
		s.mu.Unlock()
		select {
		case <-s.ctx.Done():
			return nil
		case <-c.Done():
		}
		d.setState(api.StateReconnecting, c.Err(), nil)
		if err := d.build(s, api.StateReconnecting); err != nil {
			return err
		}
	}
}

// teardown undoes a session in reverse order.
func (d *Daemon) teardown(s *session, set api.Settings) {
	s.mu.Lock()
	plane := s.plane
	s.plane = nil // SetSettings applies no more to it
	s.mu.Unlock()
	if plane != nil {
		if err := plane.close(); err != nil {
			d.cfg.Logf("data plane: %v", err)
		}
	}
	if s.pool != nil {
		s.pool.Close()
	}
	d.meter.detach(s.router)
	if err := d.apps.drain(d.pay.engine); err != nil {
		d.cfg.Logf("budget: per-app traffic: %v", err)
	}
	if s.cl != nil {
		s.stopFollow()
		s.cl.Close()
		<-s.followed
		d.hc.CloseIdleConnections()
	}
	d.pay.engine.Flush()
}

// Circuit implements api.Backend.
func (d *Daemon) Circuit(context.Context) (api.Circuit, error) {
	d.mu.Lock()
	s := d.sess
	d.mu.Unlock()
	if s == nil {
		return api.Circuit{}, fmt.Errorf("%w: not connected", api.ErrNotConnected)
	}
	return d.circuitOf(s)
}

func (d *Daemon) circuitOf(s *session) (api.Circuit, error) {
	s.mu.Lock()
	c, at, ms := s.circuit, s.builtAt, s.buildMS
	s.mu.Unlock()
	if c == nil || s.sel == nil {
		return api.Circuit{}, fmt.Errorf("%w: no circuit yet", api.ErrNotConnected)
	}
	ci := d.describeCircuit(s, s.profile.Name, c, at, ms)
	ci.Default = true
	return ci, nil
}

// networkNames lists the admin's networks, sorted.
func (d *Daemon) networkNames() []string {
	names := make([]string, 0, len(d.cfg.Networks))
	for n := range d.cfg.Networks {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Settings implements api.Backend.
func (d *Daemon) Settings(context.Context) (api.Settings, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.settingsLocked(), nil
}

// settingsLocked is the settings with their read-only fields filled in.
func (d *Daemon) settingsLocked() api.Settings {
	s := d.settings
	s.Networks = d.networkNames()
	if m := d.cfg.MaxMonthlyBudget; m != nil && m.Sign() > 0 {
		s.MaxMonthlyBudget = api.NewAmount(m)
	}
	s.Currency = d.currency()
	return s
}

// SetSettings implements api.Backend. Settings that shape the circuit or
// the OS configuration take effect at the next connect; the kill switch
// and the exclusions apply at once. The caller in ctx must be allowed to
// make the change (api.CheckChange): a member cannot touch the network
// file, the RPC endpoint or raise the budget past the admin's limit.
func (d *Daemon) SetSettings(ctx context.Context, s api.Settings) (api.Settings, error) {
	d.setMu.Lock()
	defer d.setMu.Unlock()
	s.ClearReadOnly()
	if err := s.Validate(); err != nil {
		return api.Settings{}, err
	}
	d.mu.Lock()
	cur := d.settingsLocked()
	d.mu.Unlock()
	if err := api.CheckChange(api.CallerFrom(ctx), cur, s); err != nil {
		return api.Settings{}, err
	}
	s.FiatRateSetAt = cur.FiatRateSetAt
	if s.FiatRate != cur.FiatRate {
		s.FiatRateSetAt = time.Now().UTC().Truncate(time.Second)
	}
	if s.FiatRate == "" {
		s.FiatRateSetAt = time.Time{}
	}
	if err := saveSettings(d.settingsPath(), s); err != nil {
		return api.Settings{}, fmt.Errorf("save settings: %w", err)
	}
	var err error
	d.mu.Lock()
	d.settings = s
	sess := d.sess
	d.mu.Unlock()
	if err := d.pay.engine.SetBudget(s.MonthlyBudget.Big()); err != nil {
		return api.Settings{}, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	if s.MonthlyBudget.Cmp(cur.MonthlyBudget) < 0 {
		d.maintainAccounts() // unused funds go back at once
	}
	if err := d.pay.engine.SetLocation(timeZone(s.TimeZone)); err != nil {
		return api.Settings{}, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	d.applyLimit(sess, s)
	d.setPrice(s)
	if err := d.excl.setDNS(s.ExcludedDNSMode()); err != nil {
		return api.Settings{}, fmt.Errorf("exclude: %w", err)
	}
	applied := false
	if sess != nil {
		// Under the session's lock, so that teardown does not close the
		// plane meanwhile.
		sess.mu.Lock()
		if sess.plane != nil {
			applied = true
			err = sess.plane.apply(s)
		}
		sess.mu.Unlock()
		if err != nil {
			return api.Settings{}, err
		}
	}
	if !applied {
		if err := d.applyIdle(s); err != nil {
			return api.Settings{}, err
		}
	}
	d.publishStatus() // the kill switch and the limit are in it
	return d.Settings(ctx)
}

// Budget implements api.Backend. A member sees only their own
// applications in PerApp.
func (d *Daemon) Budget(ctx context.Context) (api.Budget, error) {
	st := d.pay.engine.Status(d.pay.budgetNow())
	b := api.Budget{
		Monthly: api.NewAmount(st.Budget), PeriodStart: st.Period.Start, PeriodEnd: st.Period.End,
		Spent: api.NewAmount(st.Spent), Issued: api.NewAmount(st.Issued), Remaining: api.NewAmount(st.Remaining),
		Forecast: api.NewAmount(st.Forecast), ForecastLow: api.NewAmount(st.ForecastLow), ForecastHigh: api.NewAmount(st.ForecastHigh),
		RatePerHour: api.NewAmount(st.RatePerHour), Tickets: st.Tickets, Wins: st.Wins, Currency: d.currency(),
		RunOutProbability: st.Outlook.RunOut, TimeZone: zoneName(d.pay.engine.Location()),
		Limited: d.pay.engine.AtLimit(),
	}
	if o := st.Outlook; o.DemandPerHour != nil {
		b.DemandPerHour = api.NewAmount(o.DemandPerHour)
		days := o.RunsOutIn.Hours() / 24
		b.DaysLeft = &days
	}
	d.mu.Lock()
	b.AtLimit, b.FloorKbps = limitAction(d.settings), d.settings.FloorKbps
	if b.AtLimit != api.LimitThrottle {
		b.FloorKbps = 0
	}
	if s := d.sess; s != nil {
		s.mu.Lock()
		if s.padPerHour != nil {
			b.PaddingPerHour = api.NewAmount(s.padPerHour)
		}
		s.mu.Unlock()
	}
	d.mu.Unlock()
	d.pay.engine.Flush()
	for by, dst := range map[string]*[]api.SpendTotal{budget.ByHop: &b.PerHop, budget.ByDay: &b.PerDay, budget.ByApp: &b.PerApp, budget.ByProfile: &b.PerProfile} {
		ts, err := d.pay.ledger.TotalsFor(st.Period, by)
		if err != nil {
			return api.Budget{}, err
		}
		for _, t := range ts {
			if by == budget.ByApp && !maysee(api.CallerFrom(ctx), t.Key) {
				continue
			}
			*dst = append(*dst, api.SpendTotal{Key: t.Key, Issued: api.NewAmount(t.Issued), Spent: api.NewAmount(t.Spent), Tickets: t.Tickets, Wins: t.Wins})
		}
	}
	return b, nil
}

// SetBudget implements api.Backend.
func (d *Daemon) SetBudget(ctx context.Context, monthly api.Amount) (api.Budget, error) {
	d.mu.Lock()
	s := d.settingsLocked()
	d.mu.Unlock()
	if err := api.CheckBudget(api.CallerFrom(ctx), s, monthly); err != nil {
		return api.Budget{}, err
	}
	s.MonthlyBudget = monthly
	if _, err := d.SetSettings(ctx, s); err != nil {
		return api.Budget{}, err
	}
	return d.Budget(ctx)
}

// Wallet implements api.Backend. It lists every lottery account of the
// client: the current epoch's per-hop accounts, the next epoch's when
// funded ahead, and the retired ones (and the legacy one) until their
// money is back with the funder.
func (d *Daemon) Wallet(ctx context.Context) (api.Wallet, error) {
	cl, err := d.chainClient(ctx)
	if err != nil {
		return api.Wallet{}, fmt.Errorf("%w: %v", api.ErrUnavailable, err)
	}
	p := d.pay
	now := p.now()
	cur := p.sched.Epoch(now)
	w := api.Wallet{Funder: p.funder.Hex(), Token: d.currency(), Epoch: cur, NextRotation: p.sched.End(cur)}
	bal, err := cl.Balance(ctx, common.Address{}, p.funder)
	if err != nil {
		return api.Wallet{}, fmt.Errorf("%w: %v", api.ErrUnavailable, err)
	}
	w.FunderBalance = api.NewAmount(bal)
	accts := []hopacct.Entry{{Account: p.legacy.Account}}
	for _, e := range p.book.Entries() {
		if !e.Done && e.Position != hopacct.Legacy {
			accts = append(accts, e)
		}
	}
	sumB, sumE := new(big.Int), new(big.Int)
	for _, e := range accts {
		acct, _, err := cl.Account(ctx, common.Address{}, e.Funder, e.Signer)
		if err != nil {
			return api.Wallet{}, fmt.Errorf("%w: %v", api.ErrUnavailable, err)
		}
		b, esc := orZero(acct.Balance), orZero(acct.Escrow)
		if e.Position == hopacct.Legacy && b.Sign() == 0 && esc.Sign() == 0 {
			continue
		}
		sumB.Add(sumB, b)
		sumE.Add(sumE, esc)
		sg := api.Signer{Address: e.Signer.Hex(), Funder: e.Funder.Hex(), Hop: e.Position, Epoch: e.Epoch,
			Balance: api.NewAmount(b), Escrow: api.NewAmount(esc)}
		switch {
		case e.Position == hopacct.Legacy:
			sg.State = api.AccountLegacy
		case e.Epoch == cur:
			sg.State = api.AccountCurrent
		case e.Epoch > cur:
			sg.State = api.AccountNext
		default:
			sg.State = api.AccountRetired
		}
		if e.Position != hopacct.Legacy {
			fb, err := cl.Balance(ctx, common.Address{}, e.Funder)
			if err != nil {
				return api.Wallet{}, fmt.Errorf("%w: %v", api.ErrUnavailable, err)
			}
			sg.FunderBalance = api.NewAmount(fb)
		}
		if acct.Unlock != 0 {
			sg.UnlockAt = time.Unix(int64(acct.Unlock), 0)
			sg.Warned = api.NewAmount(orZero(acct.Warned))
		}
		w.Signers = append(w.Signers, sg)
	}
	w.Balance, w.Escrow = api.NewAmount(sumB), api.NewAmount(sumE)
	return w, nil
}

// chainClient returns the session's chain client, or one kept for reads
// while disconnected.
func (d *Daemon) chainClient(ctx context.Context) (*chain.Client, error) {
	d.mu.Lock()
	s := d.sess
	d.mu.Unlock()
	if s != nil {
		s.mu.Lock()
		cl := s.cl
		s.mu.Unlock()
		if cl != nil {
			return cl, nil
		}
	}
	d.chainMu.Lock()
	defer d.chainMu.Unlock()
	if d.cl != nil {
		return d.cl, nil
	}
	if d.ctx.Err() != nil {
		// Close has begun; a client dialled now would outlive it.
		return nil, errors.New("the daemon is shutting down")
	}
	n, err := d.network()
	if err != nil {
		return nil, err
	}
	cl, err := d.cfg.DialChain(ctx, n, chain.Options{HTTPClient: d.hc})
	if err != nil {
		return nil, err
	}
	d.cl, d.clNet = cl, n
	return cl, nil
}

// Subscribe implements api.Backend.
func (d *Daemon) Subscribe() (<-chan api.Event, func()) { return d.feed.Subscribe() }

func (d *Daemon) currency() api.Currency {
	c := api.Currency{Symbol: "ETH", Decimals: 18}
	d.priceMu.Lock()
	rate, at := d.priceRate, d.priceAt
	d.priceMu.Unlock()
	if perToken, code, err := api.ParseFiatRate(rate); err == nil {
		c.Price = &api.Price{Fiat: code, PerToken: perToken.FloatString(decimalsOf(rate)), Source: api.PriceFixed, AsOf: at}
	}
	return c
}

func (d *Daemon) setPrice(s api.Settings) {
	d.priceMu.Lock()
	d.priceRate, d.priceAt = s.FiatRate, s.FiatRateSetAt
	d.priceMu.Unlock()
}

// decimalsOf is the number of fractional digits of a fiat rate's number.
func decimalsOf(rate string) int {
	num, _, _ := strings.Cut(strings.TrimSpace(rate), " ")
	_, frac, _ := strings.Cut(num, ".")
	return len(frac)
}

// zoneName names loc for the API: its IANA name, or the local zone's
// abbreviation now ("local (CET)").
func zoneName(loc *time.Location) string {
	if loc.String() != "Local" {
		return loc.String()
	}
	abbr, _ := time.Now().In(loc).Zone()
	return "local (" + abbr + ")"
}

// timeZone is the location of a time_zone setting (validated): the
// system's local zone when empty.
func timeZone(name string) *time.Location {
	if name == "" {
		return time.Local
	}
	loc, err := api.LoadTimeZone(name)
	if err != nil {
		return time.Local
	}
	return loc
}

// tick publishes throughput once a second while there is traffic, and
// follows the wins of the client's tickets every winsPoll while connected
// (and for the tickets' lifetime after).
func (d *Daemon) tick() {
	t := time.NewTicker(tickPeriod)
	defer t.Stop()
	var lastConnected time.Time
	// A compressed budget clock needs spend followed promptly: ten
	// seconds are hours of its month.
	winsEvery := winsPoll
	if d.cfg.BudgetClock != nil {
		winsEvery = 1
	}
	for n := 1; ; n++ {
		select {
		case <-d.done:
			return
		case <-t.C:
		}
		d.mu.Lock()
		if d.sess != nil {
			lastConnected = time.Now()
		}
		d.mu.Unlock()
		if n%accountsPoll == 0 {
			d.maintainAccounts()
		}
		if n%reapEvery == 0 {
			d.reapProfiles()
		}
		if n%winsEvery == 0 && !lastConnected.IsZero() && time.Since(lastConnected) < issuedRetention {
			ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
			d.pollWins(ctx)
			cancel()
		}
		if n%appsDrain == 0 {
			if err := d.apps.drain(d.pay.engine); err != nil {
				d.cfg.Logf("budget: per-app traffic: %v", err)
			}
		}
		d.refreshLimit()
		up, down, ru, rd, changed := d.meter.sample()
		if changed {
			d.feed.Publish(api.Event{Type: api.EventThroughput, Time: time.Now(),
				Throughput: &api.Throughput{BytesUp: up, BytesDown: down, RateUp: ru, RateDown: rd}})
		}
	}
}

// tickPeriod is tick's period (tests shorten it).
var tickPeriod = time.Second

// appsDrain is how often, in ticks, the applications' counts go to the
// budget ledger (which writes them within its flush interval).
const appsDrain = 5

// winsPoll is how often, in ticks, the daemon looks for wins.
const winsPoll = 10

// accountsPoll is how often, in ticks, the daemon tends the per-hop
// accounts while connected (top-ups, rotation, reclaiming).
const accountsPoll = 60

// maintainAccounts tends the per-hop accounts in the background, once at a
// time, with the session's chain client.
func (d *Daemon) maintainAccounts() {
	d.mu.Lock()
	s := d.sess
	d.mu.Unlock()
	if s == nil {
		return
	}
	cl := s.acctCl.Load()
	if cl == nil || !s.maintaining.CompareAndSwap(false, true) {
		return
	}
	d.goJoined(func() { // from tick, itself joined, so before Close waits
		defer s.maintaining.Store(false)
		ctx, cancel := context.WithTimeout(s.ctx, 10*time.Minute)
		defer cancel()
		s.fundMu.Lock()
		hops := s.hops
		s.fundMu.Unlock()
		d.pay.maintain(ctx, cl, hops, d.cfg.Logf)
	})
}

func orZero(x *big.Int) *big.Int {
	if x == nil {
		return new(big.Int)
	}
	return x
}
