package relay

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pexia-network/pexia/hop/stream"
)

// The exit: the last hop of a circuit whose client opens streams. Its
// frames ride in DATA cells; each stream is checked against the exit
// policy and dialled (exitdial.go, exitpolicy.go), or carries DNS to the
// exit's resolver, or ICMP echo to a ping socket (exitecho.go), and is
// spliced to its connection.

// startExit makes this hop the circuit's exit: a stream mux whose frames
// ride in DATA cells to and from the client.
func (c *circuit) startExit(ctx context.Context, circID uint32) error {
	mux, err := stream.New(stream.Config{Role: stream.RoleServer, MaxFrame: c.hs.MaxPayload(), MaxStreams: c.n.cfg.MaxStreams, Flush: c.flushPrev, Gate: c.down.gate, PackDatagrams: c.pack}, func(frame []byte) error {
		return c.sendFrame(circID, frame)
	})
	if err != nil {
		return err
	}
	c.omu.Lock()
	if c.closing {
		c.omu.Unlock()
		mux.Close(errors.New("circuit closed"))
		return net.ErrClosed
	}
	c.mux = mux
	c.omu.Unlock()
	if c.lane {
		c.laneMux.Store(mux)
	}
	c.setRole(RoleExit)
	c.n.goOwned(func() {
		for {
			req, err := mux.Accept(ctx)
			if err != nil {
				return
			}
			c.streams.Add(1)
			if !c.n.goOwned(func() {
				defer c.streams.Add(-1)
				c.n.exit(ctx, req)
			}) {
				c.streams.Add(-1)
				req.Refuse(stream.ReasonResources)
				return
			}
		}
	})
	return nil
}

// exit connects one stream to its destination and splices them.
func (n *Node) exit(ctx context.Context, req *stream.Request) {
	network := req.Network
	if n.draining.Load() {
		n.refuse(req, stream.ReasonResources)
		return
	}
	if network == "dns" {
		n.exitDNS(ctx, req)
		return
	}
	if network == "icmp" {
		n.exitEcho(ctx, req)
		return
	}
	if network != "tcp" && network != "udp" {
		n.refuse(req, stream.ReasonUnsupported)
		return
	}
	host, portStr, err := net.SplitHostPort(req.Address)
	port, perr := strconv.Atoi(portStr)
	if err != nil || perr != nil || port <= 0 || port > 65535 {
		n.refuse(req, stream.ReasonPolicy)
		return
	}
	// The dial ends early if the client withdraws the request.
	dctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(req.Context(), cancel)
	dst, reason := n.dialExit(dctx, network, host, uint16(port))
	stop()
	cancel()
	if dst == nil {
		n.refuse(req, reason)
		return
	}
	if network == "udp" {
		setReadBuffer(dst, exitUDPBuffer)
	}
	src, err := req.Accept()
	if err != nil {
		dst.Close()
		return
	}
	n.cfg.Stats.streamOpened()
	defer n.cfg.Stats.streamClosed()
	if network == "udp" {
		spliceUDP(ctx, src, dst)
	} else {
		splice(ctx, src, dst)
	}
	if s, ok := src.(*stream.Stream); ok && s.Kind() == stream.KindUDP {
		n.cfg.Stats.flowEnded(s.FlowStats())
	}
}

// refuse refuses a stream and counts why.
func (n *Node) refuse(req *stream.Request, reason stream.Reason) {
	n.cfg.Stats.streamRefused(reason)
	req.Refuse(reason)
}

// splice copies both ways, passing half-closes on, until both directions
// end or ctx (the circuit's) does.
func splice(ctx context.Context, a, b net.Conn) {
	stop := context.AfterFunc(ctx, func() {
		a.Close()
		b.Close()
	})
	defer stop()
	var wg sync.WaitGroup
	cp := func(dst, src net.Conn) {
		defer wg.Done()
		io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		} else {
			dst.Close()
		}
	}
	wg.Add(2)
	go cp(a, b)
	go cp(b, a)
	wg.Wait()
	a.Close()
	b.Close()
}

// exitDNS resolves names at the exit: a "dns" stream carries DNS messages
// with the 2-byte length prefix of DNS over TCP, so it is spliced to the
// exit's resolver over TCP as it is. The stream's address is ignored: the
// client never chooses the exit's resolver.
func (n *Node) exitDNS(ctx context.Context, req *stream.Request) {
	server := n.cfg.DNSServer
	if server == "" {
		server = systemResolver()
	}
	if server == "" {
		n.refuse(req, stream.ReasonDNS)
		return
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	dst, err := n.cfg.Dialer(dctx, "tcp", server)
	cancel()
	if err != nil {
		n.refuse(req, stream.ReasonDNS)
		return
	}
	src, err := req.Accept()
	if err != nil {
		dst.Close()
		return
	}
	n.cfg.Stats.streamOpened()
	defer n.cfg.Stats.streamClosed()
	splice(ctx, src, dst)
}

// systemResolver returns the first nameserver of /etc/resolv.conf as host:53.
func systemResolver() string {
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			return net.JoinHostPort(f[1], "53")
		}
	}
	return ""
}
