//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/netlab"
	"github.com/pexia-network/pexia/internal/world"
)

// TestPing runs the system's ping in the client host, to the internet
// host's IPv4 and IPv6 web addresses: first over the bare veth (before
// connecting), then through the tunnel over 1 and 3 hops, where the exit
// sends the echo requests from its ping sockets. Every request gets its
// reply, and ping reports a round trip that includes the circuit. A UDP
// socket connected to a closed port of the internet host gets "connection
// refused" through the tunnel, as without it.
func TestPing(t *testing.T) {
	w := pingWorld(t)
	targets := []netip.Addr{world.Web4, world.Web6}

	bare := map[netip.Addr]world.PingResult{}
	for _, dst := range targets {
		r := ping(t, w.Client, dst, 20)
		bare[dst] = r
		t.Logf("bare veth: ping %v: %d/%d, rtt min/avg/max %v/%v/%v", dst, r.Received, r.Sent, r.Min, r.Avg, r.Max)
	}

	overHops(t, w, func(t *testing.T, hops int) {
		for _, dst := range targets {
			r := ping(t, w.Client, dst, 20)
			t.Logf("%d hops: ping %v: %d/%d, rtt min/avg/max %v/%v/%v (bare avg %v)", hops, dst, r.Received, r.Sent, r.Min, r.Avg, r.Max, bare[dst].Avg)
			if r.Avg <= bare[dst].Min {
				t.Errorf("%d hops: ping %v average %v is not above the bare link's minimum %v: not a round trip through the circuit", hops, dst, r.Avg, bare[dst].Min)
			}
		}
		for _, dst := range targets {
			udpRefused(t, w.Client, netip.AddrPortFrom(dst, 9))
		}
	})
}

// TestPingFragmented runs ping -s 3000 (and -6) in the client host
// through 1 and 3 hops: echo requests larger than the TUN's MTU leave the
// app in fragments, and their replies come back in fragments too. Every
// request gets its whole reply.
func TestPingFragmented(t *testing.T) {
	w := pingWorld(t)
	overHops(t, w, func(t *testing.T, hops int) {
		for _, dst := range []netip.Addr{world.Web4, world.Web6} {
			r := ping(t, w.Client, dst, 10, "-s", "3000")
			t.Logf("%d hops: ping -s 3000 %v: %d/%d, rtt min/avg/max %v/%v/%v", hops, dst, r.Received, r.Sent, r.Min, r.Avg, r.Max)
		}
	})
}

// pingWorld is the world of a test that runs ping(8) in the client host;
// it skips the test where there is no ping.
func pingWorld(t *testing.T) *world.World {
	t.Helper()
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("needs ping(8) (make deps installs iputils-ping)")
	}
	return newWorld(t)
}

// overHops starts pexiad in w and, over 1 and then 3 hops, connects and
// runs check in a subtest, which fails if the daemon is not connected
// after it; then it disconnects.
func overHops(t *testing.T, w *world.World, check func(t *testing.T, hops int)) {
	t.Helper()
	ctx := context.Background()
	d, err := w.StartDaemon(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	cl := api.NewClient(d.Socket)
	for _, hops := range []int{1, 3} {
		t.Run(fmt.Sprintf("%dhop", hops), func(t *testing.T) {
			connect(t, cl, hops)
			check(t, hops)
			st, err := cl.Status(ctx)
			if err != nil || st.State != api.StateConnected {
				t.Fatalf("state %q after the checks over %d hops: %v", st.State, hops, err)
			}
		})
	}
	if _, err := cl.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
}

// ping runs `ping -c n` (`ping -6` for an IPv6 destination) in h with a
// 0.2 s interval, and requires every reply and a reported round trip.
func ping(t *testing.T, h *netlab.Host, dst netip.Addr, n int, opts ...string) world.PingResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append(append([]string{"-c", fmt.Sprint(n), "-i", "0.2", "-W", "5", "-n"}, opts...), dst.String())
	if dst.Is6() {
		args = append([]string{"-6"}, args...)
	}
	out, err := h.Command(ctx, "ping", args...).CombinedOutput()
	r, perr := world.ParsePing(string(out))
	if err != nil || perr != nil {
		t.Fatalf("ping %v: %v %v\n%s", args, err, perr, out)
	}
	if r.Sent != n || r.Received != n || r.LossPct != 0 {
		t.Fatalf("ping %v: %d of %d replies (%.1f%% loss)\n%s", args, r.Received, r.Sent, r.LossPct, out)
	}
	if r.Avg <= 0 {
		t.Fatalf("ping %v reported no round trip:\n%s", args, out)
	}
	return r
}

// udpRefused sends datagrams from h to a closed port dst until the
// connected socket reports the ICMP port unreachable as ECONNREFUSED.
func udpRefused(t *testing.T, h *netlab.Host, dst netip.AddrPort) {
	t.Helper()
	var c net.Conn
	if err := h.Do(func() (err error) {
		c, err = net.Dial("udp", dst.String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var err error
	for i := 0; i < 50; i++ {
		if _, err = c.Write([]byte("anyone?")); err != nil {
			break
		}
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err = c.Read(make([]byte, 64)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("udp to the closed port %v: %v, want connection refused", dst, err)
	}
}
