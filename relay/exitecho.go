package relay

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/pexia-network/pexia/hop/stream"
	"github.com/pexia-network/pexia/internal/icmperr"
)

// ICMP echo at the exit: an "icmp" stream names one IP address; each of its
// datagrams is sequence(2) ‖ data of one echo request, sent from an
// unprivileged ping socket ("udp4"/"udp6" ICMP, see NodeConfig.ListenICMP)
// of this stream's own, and each echo reply from that address goes back as
// sequence(2) ‖ data. The kernel picks the socket's identifier and matches
// replies by it, so a stream sees only the replies to its own requests.
// The destination is checked against the exit policy as protocol "icmp"
// and refused if it is the exit itself, like a tcp or udp destination.
//
// ICMP errors for the echo requests (destination unreachable, packet too
// big) are passed on as ICMP frames with the request's sequence number
// (icmperr.Error), so the app's ping shows them as on a plain network:
// on Linux the ping socket has IP_RECVERR set and the errors are read from
// its error queue (exiticmp_linux.go), and a request the exit's own
// routing refuses (no route) is reported as network or host unreachable.

// ErrPingNotPermitted is wrapped by the error of the default
// NodeConfig.ListenICMP when the kernel refuses an unprivileged ping
// socket to the node's group.
var ErrPingNotPermitted = errors.New("ICMP echo needs net.ipv4.ping_group_range to include the node's group")

// echoSeqLen is the sequence number in front of every echo datagram.
const echoSeqLen = 2

// ListenPing opens an unprivileged ping socket ("udp4" or "udp6" ICMP) in
// the calling thread's network namespace; it is the default
// NodeConfig.ListenICMP. When the kernel refuses it to the process's
// group, the error wraps ErrPingNotPermitted and says what to set.
func ListenPing(network string) (net.PacketConn, error) {
	c, err := listenPing(network)
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
		return nil, fmt.Errorf("%w (gid %d; for example sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"): %v",
			ErrPingNotPermitted, os.Getgid(), err)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// exitEcho serves one "icmp" stream.
func (n *Node) exitEcho(ctx context.Context, req *stream.Request) {
	a, err := netip.ParseAddr(req.Address)
	if err != nil || a.Zone() != "" {
		// Only addresses: the client pings what its apps addressed, and
		// never chooses the exit's interfaces.
		n.refuse(req, stream.ReasonPolicy)
		return
	}
	a = a.Unmap()
	dst := netip.AddrPortFrom(a, 0)
	if n.cfg.Policy.Allow("icmp", dst) != nil {
		n.refuse(req, stream.ReasonPolicy)
		return
	}
	// isOwn connects a UDP socket, which takes a nonzero port; it sends
	// nothing.
	if !n.cfg.Policy.Names("icmp", dst) && n.isOwn(ctx, "udp", netip.AddrPortFrom(a, 9)) {
		n.refuse(req, stream.ReasonPolicy)
		return
	}
	network := "udp4"
	if a.Is6() {
		network = "udp6"
	}
	pc, err := n.cfg.ListenICMP(network)
	if err != nil {
		n.pingErrOnce.Do(func() { n.cfg.Logf("exit: icmp echo unavailable: %v", err) })
		n.refuse(req, stream.ReasonUnsupported)
		return
	}
	src, err := req.Accept()
	if err != nil {
		pc.Close()
		return
	}
	n.cfg.Stats.streamOpened()
	defer n.cfg.Stats.streamClosed()
	spliceEcho(ctx, src, pc, a)
	if s, ok := src.(*stream.Stream); ok {
		n.cfg.Stats.flowEnded(s.FlowStats())
	}
}

// spliceEcho sends the echo requests read from src to dst through pc and
// the replies back, until src ends or ctx (the circuit's) does.
func spliceEcho(ctx context.Context, src net.Conn, pc net.PacketConn, dst netip.Addr) {
	var once sync.Once
	end := func() {
		once.Do(func() {
			src.Close()
			pc.Close()
		})
	}
	stop := context.AfterFunc(ctx, end)
	defer stop()
	reqType, replyType, proto := icmp.Type(ipv4.ICMPTypeEcho), icmp.Type(ipv4.ICMPTypeEchoReply), 1
	if dst.Is6() {
		reqType, replyType, proto = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply, 58
	}
	to := &net.UDPAddr{IP: dst.AsSlice()}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer end()
		buf := make([]byte, 65535)
		for {
			n, from, ie, err := readPing(pc, buf)
			if err != nil {
				return
			}
			if ie != nil {
				sendICMP(src, *ie)
				continue
			}
			if from != dst {
				continue
			}
			m, err := icmp.ParseMessage(proto, buf[:n])
			if err != nil || m.Type != replyType {
				continue
			}
			e, ok := m.Body.(*icmp.Echo)
			if !ok {
				continue
			}
			out := make([]byte, echoSeqLen+len(e.Data))
			binary.BigEndian.PutUint16(out, uint16(e.Seq))
			copy(out[echoSeqLen:], e.Data)
			if _, err := src.Write(out); err != nil && !errors.Is(err, stream.ErrDatagramTooLarge) {
				return
			}
		}
	}()
	buf := make([]byte, 65535)
	for {
		n, err := src.Read(buf)
		if err != nil {
			break
		}
		if n < echoSeqLen {
			continue
		}
		seq := binary.BigEndian.Uint16(buf)
		m := icmp.Message{Type: reqType, Body: &icmp.Echo{Seq: int(seq), Data: buf[echoSeqLen:n]}}
		b, err := m.Marshal(nil)
		if err != nil {
			continue
		}
		// A send error loses this request as the network would; the
		// next one is tried again. If the exit has no route, the app is
		// told as a router would tell it.
		if _, err := pc.WriteTo(b, to); err != nil {
			if typ, ok := sendErrICMP(err); ok {
				sendICMP(src, icmperr.Error{Type: typ, Seq: seq})
			}
		}
	}
	end()
	wg.Wait()
}

// sendICMP reports an ICMP error for the flow src to the client, if src
// is a stream (it is, but for tests that splice other conns).
func sendICMP(src net.Conn, e icmperr.Error) {
	if s, ok := src.(interface{ SendICMP(icmperr.Error) error }); ok {
		s.SendICMP(e)
	}
}

// readPlain reads the next echo reply from pc, a socket without an error
// queue.
func readPlain(pc net.PacketConn, buf []byte) (int, netip.Addr, *icmperr.Error, error) {
	n, from, err := pc.ReadFrom(buf)
	if err != nil {
		return 0, netip.Addr{}, nil, err
	}
	ua, _ := from.(*net.UDPAddr)
	if ua == nil {
		return 0, netip.Addr{}, nil, nil
	}
	return n, ua.AddrPort().Addr().Unmap(), nil, nil
}

// sendErrICMP maps the error of sending an echo request to what the
// client is told, if the exit's own routing refused it.
func sendErrICMP(err error) (icmperr.Type, bool) {
	switch {
	case errors.Is(err, syscall.ENETUNREACH):
		return icmperr.NetUnreachable, true
	case errors.Is(err, syscall.EHOSTUNREACH):
		return icmperr.HostUnreachable, true
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return icmperr.Prohibited, true
	}
	return 0, false
}
