package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"time"

	"github.com/pexia-network/pexia/internal/logger"
)

// Dialer opens the outgoing connections. In pexiad it opens streams on a
// circuit.
type Dialer interface {
	// DialContext connects to address, "host:port", over network "tcp" or
	// "udp". host may be a name; the implementation must resolve it
	// remotely (at the exit), never locally. A "udp" connection keeps
	// datagram boundaries: every Write sends one datagram and every Read
	// returns one. The caller closes the connection.
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// DialerFunc adapts a function to the Dialer interface.
type DialerFunc func(ctx context.Context, network, address string) (net.Conn, error)

// DialContext calls f.
func (f DialerFunc) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return f(ctx, network, address)
}

// Config configures a Server. For the durations, zero means the default
// and a negative value means no limit.
type Config struct {
	// Dialer carries every outgoing connection. Required.
	Dialer Dialer

	// Logf receives log lines; nil discards them. Lines about a single
	// connection start with "[v1]".
	Logf logger.Logf

	// Username and Password, when set, are required from every client:
	// SOCKS5 username/password authentication (RFC 1929) and HTTP Basic
	// credentials in Proxy-Authorization. Set both or neither; each is at
	// most 255 bytes and Username has no colon. When they are empty, SOCKS5
	// clients that offer only username/password are let in with any
	// credentials.
	Username, Password string

	// ReadHeaderTimeout bounds the time a client has after connecting to
	// send its SOCKS5 handshake and request, or each HTTP request header.
	// Default 10 s.
	ReadHeaderTimeout time.Duration

	// DialTimeout bounds each Dialer call, which includes building a
	// circuit when none is ready. Default 30 s.
	DialTimeout time.Duration

	// IdleTimeout closes a relayed TCP connection (SOCKS5 CONNECT, HTTP
	// CONNECT) after this long without data in either direction.
	// Default 1 h.
	IdleTimeout time.Duration

	// UDPIdleTimeout closes one destination's flow of a UDP association
	// after this long without datagrams in either direction; a later
	// datagram opens it again. Default 2 min.
	UDPIdleTimeout time.Duration

	// MaxConns caps the client connections served at once; a UDP
	// association counts as its control connection. Connections beyond the
	// cap are closed right after accept. Zero means 1024, negative means no
	// cap.
	MaxConns int
}

const (
	defaultReadHeaderTimeout = 10 * time.Second
	defaultDialTimeout       = 30 * time.Second
	defaultIdleTimeout       = time.Hour
	defaultUDPIdleTimeout    = 2 * time.Minute
	defaultMaxConns          = 1024

	// keepAliveIdle closes an idle keep-alive HTTP client connection
	// (Squid's client_idle_pconn_timeout is the same).
	keepAliveIdle = 2 * time.Minute
	// maxHeaderBytes bounds an HTTP request header.
	maxHeaderBytes = 64 << 10
	// maxResponseHeaderBytes bounds an upstream response header.
	maxResponseHeaderBytes = 1 << 20
)

// Server is a SOCKS5 and HTTP proxy. Its methods are safe for concurrent
// use.
type Server struct {
	cfg    Config
	ctx    context.Context // canceled by Close; parent of every dial
	cancel context.CancelFunc

	transport *http.Transport
	forward   *httputil.ReverseProxy

	mu        sync.Mutex
	closed    bool                      // guarded by mu
	listeners map[net.Listener]struct{} // guarded by mu
	conns     map[*trackedConn]struct{} // guarded by mu
	atLimit   bool                      // guarded by mu; MaxConns was hit and not yet left
	httpSrv   *http.Server              // guarded by mu; started with the first HTTP connection
	httpQueue *connQueue                // guarded by mu; feeds httpSrv
	wg        sync.WaitGroup            // every goroutine the Server started; Add under mu while !closed
}

// New checks cfg and returns a Server. It starts nothing; call Serve,
// ServeSOCKS or ServeHTTP, and Close when done.
func New(cfg Config) (*Server, error) {
	if cfg.Dialer == nil {
		return nil, errors.New("proxy: Config.Dialer is nil")
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		return nil, errors.New("proxy: Config.Username and Config.Password must be set together")
	}
	if len(cfg.Username) > 255 || len(cfg.Password) > 255 {
		return nil, errors.New("proxy: Config.Username and Config.Password must be at most 255 bytes (RFC 1929)")
	}
	if strings.Contains(cfg.Username, ":") {
		return nil, errors.New("proxy: Config.Username must not contain a colon (HTTP Basic)")
	}
	cfg.ReadHeaderTimeout = orDefault(cfg.ReadHeaderTimeout, defaultReadHeaderTimeout)
	cfg.DialTimeout = orDefault(cfg.DialTimeout, defaultDialTimeout)
	cfg.IdleTimeout = orDefault(cfg.IdleTimeout, defaultIdleTimeout)
	cfg.UDPIdleTimeout = orDefault(cfg.UDPIdleTimeout, defaultUDPIdleTimeout)
	if cfg.MaxConns == 0 {
		cfg.MaxConns = defaultMaxConns
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:       cfg,
		ctx:       ctx,
		cancel:    cancel,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*trackedConn]struct{}),
	}
	s.transport, s.forward = s.newForwarder()
	return s, nil
}

// orDefault maps zero to def and negative to zero (no limit).
func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

type mode uint8

const (
	modeSniff mode = iota
	modeSOCKS
	modeHTTP
)

// Serve accepts connections on l and serves SOCKS5 or HTTP on each,
// depending on its first byte. It blocks until l fails or Close is called,
// then closes l and returns ErrServerClosed after Close, or the accept
// error.
func (s *Server) Serve(l net.Listener) error { return s.serve(l, modeSniff) }

// ServeSOCKS is Serve for SOCKS5 only.
func (s *Server) ServeSOCKS(l net.Listener) error { return s.serve(l, modeSOCKS) }

// ServeHTTP is Serve for HTTP proxying only. (It serves a listener; the
// Server is not an http.Handler.)
func (s *Server) ServeHTTP(l net.Listener) error { return s.serve(l, modeHTTP) }

func (s *Server) serve(l net.Listener, m mode) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
		l.Close()
	}()

	s.logf("serving %s on %s", m, l.Addr())
	var backoff time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			if te, ok := err.(interface{ Temporary() bool }); ok && te.Temporary() {
				// Out of file descriptors and the like: wait and retry,
				// as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logf("accept on %s: %v; retrying in %v", l.Addr(), err, backoff)
				select {
				case <-time.After(backoff):
				case <-s.ctx.Done():
				}
				continue
			}
			return fmt.Errorf("proxy: accept on %s: %w", l.Addr(), err)
		}
		backoff = 0
		tc, ok := s.track(c)
		if !ok {
			c.Close()
			continue
		}
		go func() {
			defer s.wg.Done()
			s.handle(tc, m)
		}()
	}
}

func (m mode) String() string {
	switch m {
	case modeSOCKS:
		return "SOCKS5"
	case modeHTTP:
		return "HTTP"
	default:
		return "SOCKS5 and HTTP"
	}
}

// handle serves one accepted connection.
func (s *Server) handle(c *trackedConn, m mode) {
	switch m {
	case modeSOCKS:
		s.serveSOCKS(newBufConn(c))
	case modeHTTP:
		s.toHTTP(c)
	default:
		bc := newBufConn(c)
		if d := s.cfg.ReadHeaderTimeout; d > 0 {
			c.SetReadDeadline(time.Now().Add(d))
		}
		b, err := bc.r.Peek(1)
		if err != nil {
			s.vlogf("%s: no request: %v", c.RemoteAddr(), err)
			c.Close()
			return
		}
		switch b[0] {
		case socksVersion:
			s.serveSOCKS(bc)
		case 0x04:
			s.vlogf("%s: SOCKS4 is not supported; use SOCKS5", c.RemoteAddr())
			c.Close()
		default:
			c.SetReadDeadline(time.Time{})
			s.toHTTP(bc)
		}
	}
}

// track registers a new client connection, or refuses it when the Server
// is closed or at MaxConns. On success it has done s.wg.Add(1) for the
// goroutine that will serve the connection.
func (s *Server) track(c net.Conn) (*trackedConn, bool) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, false
	}
	if s.cfg.MaxConns > 0 && len(s.conns) >= s.cfg.MaxConns {
		first := !s.atLimit
		s.atLimit = true
		s.mu.Unlock()
		if first {
			s.logf("connection limit (%d) reached; refusing new connections until some close", s.cfg.MaxConns)
		}
		return nil, false
	}
	tc := &trackedConn{Conn: c, s: s}
	s.conns[tc] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	return tc, true
}

func (s *Server) untrack(c *trackedConn) {
	s.mu.Lock()
	delete(s.conns, c)
	if s.atLimit && len(s.conns) < s.cfg.MaxConns {
		s.atLimit = false
	}
	s.mu.Unlock()
}

// enter registers a goroutine that the Server did not start (an HTTP
// handler) so Close waits for it. It is false once the Server is closed.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops every listener, cancels dials in progress, closes every
// client and upstream connection and UDP association, and waits for the
// goroutines the Server started. It always returns nil.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	s.cancel()
	listeners := make([]net.Listener, 0, len(s.listeners))
	for l := range s.listeners {
		listeners = append(listeners, l)
	}
	conns := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	srv, queue := s.httpSrv, s.httpQueue
	s.mu.Unlock()

	for _, l := range listeners {
		l.Close()
	}
	if srv != nil {
		queue.Close()
		srv.Close()
	}
	for _, c := range conns {
		c.Close()
	}
	s.transport.CloseIdleConnections()
	s.wg.Wait()
	// A request that ended while waiting may have put its upstream
	// connection back in the pool.
	s.transport.CloseIdleConnections()
	return nil
}

// dial calls the Dialer with the dial timeout.
func (s *Server) dial(ctx context.Context, network, address string) (net.Conn, error) {
	if d := s.cfg.DialTimeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	// Errors are returned as the Dialer made them: every log line and
	// error answer names the destination already.
	c, err := s.cfg.Dialer.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errors.New("dialer returned no connection")
	}
	return c, nil
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf("proxy: "+format, args...)
	}
}

// vlogf logs a line about a single connection.
func (s *Server) vlogf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf("[v1] proxy: "+format, args...)
	}
}

type closeWriter interface{ CloseWrite() error }

// closeWrite half-closes c, or closes it when it can't be half-closed.
func closeWrite(c net.Conn) {
	if cw, ok := c.(closeWriter); ok && cw.CloseWrite() == nil {
		return
	}
	c.Close()
}

// trackedConn is a client connection the Server closes on Close. Closing it
// frees its MaxConns slot.
type trackedConn struct {
	net.Conn
	s    *Server
	once sync.Once
	err  error
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.err = c.Conn.Close()
		c.s.untrack(c)
	})
	return c.err
}

// CloseWrite half-closes the connection if the underlying one can.
func (c *trackedConn) CloseWrite() error {
	if cw, ok := c.Conn.(closeWriter); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// bufConn reads a connection through a bufio.Reader, so bytes read ahead
// while parsing a handshake (or peeking at the first byte) are not lost.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func newBufConn(c net.Conn) *bufConn {
	return &bufConn{Conn: c, r: bufio.NewReaderSize(c, 1024)}
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// CloseWrite half-closes the connection if the underlying one can.
func (c *bufConn) CloseWrite() error {
	if cw, ok := c.Conn.(closeWriter); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}
