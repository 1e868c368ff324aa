package testutil

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
)

// Server is a loopback test server started by [EchoTCP], [EchoUDP],
// [Source] or [Sink]. It is closed when the test ends: the cleanup closes
// the listener and every open connection and waits for every goroutine the
// server started.
type Server struct {
	// Addr is the address the server listens on, as "host:port".
	Addr string

	remotes chan netip.AddrPort
	wg      sync.WaitGroup
	mu      sync.Mutex
	closed  bool
	conns   map[io.Closer]struct{} // guarded by mu
}

// AddrPort is Addr parsed.
func (s *Server) AddrPort() netip.AddrPort { return netip.MustParseAddrPort(s.Addr) }

// Port is the port the server listens on.
func (s *Server) Port() uint16 { return s.AddrPort().Port() }

// Remotes receives the address of each TCP client the server accepts (the
// first 64 not received are kept; later ones are dropped).
func (s *Server) Remotes() <-chan netip.AddrPort { return s.remotes }

func newServer(addr string) *Server {
	return &Server{Addr: addr, remotes: make(chan netip.AddrPort, 64), conns: map[io.Closer]struct{}{}}
}

// track adds c to what the cleanup closes; once the cleanup has begun, it
// closes c instead.
func (s *Server) track(c io.Closer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return
	}
	s.conns[c] = struct{}{}
}

func (s *Server) untrack(c io.Closer) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

func (s *Server) closeAll() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// serveTCP listens on addr and runs serve on each accepted connection.
func serveTCP(t testing.TB, addr string, serve func(net.Conn)) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen tcp %s: %v", addr, err)
	}
	return Serve(t, ln, serve)
}

// Serve runs serve on each connection ln accepts, in a goroutine of its
// own, and closes the connection when serve returns. When the test ends it
// closes ln and the open connections and waits for the goroutines. It
// suits a listener that [EchoTCP] cannot open itself, such as one in a
// network namespace, and servers with a protocol of their own.
func Serve(t testing.TB, ln net.Listener, serve func(net.Conn)) *Server {
	s := newServer(ln.Addr().String())
	s.track(ln)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
				select {
				case s.remotes <- ta.AddrPort():
				default:
				}
			}
			s.track(c)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer s.untrack(c)
				defer c.Close()
				serve(c)
			}()
		}
	}()
	t.Cleanup(s.closeAll)
	return s
}

// EchoTCP starts a TCP echo server on addr (such as "127.0.0.1:0" or
// "[::1]:0"); each connection is served by [ServeEcho].
func EchoTCP(t testing.TB, addr string) *Server {
	t.Helper()
	return serveTCP(t, addr, ServeEcho)
}

// ServeEcho echoes c until the client half-closes it, then half-closes its
// own side (a half-close passes through) and drains what still comes.
func ServeEcho(c net.Conn) {
	io.Copy(c, c)
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		io.Copy(io.Discard, c)
	}
}

// EchoUDP starts a UDP echo server on addr that sends every datagram back
// to its sender.
func EchoUDP(t testing.TB, addr string) *Server {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("listen udp %s: %v", addr, err)
	}
	s := newServer(pc.LocalAddr().String())
	s.track(pc)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
	t.Cleanup(s.closeAll)
	return s
}

// Source starts a TCP server on addr that reads a decimal byte count and a
// newline ("1048576\n") from each client, sends that many zero bytes and
// closes: a download of a known size.
func Source(t testing.TB, addr string) *Server {
	t.Helper()
	return serveTCP(t, addr, ServeSource)
}

// ServeSource serves one [Source] connection.
func ServeSource(c net.Conn) {
	var n int64
	if _, err := fmt.Fscanf(c, "%d\n", &n); err != nil {
		return
	}
	io.Copy(c, io.LimitReader(zeros{}, n))
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// Sink starts a TCP server on addr that reads each client's bytes until it
// half-closes, then answers with the count (8 bytes, big endian) and the
// SHA-256 of what it read: an upload whose integrity the client can check
// with [SinkAnswer].
func Sink(t testing.TB, addr string) *Server {
	t.Helper()
	return serveTCP(t, addr, ServeSink)
}

// ServeSink serves one [Sink] connection.
func ServeSink(c net.Conn) {
	h := sha256.New()
	n, err := io.Copy(h, c)
	if err != nil {
		return
	}
	c.Write(h.Sum(binary.BigEndian.AppendUint64(nil, uint64(n))))
}

// SinkAnswer is what a [Sink] answers after reading data.
func SinkAnswer(data []byte) []byte {
	sum := sha256.Sum256(data)
	return append(binary.BigEndian.AppendUint64(nil, uint64(len(data))), sum[:]...)
}

// RoundTrip writes msg on c and reads it back, as from an echo server; it
// fails if anything else comes back.
func RoundTrip(c io.ReadWriter, msg string) error {
	if _, err := io.WriteString(c, msg); err != nil {
		return fmt.Errorf("echo: write: %w", err)
	}
	got := make([]byte, len(msg))
	if n, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("echo: read %d of %d bytes: %w", n, len(msg), err)
	}
	if string(got) != msg {
		return fmt.Errorf("echo: got %q back, want %q", got, msg)
	}
	return nil
}

// Download asks a [Source] on c for n bytes and reads them; it returns how
// many it read.
func Download(c io.ReadWriter, n int64) (int64, error) {
	if _, err := fmt.Fprintf(c, "%d\n", n); err != nil {
		return 0, err
	}
	got, err := io.Copy(io.Discard, io.LimitReader(c, n))
	if err == nil && got != n {
		err = fmt.Errorf("download: got %d of %d bytes: %w", got, n, io.ErrUnexpectedEOF)
	}
	return got, err
}
