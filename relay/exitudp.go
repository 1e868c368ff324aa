package relay

import (
	"context"
	"errors"
	"net"
	"sync"
	"syscall"

	"github.com/pexia-network/pexia/hop/stream"
	"github.com/pexia-network/pexia/internal/icmperr"
)

// ICMP errors for udp flows. The exit's connected UDP socket reports the
// ICMP errors the destination's network sends back for the flow: port
// unreachable as ECONNREFUSED, host and network unreachable as
// EHOSTUNREACH and ENETUNREACH. Each ends the flow with a RST whose reason
// says which (ReasonConnectFailed, ReasonUnreachable), so the client can
// tell the app as the network would have (an ICMP destination unreachable
// on its TUN). Other errors end the flow as before.
//
// Packet too big does not end the flow. The socket discovers the path MTU
// (IP_PMTUDISC_WANT, the default): a datagram larger than the path takes
// is lost once, the router's ICMP fragmentation needed (ICMPv6 packet too
// big) lowers the socket's path MTU and is reported as EMSGSIZE, and
// larger datagrams are fragmented by the exit from then on. Each EMSGSIZE
// is passed on as an ICMP frame (icmperr.TooBig) with the path MTU the
// kernel now knows (IP_MTU), so the app's kernel learns it too and an app
// that does its own path MTU discovery (QUIC) sizes its datagrams to it.

// exitUDPBuffer is the receive buffer an exit asks for on each udp
// flow's socket. Datagrams from the destination wait there until the
// flow's goroutine reads them into the circuit, and on a busy exit that
// goroutine can go unscheduled for tens of milliseconds: the kernel's
// default (net.core.rmem_default, 208 KiB, about 90 datagrams of 1,200
// bytes) then overflows at 18 Mbit/s, which the namespace test
// TestUDPHalfCapacity saw as the exit kernel's only loss. The kernel
// doubles the figure for its bookkeeping: 1 MiB holds about 900 such
// datagrams, half a second at 18 Mbit/s. Memory is taken only while
// datagrams wait. Without CAP_NET_ADMIN the kernel caps the request at
// net.core.rmem_max.
const exitUDPBuffer = 1 << 20

// udpErrReason maps an error of a connected UDP socket to the reason the
// flow is reset with, or 0 when it was no ICMP error.
func udpErrReason(err error) stream.Reason {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return stream.ReasonConnectFailed
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return stream.ReasonUnreachable
	}
	return 0
}

// spliceUDP is splice for a udp flow: datagrams both ways until either
// side ends or ctx (the circuit's) does; an ICMP error reported by dst
// resets src with its reason.
func spliceUDP(ctx context.Context, src, dst net.Conn) {
	var once sync.Once
	end := func(err error) {
		once.Do(func() {
			if r := udpErrReason(err); r != 0 {
				if rs, ok := src.(interface{ Reset(stream.Reason) error }); ok {
					rs.Reset(r)
				}
			}
			src.Close()
			dst.Close()
		})
	}
	stop := context.AfterFunc(ctx, func() { end(nil) })
	defer stop()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 65535)
		for {
			n, err := dst.Read(buf)
			if err != nil {
				if tooBig(src, dst, err) {
					continue
				}
				end(err)
				return
			}
			if _, err := src.Write(buf[:n]); err != nil && !errors.Is(err, stream.ErrDatagramTooLarge) {
				end(nil)
				return
			}
		}
	}()
	buf := make([]byte, 65535)
	for {
		n, err := src.Read(buf)
		if err != nil {
			end(nil)
			break
		}
		if _, err := dst.Write(buf[:n]); err != nil && !tooBig(src, dst, err) && udpErrReason(err) != 0 {
			end(err)
			break
		}
	}
	wg.Wait()
}

// tooBig passes an EMSGSIZE of dst on to the client with dst's path MTU
// and reports whether err was one.
func tooBig(src, dst net.Conn, err error) bool {
	if !errors.Is(err, syscall.EMSGSIZE) {
		return false
	}
	if mtu := pathMTU(dst); mtu > 0 {
		sendICMP(src, icmperr.Error{Type: icmperr.TooBig, MTU: mtu})
	}
	return true
}
