package relay_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/relay"
)

// heldConn is the exit's real socket for a udp flow, its reads held until
// open is closed: what a busy exit does when it does not schedule the
// flow's goroutine for a while.
type heldConn struct {
	*net.UDPConn
	open   chan struct{}
	reads  atomic.Int64
	marker chan struct{}
	once   sync.Once
}

func (h *heldConn) Read(b []byte) (int, error) {
	<-h.open
	n, err := h.UDPConn.Read(b)
	if err == nil {
		h.reads.Add(1)
		if bytes.Equal(b[:n], []byte("end")) {
			h.once.Do(func() { close(h.marker) })
		}
	}
	return n, err
}

// TestExitUDPHoldsBurst: datagrams a destination sends while the exit's
// flow goroutine is not running wait in the flow's socket until it runs:
// a burst of 300 datagrams of 1,200 bytes (what 20 Mbit/s brings in
// 150 ms) is all read once the goroutine runs again, none dropped by the
// kernel for a full receive buffer.
func TestExitUDPHoldsBurst(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_NET_ADMIN), without which the kernel caps the exit's socket buffers at net.core.rmem_max")
	}
	srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dst := srv.LocalAddr().String()
	policy, err := relay.ParseExitPolicy("accept udp " + dst + "\n" + relay.DefaultExitPolicyText)
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan *heldConn, 1)
	exit := hoptest.StartExit(t, relay.NodeConfig{Policy: policy, Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if u, ok := c.(*net.UDPConn); ok && err == nil && addr == dst {
			h := &heldConn{UDPConn: u, open: make(chan struct{}), marker: make(chan struct{})}
			select {
			case held <- h:
				return h, nil
			default:
			}
		}
		return c, err
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := hoptest.Build(t, ctx, []hop.HopInfo{exit.Info}, hop.BuildConfig{})
	conn, err := c.Dial(ctx, "udp", dst)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	srv.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 2048)
	_, from, err := srv.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("the flow's first datagram did not arrive: %v", err)
	}
	h := <-held
	defer func() {
		select {
		case <-h.open:
		default:
			close(h.open)
		}
	}()

	const burst = 300
	msg := make([]byte, 1200)
	for i := 0; i < burst; i++ {
		if _, err := srv.WriteToUDP(msg, from); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := srv.WriteToUDP([]byte("end"), from); err != nil {
		t.Fatal(err)
	}
	close(h.open)
	select {
	case <-h.marker:
	case <-time.After(10 * time.Second):
		// The marker came last: the kernel dropped it with the rest.
	}
	if got := h.reads.Load(); got != burst+1 {
		t.Fatalf("the exit read %d of the %d datagrams sent while it was held up: the kernel dropped %d for a full receive buffer", got, burst+1, burst+1-got)
	}
}
