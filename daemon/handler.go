package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/pexia-network/pexia/hop/stream"
	"github.com/pexia-network/pexia/internal/icmperr"
	"github.com/pexia-network/pexia/netstack"
	"github.com/pexia-network/pexia/rules"
)

// The router is the netstack's Handler: every flow the stack terminates
// becomes a stream on the circuit (or a direct marked connection for an
// excluded destination), and every DNS query is answered at the exit.
var _ netstack.Handler = (*router)(nil)

// DialTCP carries a TCP connection as a "tcp" stream. When the exit
// could not reach the destination (refused as unreachable), the netstack
// answers the app's SYN with an ICMP host unreachable, as a router would.
func (r *router) DialTCP(ctx context.Context, f netstack.Flow) (net.Conn, error) {
	c, err := r.dial(ctx, "tcp", f.Src, f.Dst)
	var re *stream.RefusedError
	if errors.As(err, &re) && re.Reason == stream.ReasonUnreachable {
		return nil, fmt.Errorf("%w: %w", netstack.ErrHostUnreachable, err)
	}
	return c, err
}

func (r *router) DialUDP(ctx context.Context, f netstack.Flow) (net.Conn, error) {
	c, err := r.dial(ctx, "udp", f.Src, f.Dst)
	if errors.Is(err, ErrBlocked) {
		// The app hears "port unreachable" for its first datagram, as a
		// refused TCP connection hears a reset, rather than waiting.
		return udpConn{Conn: blockedConn{}}, nil
	}
	if err != nil {
		return nil, err
	}
	return udpConn{c, maxDatagram(c), ipHeaderLen(f) + 8}, nil
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

// udpConn turns the exit's reports of ICMP errors for a udp flow (the
// stream's reset reason, an ICMP frame) into the errors that make the
// netstack tell the app, as its own network would have, and a datagram
// too large for a cell into a too-big with the largest packet that
// passes.
type udpConn struct {
	net.Conn
	max int // largest datagram a Write takes, 0 if not known
	hdr int // IP and UDP header
}

func (c udpConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	return n, icmpErr(err)
}

func (c udpConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if errors.Is(err, stream.ErrDatagramTooLarge) && c.max > 0 {
		return 0, &icmperr.Error{Type: icmperr.TooBig, MTU: c.max + c.hdr}
	}
	return n, icmpErr(err)
}

// CountDropped counts datagrams the netstack dropped before they reached
// the flow on the flow (netstack.DropCounter), so status shows them with
// the flow's own drops.
func (c udpConn) CountDropped(n uint64) {
	conn := c.Conn
	if cc, ok := conn.(*countedConn); ok {
		conn = cc.Conn
	}
	if s, ok := conn.(netstack.DropCounter); ok {
		s.CountDropped(n)
	}
}

// maxDatagram returns the largest datagram c (a circuit's stream, maybe
// counted) takes, or 0 for another conn.
func maxDatagram(c net.Conn) int {
	if cc, ok := c.(*countedConn); ok {
		c = cc.Conn
	}
	if s, ok := c.(interface{ MaxDatagram() int }); ok {
		return s.MaxDatagram()
	}
	return 0
}

func ipHeaderLen(f netstack.Flow) int {
	if f.Dst.Addr().Is4() {
		return 20
	}
	return 40
}

// icmpErr maps what the exit reported to the netstack's errors. An ICMP
// error (*icmperr.Error) goes to the netstack as it is: it writes the error
// to the app, or skips a type it does not know, and the flow goes on.
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

// ResolveDNS answers a query at the exit of the circuit the querying
// application's flows ride: the rules decide the query's flow like any
// other (its owner is the application), and a tunnel rule's profile
// answers it, so that an application resolves names where its
// connections leave. Queries of flows the rules send direct or block, or
// that name no profile, are answered through the connection's circuit.
// The query's and the answer's bytes count for the application under the
// profile whose circuit carried them (a query is no flow of its own).
func (r *router) ResolveDNS(ctx context.Context, f netstack.Flow, query []byte) ([]byte, error) {
	profile, app := r.dnsRoute(f)
	return r.resolve(ctx, profile, app, query)
}

// dnsRoute is the rules profile whose circuit answers the DNS query of
// flow f ("" for the connection's circuit) and the counters of the
// querying application (nil when applications are not counted).
func (r *router) dnsRoute(f netstack.Flow) (string, *appStat) {
	d := rules.Decision{Target: rules.Target{Action: rules.Tunnel}}
	var o rules.Owner
	if (r.rules != nil || r.apps != nil) && f.Src.IsValid() {
		rf := rules.Flow{Proto: rules.Proto(f.Network), Src: f.Src, Dst: f.Dst}
		d, o = r.decide(&rf), rf.Owner
	}
	profile := ""
	if d.Action == rules.Tunnel {
		profile = d.Profile
	}
	if r.apps == nil {
		return profile, nil
	}
	counted := profile
	if counted == "" {
		counted = r.profile.Name
	}
	return profile, r.apps.stat(appLabel(o), counted, d)
}

var _ netstack.EchoDialer = (*router)(nil)

// DialEcho carries an app's pings as an "icmp" stream to the exit, which
// sends them from its own ping socket. Excluded destinations never reach
// the TUN (their routes bypass it), so every echo flow goes through the
// circuit (its rule's profile's), unless a block rule refuses it; a rule
// that sends it direct is not followed (the daemon sends no pings of its
// own). The flow and its bytes count for the application that owns the
// ping socket, under the profile whose circuit carries them.
func (r *router) DialEcho(ctx context.Context, f netstack.Flow) (net.Conn, error) {
	rf := rules.Flow{Proto: rules.ICMP, Src: f.Src, Dst: f.Dst}
	d := r.decide(&rf)
	profile := "" // the rules profile whose circuit carries the pings
	if d.Action == rules.Tunnel {
		profile = d.Profile
	}
	var app *appStat
	if r.apps != nil {
		counted := profile
		switch {
		case d.Action == rules.Block:
			counted = ""
		case counted == "":
			counted = r.profile.Name
		}
		app = r.apps.stat(appLabel(rf.Owner), counted, d)
	}
	if d.Action == rules.Block {
		r.blocked.Add(1)
		if app != nil {
			app.blocked.Add(1)
		}
		return nil, fmt.Errorf("%w: %s", ErrBlocked, d)
	}
	c, err := r.dialCircuit(ctx, "icmp", f.Dst.Addr().String(), profile, app)
	if err != nil {
		return nil, err
	}
	return echoConn{c, maxDatagram(c), ipHeaderLen(f) + 8 - netstack.EchoHeaderLen}, nil
}

// echoConn turns an echo request too large for one datagram of the
// circuit into a too-big with the largest packet that passes, as a
// router on a smaller link would answer, and the exit's reports of ICMP
// errors for echo requests into the netstack's.
type echoConn struct {
	net.Conn
	max int // largest datagram a Write takes, 0 if not known
	hdr int // IP and ICMP header, less the sequence number in front of the data
}

func (c echoConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	return n, icmpErr(err)
}

func (c echoConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if errors.Is(err, stream.ErrDatagramTooLarge) {
		if c.max == 0 {
			return len(p), nil
		}
		return 0, &icmperr.Error{Type: icmperr.TooBig, MTU: c.max + c.hdr}
	}
	return n, err
}
