package link

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/testutil"
)

// node is a Listener serving HTTPS on loopback.
type node struct {
	l   *Listener
	url string
	pin Pin
}

func newNode(t *testing.T, cfg ListenConfig) *node {
	t.Helper()
	cert, pin, err := NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Certificate = cert
	if cfg.Logf == nil {
		cfg.Logf = testutil.NewLog(t).Logf
	}
	l, err := NewListener(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- l.Serve(tcp) }()
	t.Cleanup(func() {
		_ = l.Close()
		if err := <-served; !errors.Is(err, net.ErrClosed) {
			t.Errorf("Serve returned %v, want net.ErrClosed", err)
		}
	})
	return &node{l: l, url: "https://" + tcp.Addr().String() + "/link", pin: pin}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// connect dials n and accepts the link on its side.
func connect(t *testing.T, n *node, cfg DialConfig) (client, server *Link) {
	t.Helper()
	if cfg.Logf == nil {
		cfg.Logf = testutil.NewLog(t).Logf
	}
	ctx := ctxT(t, 10*time.Second)
	client, err := Dial(ctx, n.url, n.pin, cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = client.Close() })
	server, err = n.l.Accept(ctx)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	t.Cleanup(func() { _ = server.Close() })
	return client, server
}

// openPair opens a channel from one link and accepts it on the other.
func openPair(t *testing.T, from, to *Link, label string) (Channel, Channel) {
	t.Helper()
	ctx := ctxT(t, 10*time.Second)
	a, err := from.Open(ctx, label)
	if err != nil {
		t.Fatalf("Open(%q): %v", label, err)
	}
	t.Cleanup(func() { _ = a.Close() })
	b, err := to.AcceptChannel(ctx)
	if err != nil {
		t.Fatalf("AcceptChannel: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if b.Label() != label {
		t.Fatalf("accepted label %q, want %q", b.Label(), label)
	}
	return a, b
}

// waitDone waits for l to end and returns how long it took.
func waitDone(t *testing.T, l *Link, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	select {
	case <-l.Done():
		return time.Since(start)
	case <-time.After(limit):
		t.Fatalf("link still up after %v", limit)
		return 0
	}
}
