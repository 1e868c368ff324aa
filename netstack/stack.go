package netstack

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.zx2c4.com/wireguard/tun"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

const (
	nicID = 1
	// maxSynInFlight caps TCP handshakes waiting for Handler.DialTCP;
	// further SYNs are ignored and the app retransmits them.
	maxSynInFlight = 1024
	// TCP buffer sizes, after Tailscale's measurements: a moderate start
	// that auto-tuning grows when the app reads fast.
	tcpRecvBufDefault = 1 << 20
	tcpRecvBufMax     = 8 << 20
	tcpSendBufDefault = 1 << 20
	tcpSendBufMax     = 6 << 20
	tcpTimeWait       = 5 * time.Second
	tcpKeepaliveIdle  = 60 * time.Second
	tcpKeepaliveIntvl = 30 * time.Second
	tcpKeepaliveCount = 9
)

// Stack is a userspace TCP/IP stack fed by a TUN device. Its methods are
// safe for concurrent use.
type Stack struct {
	cfg    Config
	ns     *stack.Stack
	link   *link
	names  *Names
	c      counters
	ctx    context.Context // canceled by Close
	cancel context.CancelCauseFunc

	echoMu sync.Mutex
	echoes map[echoKey]*echoFlow // guarded by echoMu (echo.go)
	frags  reassembler           // fragmented echo requests (echofrag.go)
	fragID atomic.Uint32         // identification of the replies' fragments

	synMu sync.Mutex
	syns  map[stack.TransportEndpointID]uint32 // guarded by synMu (tcp.go)

	mu     sync.Mutex
	closed bool                  // guarded by mu
	flows  map[resetter]struct{} // guarded by mu
	wg     sync.WaitGroup        // flow goroutines; Add only under mu while !closed
}

// resetter is an active flow that CloseFlows can reset.
type resetter interface{ reset() }

// New builds a stack on dev and starts reading from it. On success the
// Stack owns dev and Close closes it; on error dev is left open.
func New(dev tun.Device, cfg Config) (*Stack, error) {
	if dev == nil {
		return nil, errors.New("netstack: nil tun device")
	}
	cfg, err := cfg.withDefaults(dev)
	if err != nil {
		return nil, err
	}
	s := &Stack{
		cfg:    cfg,
		names:  newNames(time.Now),
		flows:  make(map[resetter]struct{}),
		echoes: make(map[echoKey]*echoFlow),
		syns:   make(map[stack.TransportEndpointID]uint32),
	}
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	s.ns = stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, ipv6.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol},
	})
	if err := s.configure(); err != nil {
		s.ns.Destroy()
		s.cancel(err)
		return nil, err
	}
	s.link = newLink(dev, cfg.MTU, &s.c, cfg.Logf)
	if _, ok := cfg.Handler.(EchoDialer); ok {
		s.link.echo = s.handleEcho
		s.frags.now = time.Now
	}
	// Handlers are installed before the NIC exists so no packet can reach
	// a stack without them.
	tcpFwd := tcp.NewForwarder(s.ns, tcpRecvBufDefault, maxSynInFlight, s.handleTCP)
	s.ns.SetTransportProtocolHandler(tcp.ProtocolNumber, func(id stack.TransportEndpointID, pkt *stack.PacketBuffer) bool {
		s.noteSyn(id, pkt)
		return tcpFwd.HandlePacket(id, pkt)
	})
	udpFwd := udp.NewForwarder(s.ns, s.handleUDP)
	s.ns.SetTransportProtocolHandler(udp.ProtocolNumber, udpFwd.HandlePacket)
	if err := s.attach(); err != nil {
		s.ns.Destroy()
		s.cancel(err)
		return nil, err
	}
	s.link.start()
	return s, nil
}

func (s *Stack) configure() error {
	opts := []tcpip.SettableTransportProtocolOption{
		ptr(tcpip.TCPSACKEnabled(true)),
		ptr(tcpip.TCPRecovery(tcpip.TCPRACKLossDetection)),
		ptr(tcpip.TCPModerateReceiveBufferOption(true)),
		ptr(tcpip.TCPDelayEnabled(false)),
		ptr(tcpip.CongestionControlOption("reno")),
		ptr(tcpip.TCPTimeWaitTimeoutOption(tcpTimeWait)),
		&tcpip.TCPReceiveBufferSizeRangeOption{Min: tcp.MinBufferSize, Default: tcpRecvBufDefault, Max: tcpRecvBufMax},
		&tcpip.TCPSendBufferSizeRangeOption{Min: tcp.MinBufferSize, Default: tcpSendBufDefault, Max: tcpSendBufMax},
	}
	for _, o := range opts {
		if err := s.ns.SetTransportProtocolOption(tcp.ProtocolNumber, o); err != nil {
			return fmt.Errorf("netstack: set tcp option %T: %s", o, err)
		}
	}
	return nil
}

func (s *Stack) attach() error {
	if err := s.ns.CreateNICWithOptions(nicID, s.link, stack.NICOptions{Name: "tun"}); err != nil {
		return fmt.Errorf("netstack: create nic: %s", err)
	}
	// Promiscuous: accept packets for every destination address.
	if err := s.ns.SetPromiscuousMode(nicID, true); err != nil {
		return fmt.Errorf("netstack: promiscuous mode: %s", err)
	}
	// Spoofing: answer from those addresses although the stack owns none.
	if err := s.ns.SetSpoofing(nicID, true); err != nil {
		return fmt.Errorf("netstack: spoofing: %s", err)
	}
	s.ns.SetRouteTable([]tcpip.Route{
		{Destination: header.IPv4EmptySubnet, NIC: nicID},
		{Destination: header.IPv6EmptySubnet, NIC: nicID},
	})
	return nil
}

func ptr[T any](v T) *T { return &v }

// Close resets every flow, writes out queued packets, closes the device and
// waits for all goroutines of the Stack. It returns the device's Close
// error. Later calls return nil.
func (s *Stack) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	flows := s.snapshotLocked()
	s.mu.Unlock()

	s.cancel(ErrClosed)
	for _, f := range flows {
		f.reset()
	}
	err := s.link.shutdown()
	// Aborting every gVisor endpoint also ends handshakes that a flow
	// goroutine is blocked in.
	s.ns.Close()
	s.wg.Wait()
	s.ns.Wait()
	if err != nil {
		return fmt.Errorf("netstack: close tun: %w", err)
	}
	return nil
}

// CloseFlows resets every active flow: TCP apps get a RST, UDP and DNS
// flows are dropped, upstream connections are closed. New packets open new
// flows. It returns the number of flows reset.
func (s *Stack) CloseFlows() int {
	s.mu.Lock()
	flows := s.snapshotLocked()
	s.mu.Unlock()
	for _, f := range flows {
		f.reset()
	}
	return len(flows)
}

func (s *Stack) snapshotLocked() []resetter {
	out := make([]resetter, 0, len(s.flows))
	for f := range s.flows {
		out = append(out, f)
	}
	return out
}

// Stats returns a snapshot of the counters.
func (s *Stack) Stats() Stats {
	st := s.c.snapshot()
	st.Drops += s.ns.Stats().DroppedPackets.Value()
	return st
}

// Names returns the table of names learned from DNS answers.
func (s *Stack) Names() *Names { return s.names }

// enter registers a goroutine that will serve a flow. It returns false once
// the Stack is closing; otherwise the caller must call s.wg.Done.
func (s *Stack) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// track adds f to the flow table; if the Stack is closing f is reset at
// once instead.
func (s *Stack) track(f resetter) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		f.reset()
		return
	}
	s.flows[f] = struct{}{}
	s.mu.Unlock()
}

func (s *Stack) untrack(f resetter) {
	s.mu.Lock()
	delete(s.flows, f)
	s.mu.Unlock()
}

// flowOf converts a gVisor endpoint ID, seen from the stack ("local" is the
// address the app sent to), into a Flow.
func flowOf(network string, id stack.TransportEndpointID) Flow {
	return Flow{
		Network: network,
		Src:     netip.AddrPortFrom(addrOf(id.RemoteAddress), id.RemotePort),
		Dst:     netip.AddrPortFrom(addrOf(id.LocalAddress), id.LocalPort),
	}
}

func addrOf(a tcpip.Address) netip.Addr {
	switch a.Len() {
	case 4:
		return netip.AddrFrom4(a.As4())
	case 16:
		return netip.AddrFrom16(a.As16())
	}
	return netip.Addr{}
}
