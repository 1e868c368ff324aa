package proxy_test

import (
	"context"
	"errors"
	"log"
	"net"

	"github.com/pexia-network/pexia/proxy"
)

// A proxy on one loopback port for both SOCKS5 and HTTP. In pexiad the
// DialerFunc opens a stream on a circuit, for example
// pool.Dial(ctx, profile, network, address).
func Example() {
	var direct net.Dialer
	srv, err := proxy.New(proxy.Config{
		Dialer: proxy.DialerFunc(func(ctx context.Context, network, address string) (net.Conn, error) {
			return direct.DialContext(ctx, network, address)
		}),
		Logf: log.Printf,
	})
	if err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()

	// ... point applications at socks5h://l.Addr() or http://l.Addr() ...

	srv.Close()
	if err := <-done; !errors.Is(err, proxy.ErrServerClosed) {
		log.Fatal(err)
	}
}
