package netlab

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// UDPEcho sends every datagram it receives back to its sender, from the
// address the datagram was sent to.
type UDPEcho struct {
	conns []net.PacketConn
	wg    sync.WaitGroup
}

// ServeUDPEcho echoes UDP datagrams on port of every address of the host.
// Replies leave from the address each request was sent to (IP_PKTINFO), so
// the echo also works on announced prefixes, where the host owns every
// address but routing alone would pick its bridge address as the source.
func ServeUDPEcho(h *Host, port int) (*UDPEcho, error) {
	if port <= 0 || port > 65535 {
		return nil, fmt.Errorf("netlab: udp echo: invalid port %d", port)
	}
	e := &UDPEcho{}
	for _, network := range []string{"udp4", "udp6"} {
		pc, err := h.ListenPacket(network, ":"+strconv.Itoa(port))
		if err != nil {
			return nil, errors.Join(fmt.Errorf("netlab: %s: udp echo: %w", h.name, err), e.Close())
		}
		e.conns = append(e.conns, pc)
		var serve func() error
		if network == "udp4" {
			serve = func() error { return echo4(ipv4.NewPacketConn(pc)) }
		} else {
			serve = func() error { return echo6(ipv6.NewPacketConn(pc)) }
		}
		e.wg.Add(1)
		go func() { defer e.wg.Done(); _ = serve() }()
	}
	return e, nil
}

func echo4(pc *ipv4.PacketConn) error {
	if err := pc.SetControlMessage(ipv4.FlagDst|ipv4.FlagInterface, true); err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	for {
		n, cm, from, err := pc.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil || cm == nil {
			continue // a transient error such as an ICMP-reported refusal
		}
		_, _ = pc.WriteTo(buf[:n], &ipv4.ControlMessage{Src: cm.Dst}, from)
	}
}

func echo6(pc *ipv6.PacketConn) error {
	if err := pc.SetControlMessage(ipv6.FlagDst|ipv6.FlagInterface, true); err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	for {
		n, cm, from, err := pc.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil || cm == nil {
			continue
		}
		_, _ = pc.WriteTo(buf[:n], &ipv6.ControlMessage{Src: cm.Dst}, from)
	}
}

// Close stops the echo server.
func (e *UDPEcho) Close() error {
	var errs []error
	for _, c := range e.conns {
		errs = append(errs, c.Close())
	}
	e.wg.Wait()
	return errors.Join(errs...)
}
