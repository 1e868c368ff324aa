package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/testutil"
)

// upstream is an HTTP server that records what reached it.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request // clones, bodies read into bodies
}

func startUpstream(t *testing.T, tls bool) *upstream {
	t.Helper()
	u := &upstream{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, r.Clone(context.Background()))
		u.mu.Unlock()
		w.Header().Set("X-Upstream", "yes")
		fmt.Fprintf(w, "%s %s %s body=%s", r.Method, r.Host, r.URL.RequestURI(), body)
	})
	if tls {
		u.Server = httptest.NewTLSServer(h)
	} else {
		u.Server = httptest.NewServer(h)
	}
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) port() string {
	_, p, _ := net.SplitHostPort(u.Listener.Addr().String())
	return p
}

func (u *upstream) last() *http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.reqs[len(u.reqs)-1]
}

// proxyClient is an http.Client that goes through the proxy at addr and
// counts its connections to it.
func proxyClient(t *testing.T, proxyURL string, tlsFrom *httptest.Server) (*http.Client, *atomic.Int32) {
	t.Helper()
	pu, err := url.Parse(proxyURL)
	if err != nil {
		t.Fatal(err)
	}
	var dials atomic.Int32
	tr := &http.Transport{
		Proxy: http.ProxyURL(pu),
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		DisableCompression: true,
	}
	if tlsFrom != nil {
		tr.TLSClientConfig = tlsFrom.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}, &dials
}

func get(t *testing.T, c *http.Client, method, u string, body io.Reader, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, string(b)
}

func TestHTTPForward(t *testing.T) {
	testutil.CheckGoroutines(t)
	up := startUpstream(t, false)
	d := newTestDialer(map[string]string{"example.com": "127.0.0.1"})
	_, proxyAddr := startServer(t, Config{Dialer: d}, modeSniff)
	client, dials := proxyClient(t, "http://"+proxyAddr, nil)
	target := "http://example.com:" + up.port()

	resp, body := get(t, client, "GET", target+"/a/b?x=1;y=%41", nil, map[string]string{
		"Proxy-Connection": "keep-alive",
		"Connection":       "X-Hop",
		"X-Hop":            "for the proxy only",
		"X-Forwarded-For":  "192.0.2.7",
		"X-App":            "kept",
	})
	if resp.StatusCode != 200 || resp.Header.Get("X-Upstream") != "yes" {
		t.Fatalf("status %d, X-Upstream %q", resp.StatusCode, resp.Header.Get("X-Upstream"))
	}
	if want := "GET example.com:" + up.port() + " /a/b?x=1;y=%41 body="; body != want {
		t.Errorf("upstream saw %q, want %q", body, want)
	}
	r := up.last()
	for _, h := range []string{"Proxy-Connection", "Proxy-Authorization", "X-Hop", "Via", "Forwarded", "Accept-Encoding"} {
		if v, ok := r.Header[h]; ok {
			t.Errorf("upstream got %s: %q", h, v)
		}
	}
	if got := r.Header.Values("X-Forwarded-For"); len(got) != 1 || got[0] != "192.0.2.7" {
		t.Errorf("X-Forwarded-For: got %q, want the client's own [192.0.2.7]", got)
	}
	if got := r.Header.Get("X-App"); got != "kept" {
		t.Errorf("X-App: got %q", got)
	}

	resp, body = get(t, client, "POST", target+"/post", strings.NewReader("payload"), nil)
	if resp.StatusCode != 200 || !strings.HasSuffix(body, "body=payload") {
		t.Errorf("POST: %d %q", resp.StatusCode, body)
	}
	resp, _ = get(t, client, "HEAD", target+"/head", nil, nil)
	if resp.StatusCode != 200 {
		t.Errorf("HEAD: %d", resp.StatusCode)
	}

	// Keep-alive on both sides: one client connection to the proxy, one
	// upstream connection, for three requests.
	if n := dials.Load(); n != 1 {
		t.Errorf("client opened %d connections to the proxy, want 1", n)
	}
	if n := countCalls(d, "tcp example.com:"+up.port()); n != 1 {
		t.Errorf("proxy dialled upstream %d times, want 1 (calls %v)", n, d.calls())
	}
}

func TestHTTPConnect(t *testing.T) {
	testutil.CheckGoroutines(t)
	up := startUpstream(t, true)
	d := newTestDialer(map[string]string{"example.com": "127.0.0.1"})
	_, proxyAddr := startServer(t, Config{Dialer: d}, modeSniff)
	client, dials := proxyClient(t, "http://"+proxyAddr, up.Server)

	for i := range 3 {
		resp, body := get(t, client, "GET", "https://example.com:"+up.port()+"/tls", nil, nil)
		if resp.StatusCode != 200 || body != "GET example.com:"+up.port()+" /tls body=" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("client opened %d tunnels, want 1", n)
	}
	if calls := d.calls(); len(calls) != 1 || calls[0] != "tcp example.com:"+up.port() {
		t.Errorf("dialer calls %v, want one for the name as given", calls)
	}
}

// TestHTTPConnectRaw drives CONNECT by hand: early data after the request,
// and half-close in both directions.
func TestHTTPConnectRaw(t *testing.T) {
	testutil.CheckGoroutines(t)
	echo := testutil.EchoTCP(t, "[::1]:0")
	_, proxyAddr := startServer(t, Config{Dialer: newTestDialer(nil)}, modeHTTP)
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\nearly bytes", echo.Addr, echo.Addr)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %s", resp.Status)
	}
	io.WriteString(c, " and late ones")
	c.(*net.TCPConn).CloseWrite()
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	if string(rest) != "early bytes and late ones" {
		t.Errorf("echo: got %q", rest)
	}
}

func TestHTTPAuth(t *testing.T) {
	testutil.CheckGoroutines(t)
	up := startUpstream(t, false)
	tlsUp := startUpstream(t, true)
	d := newTestDialer(nil)
	_, proxyAddr := startServer(t, Config{Dialer: d, Username: "alice", Password: "pa ss"}, modeSniff)

	t.Run("missing", func(t *testing.T) {
		client, _ := proxyClient(t, "http://"+proxyAddr, nil)
		resp, _ := get(t, client, "GET", up.URL+"/", nil, nil)
		if resp.StatusCode != http.StatusProxyAuthRequired {
			t.Errorf("status %d, want 407", resp.StatusCode)
		}
		if got := resp.Header.Get("Proxy-Authenticate"); !strings.HasPrefix(got, "Basic realm=") {
			t.Errorf("Proxy-Authenticate %q", got)
		}
	})
	t.Run("wrong", func(t *testing.T) {
		client, _ := proxyClient(t, "http://alice:guess@"+proxyAddr, nil)
		resp, _ := get(t, client, "GET", up.URL+"/", nil, nil)
		if resp.StatusCode != http.StatusProxyAuthRequired {
			t.Errorf("status %d, want 407", resp.StatusCode)
		}
		client, _ = proxyClient(t, "http://alice:guess@"+proxyAddr, tlsUp.Server)
		if _, err := client.Get(tlsUp.URL); err == nil || !strings.Contains(err.Error(), "Proxy Authentication Required") {
			t.Errorf("CONNECT with wrong credentials: %v", err)
		}
	})
	t.Run("right", func(t *testing.T) {
		client, _ := proxyClient(t, "http://alice:pa%20ss@"+proxyAddr, tlsUp.Server)
		resp, _ := get(t, client, "GET", up.URL+"/", nil, nil)
		if resp.StatusCode != 200 {
			t.Errorf("plain: status %d", resp.StatusCode)
		}
		if v := up.last().Header.Get("Proxy-Authorization"); v != "" {
			t.Errorf("credentials forwarded upstream: %q", v)
		}
		resp, _ = get(t, client, "GET", tlsUp.URL+"/", nil, nil)
		if resp.StatusCode != 200 {
			t.Errorf("CONNECT: status %d", resp.StatusCode)
		}
	})
	if n := len(d.calls()); n != 2 {
		t.Errorf("dialer called %d times, want 2 (only for authorized requests)", n)
	}
}

func TestHTTPErrors(t *testing.T) {
	testutil.CheckGoroutines(t)
	d := newTestDialer(nil)
	d.setFail("denied.test:443", fmt.Errorf("blocked: %w", ErrNotAllowed))
	d.setFail("denied.test:80", fmt.Errorf("blocked: %w", ErrNotAllowed))
	sd := DialerFunc(func(ctx context.Context, network, address string) (net.Conn, error) {
		if strings.HasPrefix(address, "slow.test:") {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return d.DialContext(ctx, network, address)
	})
	_, proxyAddr := startServer(t, Config{Dialer: sd, DialTimeout: 100 * time.Millisecond}, modeHTTP)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := l.Addr().String()
	l.Close()

	tests := []struct {
		name string
		req  string
		want int
	}{
		{"CONNECT refused", "CONNECT " + refused + " HTTP/1.1\r\nHost: x\r\n\r\n", 502},
		{"CONNECT not allowed", "CONNECT denied.test:443 HTTP/1.1\r\nHost: x\r\n\r\n", 403},
		{"CONNECT timeout", "CONNECT slow.test:443 HTTP/1.1\r\nHost: x\r\n\r\n", 504},
		{"CONNECT unknown name", "CONNECT nosuch.test:443 HTTP/1.1\r\nHost: x\r\n\r\n", 502},
		{"CONNECT no port", "CONNECT example.com HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"CONNECT port 0", "CONNECT example.com:0 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"GET refused", "GET http://" + refused + "/ HTTP/1.1\r\nHost: x\r\n\r\n", 502},
		{"GET not allowed", "GET http://denied.test/ HTTP/1.1\r\nHost: x\r\n\r\n", 403},
		{"GET timeout", "GET http://slow.test/ HTTP/1.1\r\nHost: x\r\n\r\n", 504},
		{"origin-form", "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"ftp", "GET ftp://example.com/ HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"huge header", "GET http://example.com/ HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 80<<10) + "\r\n\r\n", 431},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", proxyAddr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, tt.req)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

func TestHTTPHeaderTimeout(t *testing.T) {
	testutil.CheckGoroutines(t)
	_, proxyAddr := startServer(t, Config{Dialer: newTestDialer(nil), ReadHeaderTimeout: 150 * time.Millisecond}, modeSniff)
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET http://example.com/ HTTP/1.1\r\nHost: exa")
	start := time.Now()
	expectClosed(t, c, 5*time.Second)
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Errorf("closed after %v, before the timeout", el)
	}
}
