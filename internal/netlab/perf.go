package netlab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"time"
)

const (
	bulkChunk  = 128 << 10 // bytes per write and read
	pingSize   = 64        // bytes per ping-pong message
	pingWarmup = 20        // round trips not counted: handshakes, cold caches
)

// Bulk measures the throughput of one TCP stream from one host to another:
// a receiver listens on to's wildcard address, and a sender in from
// connects to dst (to.Addr4() when dst is the zero Addr; an announced
// address or a tunnel's route picks the path) and writes for d. The result
// is payload megabits (10⁶ bits) per second as counted by the receiver,
// from connection set-up to reading the stream's end. Sender and receiver
// are goroutines of this process, with sockets in their hosts' namespaces.
func Bulk(ctx context.Context, from, to *Host, dst netip.Addr, d time.Duration) (float64, error) {
	return bulk(ctx, from, to, dst, d, false)
}

// Download is Bulk the other way: client connects to a listener on
// server's wildcard address at dst (as for Bulk), and the server writes for
// d. The result is payload megabits per second as counted by the client,
// from connection set-up to reading the stream's end.
func Download(ctx context.Context, client, server *Host, dst netip.Addr, d time.Duration) (float64, error) {
	return bulk(ctx, client, server, dst, d, true)
}

// bulk connects from to to and sends for d, from the connecting side or,
// when down, from the accepting side.
func bulk(ctx context.Context, from, to *Host, dst netip.Addr, d time.Duration, down bool) (float64, error) {
	what := "bulk"
	if down {
		what = "download"
	}
	if d <= 0 {
		return 0, fmt.Errorf("netlab: %s: invalid duration %v", what, d)
	}
	client, server, err := connect(ctx, from, to, dst)
	if err != nil {
		return 0, fmt.Errorf("netlab: %s: %w", what, err)
	}
	defer client.Close()
	defer server.Close()
	defer context.AfterFunc(ctx, func() { expire(client, server) })()
	writer, reader := client, server
	if down {
		writer, reader = server, client
	}

	start := time.Now()
	type result struct {
		n   int64
		el  time.Duration
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := io.CopyBuffer(io.Discard, reader, make([]byte, bulkChunk))
		done <- result{n, time.Since(start), err}
	}()
	buf := make([]byte, bulkChunk)
	var werr error
	for end := start.Add(d); time.Now().Before(end); {
		if _, werr = writer.Write(buf); werr != nil {
			break
		}
	}
	if werr == nil {
		werr = writer.(*net.TCPConn).CloseWrite()
	}
	if werr != nil {
		expire(reader) // the reader would otherwise wait for an end that never comes
	}
	r := <-done
	if err := errors.Join(werr, r.err); err != nil {
		return 0, fmt.Errorf("netlab: %s %s → %s: %w", what, from.name, to.name, ctxErr(ctx, err))
	}
	if r.n == 0 || r.el <= 0 {
		return 0, fmt.Errorf("netlab: %s %s → %s: nothing received", what, from.name, to.name)
	}
	return float64(r.n) * 8 / r.el.Seconds() / 1e6, nil
}

// PingPong measures the round trip of one TCP connection from one host to
// another: n request/response exchanges of 64 bytes each way, one at a time
// (TCP_NODELAY), after a short warm-up. It returns the median. dst is as for
// Bulk.
func PingPong(ctx context.Context, from, to *Host, dst netip.Addr, n int) (time.Duration, error) {
	if n <= 0 {
		return 0, fmt.Errorf("netlab: ping-pong: invalid count %d", n)
	}
	client, server, err := connect(ctx, from, to, dst)
	if err != nil {
		return 0, fmt.Errorf("netlab: ping-pong: %w", err)
	}
	defer client.Close()
	defer server.Close()
	defer context.AfterFunc(ctx, func() { expire(client, server) })()

	echoed := make(chan struct{})
	go func() {
		defer close(echoed)
		buf := make([]byte, pingSize)
		for {
			if _, err := io.ReadFull(server, buf); err != nil {
				return
			}
			if _, err := server.Write(buf); err != nil {
				return
			}
		}
	}()
	defer func() { _ = server.Close(); <-echoed }()
	msg := make([]byte, pingSize)
	reply := make([]byte, pingSize)
	rtts := make([]time.Duration, 0, n)
	for i := range pingWarmup + n {
		msg[0] = byte(i)
		t0 := time.Now()
		if _, err := client.Write(msg); err != nil {
			return 0, fmt.Errorf("netlab: ping-pong %s → %s: %w", from.name, to.name, ctxErr(ctx, err))
		}
		if _, err := io.ReadFull(client, reply); err != nil {
			return 0, fmt.Errorf("netlab: ping-pong %s → %s: %w", from.name, to.name, ctxErr(ctx, err))
		}
		rtt := time.Since(t0)
		if reply[0] != msg[0] {
			return 0, fmt.Errorf("netlab: ping-pong %s → %s: reply %d to request %d", from.name, to.name, reply[0], msg[0])
		}
		if i >= pingWarmup {
			rtts = append(rtts, rtt)
		}
	}
	return median(rtts), nil
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	m := len(ds) / 2
	if len(ds)%2 == 1 {
		return ds[m]
	}
	return (ds[m-1] + ds[m]) / 2
}

// connect opens a TCP connection from one host to a listener on another's
// wildcard address and returns both ends.
func connect(ctx context.Context, from, to *Host, dst netip.Addr) (client, server net.Conn, err error) {
	if from == nil || to == nil {
		return nil, nil, errors.New("nil host")
	}
	if !dst.IsValid() {
		dst = to.addr4
	}
	ln, err := to.Listen("tcp", ":0")
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			c = nil
		}
		accepted <- c
	}()
	target := netip.AddrPortFrom(dst, uint16(ln.Addr().(*net.TCPAddr).Port))
	client, err = from.Dialer().DialContext(ctx, "tcp", target.String())
	if err != nil {
		ln.Close()
		<-accepted
		return nil, nil, fmt.Errorf("connect %s → %s at %s: %w", from.name, to.name, target, err)
	}
	select {
	case server = <-accepted:
		if server == nil {
			client.Close()
			return nil, nil, fmt.Errorf("accept in %s failed", to.name)
		}
	case <-ctx.Done():
		ln.Close()
		if s := <-accepted; s != nil {
			s.Close()
		}
		client.Close()
		return nil, nil, fmt.Errorf("accept in %s: %w", to.name, context.Cause(ctx))
	}
	return client, server, nil
}

// expire unblocks every read and write on the connections.
func expire(conns ...net.Conn) {
	for _, c := range conns {
		_ = c.SetDeadline(time.Unix(1, 0))
	}
}

// ctxErr prefers the context's error, which explains a deadline error set
// by expire.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}
