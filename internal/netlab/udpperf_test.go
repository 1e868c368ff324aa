package netlab

import (
	"context"
	"net/netip"
	"os/exec"
	"testing"
	"time"
)

// TestUDP sends paced streams both ways over veth, to the host's own
// address and to an announced one: at a rate veth carries with ease every
// datagram arrives and is counted once, at the rate asked.
func TestUDP(t *testing.T) {
	_, hs := newTestLab(t, "client", "internet")
	client, inet := hs[0], hs[1]
	if err := inet.Announce(netip.MustParsePrefix("203.0.113.0/24")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, dst := range []netip.Addr{{}, netip.MustParseAddr("203.0.113.10")} {
		for _, dir := range []UDPDirection{UDPUp, UDPDown} {
			r, err := UDP(ctx, client, inet, dst, UDPOptions{Dir: dir, Mbps: 20, Duration: 500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("to %v: %v", r.Server, r)
			// 20 Mbit/s of 1200-byte datagrams for 0.5 s: 1042.
			if r.Sent < 1000 || r.Sent > 1100 || r.SendErrors != 0 {
				t.Errorf("%v %v: sent %d (%d refused), want about 1042", dst, dir, r.Sent, r.SendErrors)
			}
			if r.Received != r.Sent || r.Duplicates != 0 || r.SocketDrops != 0 {
				t.Errorf("%v %v: %v, want every datagram once", dst, dir, r)
			}
			if m := r.SentMbps(); m < 18 || m > 22 {
				t.Errorf("%v %v: sent at %.1f Mbit/s, asked 20", dst, dir, m)
			}
			if want := netip.AddrPortFrom(dst, r.Server.Port()); dst.IsValid() && r.Server != want {
				t.Errorf("server address %v, want %v", r.Server, want)
			}
		}
	}
	if _, err := UDP(ctx, client, inet, netip.Addr{}, UDPOptions{Mbps: 0, Duration: time.Second}); err == nil {
		t.Error("UDP at 0 Mbit/s: got no error, want one")
	}
}

// TestUDPCapacity finds the rate of a link limited with a token bucket
// (tc tbf) to 20 Mbit/s, and the stream above it loses what the bucket
// drops.
func TestUDPCapacity(t *testing.T) {
	if _, err := exec.LookPath("tc"); err != nil {
		t.Skip("needs tc (iproute2)")
	}
	_, hs := newTestLab(t, "client", "internet")
	client, inet := hs[0], hs[1]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := client.Command(ctx, "tc", "qdisc", "add", "dev", HostInterface, "root", "tbf",
		"rate", "20mbit", "burst", "32kb", "latency", "20ms").CombinedOutput(); err != nil {
		t.Skipf("tc tbf: %v: %s", err, out)
	}
	capacity, steps, err := UDPCapacity(ctx, client, inet, netip.Addr{}, UDPOptions{Mbps: 5, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		t.Log(s)
	}
	// 1200 bytes of payload ride in 1242-byte frames: 19.3 Mbit/s of
	// payload at most; the bucket's burst adds a little at the start.
	if capacity < 15 || capacity > 22 {
		t.Errorf("capacity %.1f Mbit/s, want about 19.3", capacity)
	}
	if last := steps[len(steps)-1]; last.LossPct() <= 10 || last.OfferedMbps < 20 {
		t.Errorf("last step %v: want the first to lose more than 10 %%, above 20 Mbit/s", last)
	}
	if first := steps[0]; first.Lost() != 0 {
		t.Errorf("at 5 Mbit/s: %v, want no loss", first)
	}
}
