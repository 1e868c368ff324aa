// Package world builds a whole Pexia network out of network namespaces on
// one machine: a go-ethereum devnet with the contracts, relay and exit
// nodes registered and staked on it, an "internet" host with web, DNS and
// UDP echo servers on public-looking addresses, and a client host where
// pexiad runs with a real TUN device. End-to-end tests, benchmarks and the
// demo use it; nothing leaves the machine. It needs root.
package world

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/internal/logger"
	"github.com/pexia-network/pexia/internal/netlab"
)

// Public-looking addresses the internet host answers on.
var (
	Web4    = netip.MustParseAddr("203.0.113.10")
	Web6    = netip.MustParseAddr("2001:db8::10")
	WebNet4 = netip.MustParsePrefix("203.0.113.0/24")
	WebNet6 = netip.MustParsePrefix("2001:db8::/64")
	// WebName resolves (at the internet host's DNS server) to Web4 and Web6.
	WebName = "www.pexia.test"
	// EchoPort is the UDP echo port of the internet host.
	EchoPort = 7
)

// PingGroupRange is net.ipv4.ping_group_range in the nodes' namespaces:
// every group may open ping sockets, as pexia-node's exit needs.
const PingGroupRange = "0 2147483647"

// Options configures Start.
type Options struct {
	// Bin is the directory holding pexia-devnet, pexia-node, pexiad and
	// pexia (see Build).
	Bin string
	// Dir holds the chain, the nodes' and the daemon's state.
	Dir string
	// Relays and Exits are the numbers of nodes of each role (default 2
	// and 2).
	Relays, Exits int
	// ExitCountries, if set, are the countries exit i registers in (ISO
	// 3166-1 alpha-2), one per exit; every other node registers in DE.
	ExitCountries []string
	// Prefix names the lab's namespaces (default "pxw").
	Prefix string
	// Price is every node's price per GB in whole tokens (default 0.1).
	Price string
	// NodeConfig, if set, is a pexia-node configuration file (TOML) every
	// node runs with, its flags applying over it.
	NodeConfig string
	// Logf receives progress lines.
	Logf logger.Logf
}

// World is a running network.
type World struct {
	opts Options
	Lab  *netlab.Lab

	Chain, Internet, Client *netlab.Host
	Relays, Exits           []*netlab.Host
	Nodes                   map[*netlab.Host]*Proc
	ChainProc               *Proc // the devnet chain in Chain

	NetworkFile string
	Network     *contracts.Network
	HTTP        *netlab.HTTPServer
	DNS         *netlab.DNSServer
	Echo        *netlab.UDPEcho

	webRoots string // PEM file of HTTP.RootsPEM, for h3get
	// machineResolv is the machine's resolver file when the world
	// started, for CheckMachine.
	machineResolv []byte

	mu    sync.Mutex
	procs []*Proc
}

// Proc is a process running in a host.
type Proc struct {
	Name string
	Host *netlab.Host
	Cmd  *exec.Cmd
	Log  string // path of its combined output
	done chan struct{}
	err  error
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Kill sends SIGKILL and waits for the exit.
func (p *Proc) Kill() {
	p.Cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM and waits up to limit, then kills.
func (p *Proc) Stop(limit time.Duration) error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(limit):
		p.Kill()
		return fmt.Errorf("%s did not stop within %v of SIGTERM", p.Name, limit)
	}
}

// Build compiles the binaries a world runs into dir, from the module at
// root.
func Build(ctx context.Context, root, dir string) error {
	for _, name := range []string{"pexia-devnet", "pexia-node", "pexiad", "pexia"} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, name), "./cmd/"+name)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %v\n%s", name, err, out)
		}
	}
	return nil
}

// Start builds the network: lab, servers, chain, staked nodes. The client
// host is created but pexiad is not started (see StartDaemon).
func Start(ctx context.Context, o Options) (w *World, err error) {
	if o.Relays == 0 {
		o.Relays = 2
	}
	if o.Exits == 0 {
		o.Exits = 2
	}
	if o.Prefix == "" {
		o.Prefix = "pxw"
	}
	if o.Price == "" {
		o.Price = "0.1"
	}
	o.Logf = logger.OrDiscard(o.Logf)
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	netlab.Cleanup(o.Prefix)
	lab, err := netlab.New(o.Prefix)
	if err != nil {
		return nil, err
	}
	w = &World{opts: o, Lab: lab, Nodes: map[*netlab.Host]*Proc{}}
	w.machineResolv, _ = os.ReadFile(machineResolvConf)
	defer func() {
		if err != nil {
			w.Close()
			w = nil
		}
	}()
	host := func(name string) *netlab.Host {
		if err != nil {
			return nil
		}
		var h *netlab.Host
		h, err = lab.Host(name)
		return h
	}
	w.Chain = host("chain")
	w.Internet = host("inet")
	w.Client = host("client")
	for i := 0; i < o.Relays; i++ {
		w.Relays = append(w.Relays, host(fmt.Sprintf("relay%d", i)))
	}
	for i := 0; i < o.Exits; i++ {
		w.Exits = append(w.Exits, host(fmt.Sprintf("exit%d", i)))
	}
	if err != nil {
		return nil, err
	}
	if err := w.startInternet(); err != nil {
		return nil, err
	}
	if err := w.startChain(ctx); err != nil {
		return nil, err
	}
	if err := w.startNodes(ctx); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *World) startInternet() error {
	for _, p := range []netip.Prefix{WebNet4, WebNet6} {
		if err := w.Internet.Announce(p); err != nil {
			return err
		}
	}
	var err error
	if w.HTTP, err = netlab.ServeHTTP(w.Internet, netlab.Handler()); err != nil {
		return err
	}
	w.webRoots = filepath.Join(w.opts.Dir, "web-roots.pem")
	if err := os.WriteFile(w.webRoots, w.HTTP.RootsPEM, 0o644); err != nil {
		return err
	}
	if w.DNS, err = netlab.ServeDNS(w.Internet, map[string][]netip.Addr{WebName: {Web4, Web6}}); err != nil {
		return err
	}
	if w.Echo, err = netlab.ServeUDPEcho(w.Internet, EchoPort); err != nil {
		return err
	}
	// The exits resolve names with the internet host's DNS server: "ip
	// netns exec" shows a process /etc/netns/NS/resolv.conf as
	// /etc/resolv.conf. So does the client until SetClientResolver: with
	// a file of its own, a pexiad there that hands the resolver to the
	// tunnel rewrites the client's file, never the machine's.
	for _, h := range append(append([]*netlab.Host{w.Client}, w.Exits...), w.Relays...) {
		if err := writeNetnsFile(h, "resolv.conf", "nameserver "+w.Internet.Addr4().String()+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// machineResolvConf is the machine's own resolver file, outside every
// host of a world.
const machineResolvConf = "/etc/resolv.conf"

// CheckMachine reports whether the machine's own resolver file is still
// what it was when the world started: nothing a world runs may touch it
// (its hosts have resolver files of their own), and a lab address left
// there would send the machine's queries, and those of programs that read
// it, into a lab that no longer exists.
func (w *World) CheckMachine() error {
	now, _ := os.ReadFile(machineResolvConf)
	if !bytes.Equal(now, w.machineResolv) {
		return fmt.Errorf("world: the machine's %s changed while the world ran: was %q, is %q", machineResolvConf, w.machineResolv, now)
	}
	return nil
}

// SetClientResolver makes the client host's /etc/resolv.conf name server
// (for processes started after the call).
func (w *World) SetClientResolver(server netip.Addr) error {
	return writeNetnsFile(w.Client, "resolv.conf", "nameserver "+server.String()+"\n")
}

// writeNetnsFile writes /etc/netns/NS/name for host h.
func writeNetnsFile(h *netlab.Host, name, content string) error {
	dir := filepath.Join("/etc/netns", h.Namespace())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
}

func (w *World) startChain(ctx context.Context) error {
	dir := filepath.Join(w.opts.Dir, "chain")
	p, err := w.Start(ctx, "devnet", w.Chain, "pexia-devnet", "-datadir", dir, "-rpc-host", w.Chain.Addr4().String(),
		"-rpc-port", "8545", "-block-period", "1s", "-nodes", fmt.Sprint(len(w.Relays)+len(w.Exits)), "-clients", "2")
	if err != nil {
		return err
	}
	w.ChainProc = p
	w.NetworkFile = filepath.Join(dir, "network.json")
	deadline := time.Now().Add(60 * time.Second)
	for {
		if n, err := contracts.LoadNetwork(w.NetworkFile); err == nil {
			w.Network = n
			break
		}
		select {
		case <-p.done:
			return fmt.Errorf("pexia-devnet exited: %v (log %s)", p.err, p.Log)
		default:
		}
		if time.Now().After(deadline) {
			return errors.New("pexia-devnet wrote no network file within 60 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	w.opts.Logf("chain up at %s", w.Network.RPC)
	return nil
}

// nodeArgs are the common arguments of a node's pexia-node commands.
func (w *World) nodeArgs(i int) []string {
	args := []string{"-network", w.NetworkFile, "-datadir", filepath.Join(w.opts.Dir, fmt.Sprintf("node%d", i)), "-key", fmt.Sprintf("devnet:node%d", i)}
	if w.opts.NodeConfig != "" {
		args = append(args, "-config", filepath.Join(w.opts.Dir, "node.toml"))
	}
	return args
}

func (w *World) startNodes(ctx context.Context) error {
	if w.opts.NodeConfig != "" {
		if err := os.WriteFile(filepath.Join(w.opts.Dir, "node.toml"), []byte(w.opts.NodeConfig), 0o644); err != nil {
			return err
		}
	}
	hosts := append(append([]*netlab.Host{}, w.Relays...), w.Exits...)
	for i, h := range hosts {
		exit := i >= len(w.Relays)
		// Exits send their clients' pings from unprivileged ping sockets,
		// which the kernel allows only to the groups in this range; a new
		// namespace allows none.
		if err := h.Sysctl("net.ipv4.ping_group_range", PingGroupRange); err != nil {
			return err
		}
		addr := h.Addr4().String()
		url := "https://" + addr + ":8443/"
		base := w.nodeArgs(i)
		if out, err := w.Run(ctx, h, "pexia-node", append(base, "init")...); err != nil {
			return fmt.Errorf("node%d init: %v\n%s", i, err, out)
		}
		country := "DE"
		if k := i - len(w.Relays); exit && k < len(w.opts.ExitCountries) {
			country = w.opts.ExitCountries[k]
		}
		reg := append(base, "register", "-url", url, "-country", country, "-price", w.opts.Price)
		run := append(base, "run", "-listen", addr+":8443", "-udp", addr+":0", "-price", w.opts.Price)
		if exit {
			reg = append(reg, "-exit")
			run = append(run, "-exit")
		}
		if out, err := w.Run(ctx, h, "pexia-node", reg...); err != nil {
			return fmt.Errorf("node%d register: %v\n%s", i, err, out)
		}
		p, err := w.Start(ctx, fmt.Sprintf("node%d", i), h, "pexia-node", run...)
		if err != nil {
			return err
		}
		w.Nodes[h] = p
	}
	// Wait until every node answers its signaling port.
	for _, h := range hosts {
		if err := waitTCP(ctx, w.Chain, h.Addr4().String()+":8443", 30*time.Second); err != nil {
			return fmt.Errorf("%s: %w (log %s)", h.Name(), err, w.Nodes[h].Log)
		}
	}
	w.opts.Logf("%d relays and %d exits up", len(w.Relays), len(w.Exits))
	return nil
}

// RestartNode starts the node on h again after it was stopped.
func (w *World) RestartNode(ctx context.Context, h *netlab.Host) error {
	hosts := append(append([]*netlab.Host{}, w.Relays...), w.Exits...)
	for i, x := range hosts {
		if x != h {
			continue
		}
		addr := h.Addr4().String()
		run := append(w.nodeArgs(i), "run", "-listen", addr+":8443", "-udp", addr+":0", "-price", w.opts.Price)
		if i >= len(w.Relays) {
			run = append(run, "-exit")
		}
		p, err := w.Start(ctx, fmt.Sprintf("node%d", i), h, "pexia-node", run...)
		if err != nil {
			return err
		}
		w.Nodes[h] = p
		return waitTCP(ctx, w.Chain, addr+":8443", 30*time.Second)
	}
	return fmt.Errorf("%s is not a node host", h.Name())
}

// waitTCP waits until addr accepts connections from host from (not the
// client host: its kill switch may be on).
func waitTCP(ctx context.Context, from *netlab.Host, addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := from.Dialer().DialContext(dctx, "tcp", addr)
		cancel()
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing answers on %s: %w", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Run runs a binary of Options.Bin in host h and returns its output.
func (w *World) Run(ctx context.Context, h *netlab.Host, name string, args ...string) ([]byte, error) {
	cmd := h.Command(ctx, filepath.Join(w.opts.Bin, name), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// Start starts a binary of Options.Bin in host h in the background, its
// output going to a log file in Options.Dir. Close stops it.
func (w *World) Start(ctx context.Context, label string, h *netlab.Host, name string, args ...string) (*Proc, error) {
	logPath := filepath.Join(w.opts.Dir, label+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := h.Command(context.Background(), filepath.Join(w.opts.Bin, name), args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", label, err)
	}
	p := &Proc{Name: label, Host: h, Cmd: cmd, Log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	w.mu.Lock()
	w.procs = append(w.procs, p)
	w.mu.Unlock()
	return p, nil
}

// Daemon is pexiad running in the client host.
type Daemon struct {
	*Proc
	Socket   string
	StateDir string
	w        *World
}

// StartDaemon starts pexiad in the client host with state in stateDir
// (made under Options.Dir when empty) and waits for its API socket.
func (w *World) StartDaemon(ctx context.Context, stateDir string, extra ...string) (*Daemon, error) {
	return w.startDaemonArgs(ctx, stateDir, true, extra...)
}

func (w *World) startDaemonArgs(ctx context.Context, stateDir string, flatFace bool, extra ...string) (*Daemon, error) {
	if stateDir == "" {
		stateDir = filepath.Join(w.opts.Dir, "pexiad")
	}
	sock := filepath.Join(stateDir, "pexiad.sock")
	args := []string{"-state-dir", stateDir, "-socket", sock, "-network", w.NetworkFile, "-key", "devnet:client0", "-group", ""}
	if flatFace {
		// Faces of 0.001 against the nodes' 0.1 per GB: a test's traffic
		// wins some tickets.
		args = append(args, "-face", "0.001")
	}
	return w.startDaemon(ctx, stateDir, sock, append(args, extra...))
}

func (w *World) startDaemon(ctx context.Context, stateDir, sock string, args []string) (*Daemon, error) {
	p, err := w.Start(ctx, "pexiad", w.Client, "pexiad", args...)
	if err != nil {
		return nil, err
	}
	d := &Daemon{Proc: p, Socket: sock, StateDir: stateDir, w: w}
	// A socket left by a killed daemon stays until the new one replaces
	// it: wait for an answer, not for the file.
	cl := api.NewClient(sock)
	defer cl.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := cl.Status(sctx)
		cancel()
		if err == nil {
			return d, nil
		}
		select {
		case <-p.done:
			log, _ := os.ReadFile(p.Log)
			return nil, fmt.Errorf("pexiad exited: %v\n%s", p.err, log)
		default:
		}
		if time.Now().After(deadline) {
			return nil, errors.New("pexiad made no API socket within 20 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// CLI runs the pexia command against the daemon (from the client host, as
// a user would) and returns its output.
func (d *Daemon) CLI(ctx context.Context, args ...string) (string, error) {
	out, err := d.w.Run(ctx, d.w.Client, "pexia", append([]string{"-socket", d.Socket}, args...)...)
	if err != nil {
		return string(out), fmt.Errorf("pexia %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Close stops every process and deletes the lab.
func (w *World) Close() error {
	w.mu.Lock()
	procs := w.procs
	w.procs = nil
	w.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].Stop(10 * time.Second)
	}
	if w.HTTP != nil {
		w.HTTP.Close()
	}
	if w.DNS != nil {
		w.DNS.Close()
	}
	if w.Echo != nil {
		w.Echo.Close()
	}
	for _, h := range w.Lab.Hosts() {
		os.RemoveAll(filepath.Join("/etc/netns", h.Namespace()))
	}
	return w.Lab.Close()
}

// BinPath returns the path of a binary of Options.Bin.
func (w *World) BinPath(name string) string { return filepath.Join(w.opts.Bin, name) }
