package proxy

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pexia-network/pexia/internal/logger"
)

// toHTTP hands a client connection to the HTTP server, starting it on the
// first call.
func (s *Server) toHTTP(c net.Conn) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
		return
	}
	if s.httpSrv == nil {
		s.httpQueue = newConnQueue()
		s.httpSrv = &http.Server{
			Handler:           http.HandlerFunc(s.serveRequest),
			ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
			IdleTimeout:       keepAliveIdle,
			MaxHeaderBytes:    maxHeaderBytes,
			ErrorLog:          logger.StdLogger(s.vlogf),
			BaseContext:       func(net.Listener) context.Context { return s.ctx },
		}
		srv, q := s.httpSrv, s.httpQueue
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			srv.Serve(q)
		}()
	}
	q := s.httpQueue
	s.mu.Unlock()
	select {
	case q.ch <- c:
	case <-q.done:
		c.Close()
	}
}

// serveRequest is the HTTP proxy's handler.
func (s *Server) serveRequest(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		http.Error(w, "proxy is shutting down", http.StatusServiceUnavailable)
		return
	}
	defer s.wg.Done()
	if !s.httpAuthorized(r) {
		w.Header().Set("Proxy-Authenticate", `Basic realm="pexia", charset="UTF-8"`)
		http.Error(w, "proxy authentication required", http.StatusProxyAuthRequired)
		s.vlogf("http %s: %s %s: missing or wrong credentials", r.RemoteAddr, r.Method, r.Host)
		return
	}
	if r.Method == http.MethodConnect {
		s.httpConnect(w, r)
		return
	}
	if !r.URL.IsAbs() || r.URL.Host == "" {
		http.Error(w, "this is a proxy: requests need an absolute URI such as http://example.com/", http.StatusBadRequest)
		s.vlogf("http %s: %s %s: not an absolute URI", r.RemoteAddr, r.Method, r.RequestURI)
		return
	}
	if r.URL.Scheme != "http" && r.URL.Scheme != "https" {
		http.Error(w, "unsupported URI scheme "+strconv.Quote(r.URL.Scheme), http.StatusBadRequest)
		s.vlogf("http %s: %s %s: unsupported scheme", r.RemoteAddr, r.Method, r.URL.Redacted())
		return
	}
	// The host only: paths and queries can carry secrets.
	s.vlogf("http %s: %s %s://%s", r.RemoteAddr, r.Method, r.URL.Scheme, r.URL.Host)
	s.forward.ServeHTTP(w, r)
}

// httpAuthorized checks Proxy-Authorization when credentials are
// configured.
func (s *Server) httpAuthorized(r *http.Request) bool {
	if s.cfg.Username == "" {
		return true
	}
	scheme, enc, ok := strings.Cut(r.Header.Get("Proxy-Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return false
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	return ok && credentialsMatch(user, pass, s.cfg.Username, s.cfg.Password)
}

// httpConnect serves CONNECT: dial, answer 200, relay.
func (s *Server) httpConnect(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	host, port, err := net.SplitHostPort(r.Host)
	if p, perr := strconv.ParseUint(port, 10, 16); err != nil || perr != nil || p == 0 || host == "" {
		http.Error(w, "CONNECT needs host:port", http.StatusBadRequest)
		s.vlogf("http %s: CONNECT %q: not host:port", r.RemoteAddr, r.Host)
		return
	}
	dst := net.JoinHostPort(host, port)
	up, err := s.dial(r.Context(), "tcp", dst)
	if err != nil {
		status := classify(err).httpStatus()
		http.Error(w, fmt.Sprintf("%s: %v", http.StatusText(status), err), status)
		s.vlogf("http %s: CONNECT %s: %v (%d)", r.RemoteAddr, dst, err, status)
		return
	}
	c, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		up.Close()
		http.Error(w, "connection can't be taken over", http.StatusInternalServerError)
		s.vlogf("http %s: CONNECT %s: hijack: %v", r.RemoteAddr, dst, err)
		return
	}
	c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		c.Close()
		up.Close()
		s.vlogf("http %s: CONNECT %s: write response: %v", r.RemoteAddr, dst, err)
		return
	}
	s.vlogf("http %s: CONNECT %s: open after %v", r.RemoteAddr, dst, time.Since(start).Round(time.Millisecond))
	// What the client sent right after the request (a TLS ClientHello, say)
	// may sit in the server's read buffer.
	st := relay(&bufConn{Conn: c, r: brw.Reader}, up, s.cfg.IdleTimeout)
	s.vlogf("http %s: CONNECT %s: closed after %v, %d bytes up, %d down%s",
		r.RemoteAddr, dst, time.Since(start).Round(time.Millisecond), st.up, st.down, errSuffix(st.err))
}

// newForwarder builds the transport and reverse proxy that forward
// absolute-URI requests through the Dialer.
func (s *Server) newForwarder() (*http.Transport, *httputil.ReverseProxy) {
	t := &http.Transport{
		Proxy: nil, // never the environment's proxy
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return s.dial(ctx, "tcp", addr)
		},
		// Pass responses through as they are: with compression on, the
		// transport would ask for gzip and decode it behind the client's
		// back.
		DisableCompression:     true,
		ForceAttemptHTTP2:      false,
		TLSNextProto:           map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    8,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// A forward proxy sends the request as the client wrote it:
			// ReverseProxy has already dropped the hop-by-hop headers
			// (Connection and what it names, Proxy-Authorization,
			// Proxy-Connection, Keep-Alive, TE, Upgrade...). It also drops
			// Forwarded and X-Forwarded-* and tidies the query, which suits
			// a reverse proxy; put the client's own back. Nothing about the
			// proxy or the client's address is added.
			pr.Out.URL.RawQuery = pr.In.URL.RawQuery
			for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
				if v, ok := pr.In.Header[h]; ok {
					pr.Out.Header[h] = v
				}
			}
		},
		Transport:    t,
		ErrorLog:     logger.StdLogger(s.vlogf),
		ErrorHandler: s.forwardError,
		BufferPool:   relayBufPool{},
	}
	return t, rp
}

// forwardError answers a request whose forwarding failed.
func (s *Server) forwardError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		// The client went away or the Server is closing; nobody reads an
		// answer.
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	status := classify(err).httpStatus()
	http.Error(w, fmt.Sprintf("%s: %v", http.StatusText(status), err), status)
	s.vlogf("http %s: %s %s://%s: %v (%d)", r.RemoteAddr, r.Method, r.URL.Scheme, r.URL.Host, err, status)
}

// relayBufPool lends the relay buffers to ReverseProxy.
type relayBufPool struct{}

func (relayBufPool) Get() []byte  { return *relayBufs.Get().(*[]byte) }
func (relayBufPool) Put(b []byte) { relayBufs.Put(&b) }

// connQueue is a net.Listener fed with connections that were accepted and
// sniffed elsewhere.
type connQueue struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newConnQueue() *connQueue {
	return &connQueue{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.ch:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.done) })
	return nil
}

func (q *connQueue) Addr() net.Addr { return queueAddr{} }

type queueAddr struct{}

func (queueAddr) Network() string { return "proxy" }
func (queueAddr) String() string  { return "proxy" }
