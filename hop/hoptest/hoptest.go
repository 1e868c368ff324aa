// Package hoptest runs Pexia nodes in-process on loopback, with real
// signaling over HTTPS, real WebRTC links and the real relay and exit
// logic, for tests and benchmarks.
package hoptest

import (
	"context"
	"crypto/rand"
	"net"
	"sync"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/hop/onion"
)

// Node is an in-process node.
type Node struct {
	Info hop.HopInfo
	Node *hop.Node

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

// Start starts a node on 127.0.0.1; exit makes it serve streams. A zero
// cfg.Address gets a random one.
func Start(exit bool, cfg hop.NodeConfig) (*Node, error) {
	cert, pin, err := link.NewCertificate()
	if err != nil {
		return nil, err
	}
	l, err := link.NewListener(link.ListenConfig{UDPAddr: "127.0.0.1:0", Certificate: cert})
	if err != nil {
		return nil, err
	}
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		l.Close()
		return nil, err
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
	observe := cfg.Observe
	cfg.Observe = func(cmd onion.RelayCmd, p []byte) {
		n.mu.Lock()
		n.seen = append(n.seen, Seen{cmd, append([]byte(nil), p...)})
		n.mu.Unlock()
		if observe != nil {
			observe(cmd, p)
		}
	}
	n.Node = hop.NewNode(cfg)
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
		n, err := Start(i == hops-1, hop.NodeConfig{})
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
