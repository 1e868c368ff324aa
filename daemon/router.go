package daemon

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/tun"
)

// router decides where each flow goes: through a circuit of the pool, or,
// for an excluded destination, straight out with a marked socket that
// bypasses the tunnel. It counts the bytes both ways.
type router struct {
	pool    *hop.Pool
	profile hop.Profile
	direct  *net.Dialer
	exclude atomic.Pointer[[]netip.Prefix]

	up, down    atomic.Int64 // bytes through circuits
	flows       atomic.Int64 // flows opened
	active      atomic.Int64 // flows open now
	dnsQueries  atomic.Int64
	directFlows atomic.Int64
	failedDials atomic.Int64
	dnsTimeout  time.Duration
	lastDialErr atomic.Pointer[string]
}

func newRouter(pool *hop.Pool, profile hop.Profile, mark uint32, exclude []netip.Prefix) *router {
	r := &router{pool: pool, profile: profile, direct: tun.MarkDialer(mark), dnsTimeout: 10 * time.Second}
	r.setExclude(exclude)
	return r
}

func (r *router) setExclude(p []netip.Prefix) {
	p = append([]netip.Prefix(nil), p...)
	r.exclude.Store(&p)
}

func (r *router) excluded(a netip.Addr) bool {
	for _, p := range *r.exclude.Load() {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// dial opens a flow to dst ("tcp" or "udp").
func (r *router) dial(ctx context.Context, network string, dst netip.AddrPort) (net.Conn, error) {
	if r.excluded(dst.Addr()) {
		r.directFlows.Add(1)
		c, err := r.direct.DialContext(ctx, network, dst.String())
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	return r.dialCircuit(ctx, network, dst.String())
}

func (r *router) dialCircuit(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := r.pool.Dial(ctx, r.profile, network, address)
	if err != nil {
		r.failedDials.Add(1)
		s := err.Error()
		r.lastDialErr.Store(&s)
		return nil, err
	}
	r.flows.Add(1)
	r.active.Add(1)
	return &countedConn{Conn: c, r: r}, nil
}

// DialContext is the dialer of the userspace proxy: address may be a name,
// which is resolved at the exit.
func (r *router) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
		network = "tcp"
	case "udp", "udp4", "udp6":
		network = "udp"
	default:
		return nil, fmt.Errorf("network %q not supported", network)
	}
	if ap, err := netip.ParseAddrPort(address); err == nil {
		return r.dial(ctx, network, ap)
	}
	return r.dialCircuit(ctx, network, address)
}

// resolve answers one DNS query through the circuit: the exit resolves it
// with its own resolver. Each query rides its own short "dns" stream.
func (r *router) resolve(ctx context.Context, q []byte) ([]byte, error) {
	if len(q) < 12 || len(q) > 65535 {
		return nil, errors.New("malformed DNS query")
	}
	r.dnsQueries.Add(1)
	ctx, cancel := context.WithTimeout(ctx, r.dnsTimeout)
	defer cancel()
	c, err := r.pool.Dial(ctx, r.profile, "dns", "resolver:53")
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	msg := make([]byte, 2+len(q))
	binary.BigEndian.PutUint16(msg, uint16(len(q)))
	copy(msg[2:], q)
	if _, err := c.Write(msg); err != nil {
		return nil, err
	}
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return nil, err
	}
	a := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, a); err != nil {
		return nil, err
	}
	r.up.Add(int64(len(msg)))
	r.down.Add(int64(len(a) + 2))
	return a, nil
}

// countedConn counts a circuit flow's bytes.
type countedConn struct {
	net.Conn
	r      *router
	closed atomic.Bool
}

func (c *countedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.r.down.Add(int64(n))
	return n, err
}

func (c *countedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.r.up.Add(int64(n))
	return n, err
}

func (c *countedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *countedConn) Close() error {
	if !c.closed.Swap(true) {
		c.r.active.Add(-1)
	}
	return c.Conn.Close()
}
