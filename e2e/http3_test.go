//go:build e2e

package e2e

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/netlab"
	"github.com/pexia-network/pexia/internal/world"
)

// h3Size is the length of each HTTP/3 download over IPv4: large enough
// for QUIC's congestion control to leave slow start and fill the circuit,
// small enough to keep each case to seconds on two busy cores. h3Size6 is
// the length of the IPv6 download, which shows that path works; the IPv4
// one measures.
const (
	h3Size  = 8 << 20
	h3Size6 = 2 << 20
)

// pexiadTUN is the TUN device pexiad makes (its -tun default).
const pexiadTUN = "pexia0"

// TestHTTP3 runs an HTTP/3 client (h3get: quic-go's, as a program) in the
// client host against the internet host's HTTP/3 server: over the bare
// veth, then through the tunnel over 1 and 3 hops, where its QUIC packets
// are UDP datagrams through pexiad's TUN and the circuit. The server sees
// the exit's address over IPv4 and IPv6, each download matches its
// SHA-256, and it came in through the TUN.
func TestHTTP3(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	bctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	err := w.BuildH3Get(bctx, "..")
	cancel()
	if err != nil {
		t.Fatal(err)
	}

	bare := h3Download(t, w, "bare veth", world.Web4, h3Size)
	h3Download(t, w, "bare veth", world.Web6, h3Size6)
	if got := h3IP(t, w, world.Web4); got != w.Client.Addr4() {
		t.Fatalf("bare veth: the HTTP/3 server saw %v, want the client %v", got, w.Client.Addr4())
	}

	d, err := w.StartDaemon(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	cl := api.NewClient(d.Socket)
	for _, hops := range []int{1, 3} {
		t.Run(fmt.Sprintf("%dhop", hops), func(t *testing.T) {
			c := connect(t, cl, hops)
			exit := hostOf(w, c.Hops[len(c.Hops)-1].Host)
			if exit == nil {
				t.Fatalf("exit %s is no host of the lab", c.Hops[len(c.Hops)-1].Host)
			}
			for _, dst := range []netip.Addr{world.Web4, world.Web6} {
				want := exit.Addr4()
				if dst.Is6() {
					want = exit.Addr6()
				}
				if got := h3IP(t, w, dst); got != want {
					t.Fatalf("%d hops: the HTTP/3 server at %v saw %v, not the exit %v", hops, dst, got, want)
				}
			}
			rx0 := tunRx(t, w)
			r := h3Download(t, w, fmt.Sprintf("%d hops", hops), world.Web4, h3Size)
			h3Download(t, w, fmt.Sprintf("%d hops", hops), world.Web6, h3Size6)
			// The downloads came in through pexiad's TUN.
			if rx := tunRx(t, w) - rx0; rx < h3Size+h3Size6 {
				t.Fatalf("%d hops: %d bytes came in through the TUN during downloads of %d bytes", hops, rx, h3Size+h3Size6)
			}
			t.Logf("%d hops: %.2f of the bare veth's %.1f Mbit/s", hops, r.Mbps()/bare.Mbps(), bare.Mbps())
			st, err := cl.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// The flow may be gone already: datagrams of the server's
			// that arrive after h3get closed its socket meet a closed
			// port, and the port unreachable ends the flow.
			for _, f := range st.UDPFlows {
				if f.Destination == netip.AddrPortFrom(world.Web4, 443).String() {
					t.Logf("%d hops: flow to %s: %d datagrams sent, %d received, %d dropped up, %d dropped down",
						hops, f.Destination, f.Sent, f.Received, f.DroppedUp, f.DroppedDown)
				}
			}
		})
	}
	if _, err := cl.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	// The exits count a flow's drops when it ends: with the circuits.
	for _, exit := range w.Exits {
		t.Logf("%s: %s", exit.Name(), exitDatagramDrops(t, exit))
	}
}

// tunRx reads how many bytes pexiad has written to the client host
// through its TUN.
func tunRx(t *testing.T, w *world.World) uint64 {
	t.Helper()
	out, err := w.Client.Command(context.Background(), "cat", "/sys/class/net/"+pexiadTUN+"/statistics/rx_bytes").CombinedOutput()
	if err != nil {
		t.Fatalf("%s statistics: %v: %s", pexiadTUN, err, out)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		t.Fatalf("%s rx_bytes %q: %v", pexiadTUN, out, err)
	}
	return n
}

// h3Download fetches n bytes over HTTP/3 from the server at dst in the
// client host and checks their SHA-256.
func h3Download(t *testing.T, w *world.World, what string, dst netip.Addr, n int64) world.H3Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r, err := w.H3Download(ctx, w.Client, fmt.Sprintf("https://%s/bytes/%d", netip.AddrPortFrom(dst, 443), n))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	want := netlab.BytesSHA256(n)
	if r.Bytes != n || r.SHA256 != hex.EncodeToString(want[:]) {
		t.Fatalf("%s: %d bytes from %v with sha256 %s, want %d bytes with %x", what, r.Bytes, dst, r.SHA256, n, want)
	}
	t.Logf("%s: %d MiB from %v over %s in %.2f s (%.1f Mbit/s)", what, r.Bytes>>20, dst, r.Proto, r.Seconds, r.Mbps())
	return r
}

// h3IP asks the HTTP/3 server at dst which address it sees.
func h3IP(t *testing.T, w *world.World, dst netip.Addr) netip.Addr {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := w.H3Get(ctx, w.Client, "https://"+netip.AddrPortFrom(dst, 443).String()+"/ip")
	if err != nil {
		t.Fatal(err)
	}
	a, err := netip.ParseAddr(string(out))
	if err != nil {
		t.Fatalf("HTTP/3 /ip at %v: %q", dst, out)
	}
	return a
}

// exitDatagramDrops returns the exit node's counts of datagrams its UDP
// flows dropped (pexia_node_datagrams_dropped_total at its metrics
// address), for the log.
func exitDatagramDrops(t *testing.T, exit *netlab.Host) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exit.Command(ctx, "curl", "-sS", "--fail", "http://127.0.0.1:9478/metrics").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("no metrics: %v: %s", err, out)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "pexia_node_datagrams_dropped_total") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "; ")
}
