package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"

	xproxy "golang.org/x/net/proxy"
)

// BenchmarkThroughput pushes bytes one way to a sink over loopback:
// directly, through a SOCKS5 CONNECT and through an HTTP CONNECT tunnel
// (with a net.Dialer behind the proxy). Compare MB/s within one run; the
// ratio is the proxy's cost.
func BenchmarkThroughput(b *testing.B) {
	sink, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	received := make(chan int64, 1)
	go func() {
		for {
			c, err := sink.Accept()
			if err != nil {
				return
			}
			go func() {
				n, _ := io.Copy(io.Discard, c)
				c.Close()
				received <- n
			}()
		}
	}()

	s, err := New(Config{Dialer: &net.Dialer{}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go s.Serve(l)
	proxyAddr := l.Addr().String()
	target := sink.Addr().String()

	dialers := []struct {
		name string
		dial func() (net.Conn, error)
	}{
		{"direct", func() (net.Conn, error) { return net.Dial("tcp", target) }},
		{"socks5", func() (net.Conn, error) {
			pd, err := xproxy.SOCKS5("tcp", proxyAddr, nil, xproxy.Direct)
			if err != nil {
				return nil, err
			}
			return pd.Dial("tcp", target)
		}},
		{"http-connect", func() (net.Conn, error) {
			c, err := net.Dial("tcp", proxyAddr)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil || resp.StatusCode != 200 {
				c.Close()
				return nil, fmt.Errorf("CONNECT: %v %v", resp, err)
			}
			return c, nil
		}},
	}
	const chunk = 1 << 20
	buf := make([]byte, 64<<10)
	for _, d := range dialers {
		b.Run(d.name, func(b *testing.B) {
			c, err := d.dial()
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(chunk)
			b.ResetTimer()
			for range b.N {
				for sent := 0; sent < chunk; sent += len(buf) {
					if _, err := c.Write(buf); err != nil {
						b.Fatal(err)
					}
				}
			}
			// Count the time until the sink has everything.
			c.(*net.TCPConn).CloseWrite()
			if n := <-received; n != int64(b.N)*chunk {
				b.Fatalf("sink got %d bytes, want %d", n, int64(b.N)*chunk)
			}
			b.StopTimer()
			c.Close()
		})
	}
}
