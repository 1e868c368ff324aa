package netstack

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"sync"
	"sync/atomic"

	"github.com/miekg/dns"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// maxDNSInFlight bounds concurrent queries per DNS flow; a client that
// sends more waits (TCP) or sees its extra datagrams queue (UDP).
const maxDNSInFlight = 32

// dnsFlow is one intercepted DNS conversation (UDP or TCP) with its
// queries in progress. Reset closes the app side, which ends the read loop.
type dnsFlow struct {
	s        *Stack
	f        Flow
	close    func(abort bool)
	sem      chan struct{}
	inflight sync.WaitGroup
	pending  atomic.Int32
	once     sync.Once
}

func newDNSFlow(s *Stack, f Flow, close func(abort bool)) *dnsFlow {
	return &dnsFlow{s: s, f: f, close: close, sem: make(chan struct{}, maxDNSInFlight)}
}

// end closes the app side once: abortively for reset, gracefully (queued
// answers still delivered) when the conversation is over.
func (d *dnsFlow) end(abort bool) { d.once.Do(func() { d.close(abort) }) }

func (d *dnsFlow) reset() { d.end(true) }

// answer resolves query on its own goroutine and passes the reply to send;
// it blocks only while maxDNSInFlight queries are in progress.
func (d *dnsFlow) answer(query []byte, maxSize int, send func([]byte)) {
	d.sem <- struct{}{}
	d.pending.Add(1)
	d.inflight.Add(1)
	go func() {
		defer func() {
			d.pending.Add(-1)
			<-d.sem
			d.inflight.Done()
		}()
		if reply := d.s.resolve(d.f, query, maxSize); reply != nil {
			send(reply)
		}
	}()
}

// serveDNSUDP answers each datagram of a UDP flow to port 53.
func (s *Stack) serveDNSUDP(conn *udpApp, f Flow) {
	d := newDNSFlow(s, f, func(bool) { _ = conn.Close() })
	s.track(d)
	defer d.end(false)
	defer s.untrack(d)
	defer d.inflight.Wait()
	for {
		if !conn.wait(s.cfg.dnsIdle()) {
			if d.pending.Load() > 0 {
				continue // idle, but an answer is still to come
			}
			return
		}
		buf := copyBufs.Get().(*[copyBufSize]byte)
		n, err := conn.Read(buf[:])
		query := append([]byte(nil), buf[:n]...)
		copyBufs.Put(buf)
		if err != nil {
			return
		}
		d.answer(query, udpReplySize, func(reply []byte) {
			_, _ = conn.Write(reply)
		})
	}
}

// serveDNSTCP accepts a TCP connection to port 53 and answers each
// length-prefixed message on it (RFC 7766); answers may be pipelined.
func (s *Stack) serveDNSTCP(r *tcp.ForwarderRequest, f Flow) {
	ep, wq, ok := s.acceptTCP(r)
	if !ok {
		return
	}
	s.c.tcpTotal.Add(1)
	s.c.tcpActive.Add(1)
	defer s.c.tcpActive.Add(-1)
	conn := gonet.NewTCPConn(wq, ep)
	d := newDNSFlow(s, f, func(abort bool) {
		if abort {
			ep.Abort()
		}
		_ = conn.Close()
	})
	s.track(d)
	defer d.end(false)
	defer s.untrack(d)
	defer d.inflight.Wait()

	var wmu sync.Mutex
	send := func(reply []byte) {
		msg := make([]byte, 2+len(reply))
		binary.BigEndian.PutUint16(msg, uint16(len(reply)))
		copy(msg[2:], reply)
		wmu.Lock()
		defer wmu.Unlock()
		// A client that stops reading must not hold the flow forever.
		_ = conn.SetWriteDeadline(deadline(s.cfg.dnsIdle()))
		_, _ = conn.Write(msg)
	}
	br := bufio.NewReader(conn)
	var lenBuf [2]byte
	for {
		_ = conn.SetReadDeadline(deadline(s.cfg.dnsIdle()))
		if n, err := io.ReadFull(br, lenBuf[:]); err != nil {
			if n == 0 && isTimeout(err) && d.pending.Load() > 0 {
				continue // idle, but an answer is still to come
			}
			return
		}
		n := binary.BigEndian.Uint16(lenBuf[:])
		if n == 0 {
			return
		}
		query := make([]byte, n)
		if _, err := io.ReadFull(br, query); err != nil {
			return
		}
		d.answer(query, 0, send)
	}
}

// udpReplySize is passed for UDP flows: the reply is fitted to the size
// the query allows.
const udpReplySize = -1

// resolve answers one query. maxSize 0 means what a TCP frame holds;
// udpReplySize means the query's EDNS0 size, or 512 bytes. It returns nil
// to drop the query: it did not parse, or the Stack is closing.
func (s *Stack) resolve(f Flow, query []byte, maxSize int) []byte {
	var q dns.Msg
	if err := q.Unpack(query); err != nil || q.Response || len(q.Question) == 0 {
		s.c.drops.Add(1)
		return nil
	}
	switch maxSize {
	case 0:
		maxSize = dns.MaxMsgSize
	case udpReplySize:
		maxSize = dns.MinMsgSize
		if opt := q.IsEdns0(); opt != nil {
			maxSize = max(int(opt.UDPSize()), dns.MinMsgSize)
		}
	}
	s.c.dnsQueries.Add(1)
	ctx, cancel := context.WithTimeout(s.ctx, DNSQueryTimeout)
	raw, err := s.cfg.Handler.ResolveDNS(ctx, f, query)
	cancel()
	if s.ctx.Err() != nil {
		return nil
	}
	var reply dns.Msg
	if err == nil {
		err = reply.Unpack(raw)
	}
	if err != nil {
		return packOrNil(new(dns.Msg).SetRcode(&q, dns.RcodeServerFailure))
	}
	s.names.observe(&reply)
	if reply.Id != q.Id || len(raw) > maxSize {
		reply.Id = q.Id
		reply.Truncate(maxSize)
		return packOrNil(&reply)
	}
	return raw
}

func packOrNil(m *dns.Msg) []byte {
	b, err := m.Pack()
	if err != nil {
		return nil
	}
	return b
}
