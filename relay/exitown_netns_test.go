package relay_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/stream"
	"github.com/pexia-network/pexia/internal/netlab"
	"github.com/pexia-network/pexia/relay"
)

// TestExitRefusesItsPublicAddress runs an exit whose outside is a network
// namespace with a public address of its own (203.0.113.7 on its
// interface), next to a "web" host that owns 198.51.100.0/24. Under the
// default exit policy the exit serves the web host and refuses its own
// public address, where its host's services listen. Needs root.
func TestExitRefusesItsPublicAddress(t *testing.T) {
	_, exitHost, web := exitLab(t, "hopexit", "198.51.100.0/24")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	serve := func(h *netlab.Host, addr string) uint16 {
		ln, err := h.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { defer c.Close(); buf := make([]byte, 64); n, _ := c.Read(buf); c.Write(buf[:n]) }()
			}
		}()
		return uint16(ln.Addr().(*net.TCPAddr).Port)
	}
	ownPort := serve(exitHost, "203.0.113.7:0")
	webPort := serve(web, ":0")

	// The exit's circuits arrive over loopback; its streams leave from its
	// namespace.
	exit := hoptest.StartExit(t, relay.NodeConfig{Policy: relay.DefaultExitPolicy(), Dialer: exitHost.Dialer().DialContext})
	c := hoptest.Build(t, ctx, []hop.HopInfo{exit.Info}, hop.BuildConfig{})
	conn, err := c.Dial(ctx, "tcp", "198.51.100.10:"+itoa(int(webPort)))
	if err != nil {
		t.Fatalf("public destination: %v", err)
	}
	conn.Close()
	for _, dst := range []string{"203.0.113.7:" + itoa(int(ownPort)), exitHost.Addr4().String() + ":" + itoa(int(ownPort))} {
		conn, err := c.Dial(ctx, "tcp", dst)
		if !isRefused(err, stream.ReasonPolicy) {
			if conn != nil {
				conn.Close()
			}
			t.Errorf("stream to the exit's own %s: got %v, want refused by policy", dst, err)
		}
	}
}
