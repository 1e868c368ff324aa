package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	xproxy "golang.org/x/net/proxy"

	"github.com/pexia-network/pexia/internal/testutil"
)

func TestNewValidates(t *testing.T) {
	d := newTestDialer(nil)
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no dialer", Config{}, "Dialer is nil"},
		{"user without password", Config{Dialer: d, Username: "a"}, "set together"},
		{"password without user", Config{Dialer: d, Password: "a"}, "set together"},
		{"long user", Config{Dialer: d, Username: strings.Repeat("u", 256), Password: "p"}, "255 bytes"},
		{"long password", Config{Dialer: d, Username: "u", Password: strings.Repeat("p", 256)}, "255 bytes"},
		{"colon in user", Config{Dialer: d, Username: "a:b", Password: "p"}, "colon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error about %q", err, tt.want)
			}
		})
	}
	s, err := New(Config{Dialer: d, IdleTimeout: -1, MaxConns: -1})
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.IdleTimeout != 0 || s.cfg.ReadHeaderTimeout != defaultReadHeaderTimeout || s.cfg.MaxConns != -1 {
		t.Errorf("defaults: %+v", s.cfg)
	}
	s.Close()
}

// TestServeModes: Serve sniffs, ServeSOCKS and ServeHTTP serve one protocol.
func TestServeModes(t *testing.T) {
	testutil.CheckGoroutines(t)
	echo := testutil.EchoTCP(t, "127.0.0.1:0")
	up := startUpstream(t, false)
	d := newTestDialer(nil)
	for _, m := range []mode{modeSniff, modeSOCKS, modeHTTP} {
		t.Run(m.String(), func(t *testing.T) {
			// A SOCKS5 greeting on the HTTP-only listener waits for
			// the header timeout.
			_, proxyAddr := startServer(t, Config{Dialer: d, ReadHeaderTimeout: 300 * time.Millisecond}, m)

			pd, _ := xproxy.SOCKS5("tcp", proxyAddr, nil, xproxy.Direct)
			c, err := pd.Dial("tcp", echo.Addr)
			if m == modeHTTP {
				if err == nil {
					c.Close()
					t.Error("SOCKS5 worked on an HTTP-only listener")
				}
			} else if err != nil {
				t.Errorf("SOCKS5: %v", err)
			} else {
				exchange(t, c, "socks")
				c.Close()
			}

			client, _ := proxyClient(t, "http://"+proxyAddr, nil)
			resp, err := client.Get(up.URL + "/x")
			if m == modeSOCKS {
				if err == nil {
					resp.Body.Close()
					t.Error("HTTP worked on a SOCKS-only listener")
				}
			} else if err != nil {
				t.Errorf("HTTP: %v", err)
			} else {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("HTTP: %s", resp.Status)
				}
			}
		})
	}
}

// TestCloseEndsEverything: Close ends tunnels, associations, keep-alive
// connections and dials in progress, and returns once they are gone.
func TestCloseEndsEverything(t *testing.T) {
	testutil.CheckGoroutines(t)
	echo := testutil.EchoTCP(t, "127.0.0.1:0")
	up := startUpstream(t, false)
	d := newTestDialer(nil)
	dialing := make(chan struct{})
	canceled := make(chan error, 1)
	sd := DialerFunc(func(ctx context.Context, network, address string) (net.Conn, error) {
		if address == "never.test:1" {
			close(dialing)
			<-ctx.Done()
			canceled <- ctx.Err()
			return nil, ctx.Err()
		}
		return d.DialContext(ctx, network, address)
	})
	s, proxyAddr := startServer(t, Config{Dialer: sd}, modeSniff)

	var clients []net.Conn
	// A SOCKS5 tunnel.
	pd, _ := xproxy.SOCKS5("tcp", proxyAddr, nil, xproxy.Direct)
	c, err := pd.Dial("tcp", echo.Addr)
	if err != nil {
		t.Fatal(err)
	}
	exchange(t, c, "socks")
	clients = append(clients, c)
	// An HTTP CONNECT tunnel.
	c, err = net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: x\r\n\r\n", echo.Addr)
	br := bufio.NewReader(c)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	clients = append(clients, c)
	// A UDP association.
	ctl, _ := associate(t, proxyAddr)
	clients = append(clients, ctl)
	// An idle keep-alive HTTP connection.
	c, err = net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET %s/ HTTP/1.1\r\nHost: x\r\n\r\n", up.URL)
	br = bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	clients = append(clients, c)
	// A dial that is still in progress.
	c = dialSOCKS(t, proxyAddr)
	c.Write(append([]byte{5, cmdConnect, 0}, rawAddr(t, "never.test:1")...))
	<-dialing
	clients = append(clients, c)

	start := time.Now()
	s.Close()
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Close took %v", el)
	}
	if err := <-canceled; !errors.Is(err, context.Canceled) {
		t.Errorf("dial in progress: ctx error %v, want Canceled", err)
	}
	for i, c := range clients {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("client %d still connected after Close", i)
			}
		}
		c.Close()
	}
	if _, err := net.DialTimeout("tcp", proxyAddr, time.Second); err == nil {
		t.Error("listener still accepting after Close")
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	if err := s.Serve(l); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Close: %v", err)
	}
}

func TestMaxConns(t *testing.T) {
	testutil.CheckGoroutines(t)
	echo := testutil.EchoTCP(t, "127.0.0.1:0")
	tl := testutil.NewLog(t)
	_, proxyAddr := startServer(t, Config{Dialer: newTestDialer(nil), MaxConns: 2, Logf: tl.Logf}, modeSniff)
	pd, _ := xproxy.SOCKS5("tcp", proxyAddr, nil, xproxy.Direct)
	var open []net.Conn
	for range 2 {
		c, err := pd.Dial("tcp", echo.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		exchange(t, c, "in")
		open = append(open, c)
	}
	if c, err := pd.Dial("tcp", echo.Addr); err == nil {
		c.Close()
		t.Fatal("third connection served with MaxConns 2")
	}
	if !tl.Has("connection limit (2) reached") {
		t.Error("no log line about the limit")
	}
	open[0].Close()
	testutil.WaitFor(t, "a slot to free up", 5*time.Second, func() bool {
		c, err := pd.Dial("tcp", echo.Addr)
		if err != nil {
			return false
		}
		defer c.Close()
		exchange(t, c, "back in")
		return true
	})
}

func TestIdleTimeout(t *testing.T) {
	testutil.CheckGoroutines(t)
	echo := testutil.EchoTCP(t, "127.0.0.1:0")
	_, proxyAddr := startServer(t, Config{Dialer: newTestDialer(nil), IdleTimeout: 500 * time.Millisecond}, modeSniff)
	pd, _ := xproxy.SOCKS5("tcp", proxyAddr, nil, xproxy.Direct)
	c, err := pd.Dial("tcp", echo.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Traffic keeps it open past the timeout...
	for i := range 5 {
		if i > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		exchange(t, c, "tick")
	}
	// ...silence closes it.
	start := time.Now()
	expectClosed(t, c, 5*time.Second)
	if el := time.Since(start); el < 400*time.Millisecond {
		t.Errorf("closed after %v of silence, want about 500ms", el)
	}
}

// TestIdleTimeoutOneWay: a long download with nothing sent the other way
// is not idle.
func TestIdleTimeoutOneWay(t *testing.T) {
	testutil.CheckGoroutines(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		for range 12 {
			if _, err := c.Write([]byte("chunk")); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	_, proxyAddr := startServer(t, Config{Dialer: newTestDialer(nil), IdleTimeout: 400 * time.Millisecond}, modeSniff)
	pd, _ := xproxy.SOCKS5("tcp", proxyAddr, nil, xproxy.Direct)
	c, err := pd.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat("chunk", 12); string(got) != want {
		t.Errorf("got %d bytes, want %d: the download was cut", len(got), len(want))
	}
}
