package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/pexia-network/pexia/hop/stream"
	"github.com/pexia-network/pexia/netstack"
	"github.com/pexia-network/pexia/rules"
)

// The router is the netstack's Handler: every flow the stack terminates
// becomes a stream on the circuit (or a direct marked connection for an
// excluded destination), and every DNS query is answered at the exit.
var _ netstack.Handler = (*router)(nil)

func (r *router) DialTCP(ctx context.Context, f netstack.Flow) (net.Conn, error) {
	return r.dial(ctx, "tcp", f.Src, f.Dst)
}

func (r *router) DialUDP(ctx context.Context, f netstack.Flow) (net.Conn, error) {
	c, err := r.dial(ctx, "udp", f.Src, f.Dst)
	if errors.Is(err, ErrBlocked) {
		// The app hears "port unreachable" for its first datagram, as a
		// refused TCP connection hears a reset, rather than waiting.
		return udpConn{blockedConn{}}, nil
	}
	if err != nil {
		return nil, err
	}
	return udpConn{c}, nil
}

// blockedConn is a udp flow a block rule refused: its datagrams go
// nowhere and the first read reports the destination unreachable.
type blockedConn struct{}

func (blockedConn) Read([]byte) (int, error) {
	return 0, fmt.Errorf("%w: %w", netstack.ErrPortUnreachable, ErrBlocked)
}
func (blockedConn) Write(p []byte) (int, error)      { return len(p), nil }
func (blockedConn) Close() error                     { return nil }
func (blockedConn) SetDeadline(time.Time) error      { return nil }
func (blockedConn) SetReadDeadline(time.Time) error  { return nil }
func (blockedConn) SetWriteDeadline(time.Time) error { return nil }
func (blockedConn) LocalAddr() net.Addr              { return &net.UDPAddr{} }
func (blockedConn) RemoteAddr() net.Addr             { return &net.UDPAddr{} }

// udpConn turns the exit's report of an ICMP error for a udp flow (the
// stream's reset reason) into the error that makes the netstack tell the
// app, as its own network would have.
type udpConn struct{ net.Conn }

func (c udpConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	return n, icmpErr(err)
}

func (c udpConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	return n, icmpErr(err)
}

func icmpErr(err error) error {
	var re *stream.ResetError
	if !errors.As(err, &re) || !re.Remote {
		return err
	}
	switch re.Reason {
	case stream.ReasonConnectFailed:
		return fmt.Errorf("%w: %w", netstack.ErrPortUnreachable, err)
	case stream.ReasonUnreachable:
		return fmt.Errorf("%w: %w", netstack.ErrHostUnreachable, err)
	}
	return err
}

func (r *router) ResolveDNS(ctx context.Context, _ netstack.Flow, query []byte) ([]byte, error) {
	return r.resolve(ctx, query)
}

var _ netstack.EchoDialer = (*router)(nil)

// DialEcho carries an app's pings as an "icmp" stream to the exit, which
// sends them from its own ping socket. Excluded destinations never reach
// the TUN (their routes bypass it), so every echo flow goes through the
// circuit, unless a block rule refuses it; a rule that sends it direct is
// not followed (the daemon sends no pings of its own).
func (r *router) DialEcho(ctx context.Context, f netstack.Flow) (net.Conn, error) {
	rf := rules.Flow{Proto: rules.ICMP, Src: f.Src, Dst: f.Dst}
	if d := r.decide(&rf); d.Action == rules.Block {
		r.blocked.Add(1)
		return nil, fmt.Errorf("%w: %s", ErrBlocked, d)
	}
	c, err := r.dialCircuit(ctx, "icmp", f.Dst.Addr().String())
	if err != nil {
		return nil, err
	}
	return echoConn{c}, nil
}

// echoConn drops an echo request too large for one datagram of the
// circuit, as a network drops a packet over its MTU, instead of ending
// the flow.
type echoConn struct{ net.Conn }

func (c echoConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if errors.Is(err, stream.ErrDatagramTooLarge) {
		return len(p), nil
	}
	return n, err
}
