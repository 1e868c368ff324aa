// Package hoptest runs Pexia nodes in-process on loopback, with real
// signaling over HTTPS, real WebRTC links and the real relay and exit
// logic (package relay), for tests and benchmarks of the client (package
// hop) and of the node.
package hoptest

import (
	"context"
	"crypto/rand"
	"net"
	"sync"
	"testing"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/relay"
)

// Node is an in-process node.
type Node struct {
	Info hop.HopInfo
	Node *relay.Node

	ln     *link.Listener
	cancel context.CancelFunc

	mu    sync.Mutex
	seen  []Seen
	links []*link.Link
}

// Seen is a relay cell a node recognized as its own.
type Seen struct {
	Cmd     onion.RelayCmd
	Payload []byte
}

// registry is the directory of the nodes started in this process (and
// those added with Register): what the nodes' LookupNode reads, the way
// pexia-node reads the on-chain Registry.
var registry = struct {
	mu    sync.Mutex
	nodes map[onion.Address]hop.HopInfo
}{nodes: map[onion.Address]hop.HopInfo{}}

// Register adds a node started elsewhere (another process) to the
// registry the nodes of this process extend circuits by.
func Register(info hop.HopInfo) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	registry.nodes[info.Address] = info
}

func unregister(addr onion.Address) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	delete(registry.nodes, addr)
}

// Lookup finds a node in the registry; it is the LookupNode of the nodes
// Start starts unless their config sets one.
func Lookup(_ context.Context, addr onion.Address) (hop.HopInfo, bool, error) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	info, ok := registry.nodes[addr]
	return info, ok, nil
}

// LoopbackPolicy is the exit policy of the nodes Start starts unless their
// config sets one: the default policy, except that loopback, where tests
// run their servers, is named and accepted.
func LoopbackPolicy() *relay.ExitPolicy {
	p, err := relay.ParseExitPolicy("accept 127.0.0.0/8:*; accept [::1]:*\n" + relay.DefaultExitPolicyText)
	if err != nil {
		panic("hoptest: loopback policy: " + err.Error())
	}
	return p
}

// Start starts a node on 127.0.0.1; exit makes it serve streams. A zero
// cfg.Address gets a random one. The node is registered (see Lookup) until
// Close, and extends circuits to registered nodes unless cfg.LookupNode is
// set.
func Start(exit bool, cfg relay.NodeConfig) (*Node, error) {
	return StartIn(Place{}, exit, cfg)
}

// Place is where StartIn runs a node: on IP (default 127.0.0.1), with the
// sockets the node makes (its listeners, and its links to next hops unless
// cfg.DialLink is set) made by code that Do runs, such as a network
// namespace's netlab.Host.Do, and impaired as Impair says. A zero Place is
// loopback in the test's own namespace.
type Place struct {
	IP string
	Do func(func() error) error
	// Impair, if set, impairs the node's sockets: the listener's and those
	// of the links it dials.
	Impair *link.Impairment
}

// StartIn is Start at a place of the caller's choosing.
func StartIn(at Place, exit bool, cfg relay.NodeConfig) (*Node, error) {
	if at.IP == "" {
		at.IP = "127.0.0.1"
	}
	if at.Do == nil {
		at.Do = func(fn func() error) error { return fn() }
	}
	cert, pin, err := link.NewCertificate()
	if err != nil {
		return nil, err
	}
	var (
		l  *link.Listener
		tl net.Listener
	)
	err = at.Do(func() (err error) {
		if l, err = link.NewListener(link.ListenConfig{UDPAddr: net.JoinHostPort(at.IP, "0"), Certificate: cert, Impair: at.Impair}); err != nil {
			return err
		}
		if tl, err = net.Listen("tcp", net.JoinHostPort(at.IP, "0")); err != nil {
			l.Close()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if cfg.DialLink == nil {
		cfg.DialLink = func(ctx context.Context, url string, pin link.Pin) (lk *link.Link, err error) {
			err = at.Do(func() (err error) {
				lk, err = link.Dial(ctx, url, pin, link.DialConfig{Impair: at.Impair})
				return err
			})
			return lk, err
		}
	}
	kp, err := onion.GenerateKeyPair(rand.Reader)
	if err != nil {
		l.Close()
		tl.Close()
		return nil, err
	}
	n := &Node{ln: l}
	if n.Info.Address = cfg.Address; n.Info.Address == (onion.Address{}) {
		rand.Read(n.Info.Address[:])
	}
	n.Info.URL = "https://" + tl.Addr().String() + "/"
	n.Info.Pin = pin
	n.Info.NoiseKey = kp.Public
	cfg.Address, cfg.Key, cfg.Exit = n.Info.Address, kp, exit
	if cfg.LookupNode == nil {
		cfg.LookupNode = Lookup
	}
	if cfg.Policy == nil {
		cfg.Policy = LoopbackPolicy()
	}
	observe := cfg.Observe
	cfg.Observe = func(cmd onion.RelayCmd, p []byte) {
		n.mu.Lock()
		n.seen = append(n.seen, Seen{cmd, append([]byte(nil), p...)})
		n.mu.Unlock()
		if observe != nil {
			observe(cmd, p)
		}
	}
	n.Node = relay.NewNode(cfg)
	Register(n.Info)
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go l.Serve(tl)
	go func() {
		for {
			lk, err := l.Accept(ctx)
			if err != nil {
				return
			}
			n.mu.Lock()
			n.links = append(n.links, lk)
			n.mu.Unlock()
			go n.Node.ServeLink(ctx, lk)
		}
	}()
	return n, nil
}

// Links returns the links peers opened to the node so far.
func (n *Node) Links() []*link.Link {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*link.Link(nil), n.links...)
}

// Seen returns the relay cells the node recognized so far.
func (n *Node) Seen() []Seen {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Seen(nil), n.seen...)
}

// Close stops the node and its links.
func (n *Node) Close() {
	unregister(n.Info.Address)
	n.cancel()
	n.ln.Close()
	n.Node.Close()
}

// Circuit starts hops nodes (the last an exit) and returns them with their
// hop infos, ready for hop.Build.
func Circuit(hops int) ([]*Node, []hop.HopInfo, error) {
	var nodes []*Node
	var infos []hop.HopInfo
	for i := 0; i < hops; i++ {
		n, err := Start(i == hops-1, relay.NodeConfig{})
		if err != nil {
			for _, n := range nodes {
				n.Close()
			}
			return nil, nil, err
		}
		nodes = append(nodes, n)
		infos = append(infos, n.Info)
	}
	return nodes, infos, nil
}

// The helpers below start nodes and build circuits for a test and close
// them when it ends (t.Cleanup, so a circuit closes before its nodes).

// StartExit starts an exit with cfg (see Start), failing t if it cannot.
func StartExit(t testing.TB, cfg relay.NodeConfig) *Node {
	t.Helper()
	return startT(t, true, cfg)
}

// StartRelay starts a node that relays but is no exit.
func StartRelay(t testing.TB, cfg relay.NodeConfig) *Node {
	t.Helper()
	return startT(t, false, cfg)
}

func startT(t testing.TB, exit bool, cfg relay.NodeConfig) *Node {
	t.Helper()
	n, err := Start(exit, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

// StartCircuit starts hops nodes, the last an exit (see Circuit), failing
// t if it cannot.
func StartCircuit(t testing.TB, hops int) ([]*Node, []hop.HopInfo) {
	t.Helper()
	nodes, infos, err := Circuit(hops)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, n := range nodes {
			n.Close()
		}
	})
	return nodes, infos
}

// Build builds a circuit through infos, failing t if it cannot.
func Build(t testing.TB, ctx context.Context, infos []hop.HopInfo, cfg hop.BuildConfig) *hop.Circuit {
	t.Helper()
	c, err := hop.Build(ctx, infos, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
