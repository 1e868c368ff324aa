//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"regexp"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pexia-network/pexia/internal/netlab"
	"github.com/pexia-network/pexia/internal/world"
)

// TestICMPErrors provokes real ICMP errors behind the exit and checks that
// the client's apps see them as on a plain network, over 1 and 3 hops:
//   - ping to an address nobody announced: the lab's router answers
//     "network unreachable", and ping prints it;
//   - a TCP connect to such an address fails with "no route to host"
//     (EHOSTUNREACH), not "connection refused";
//   - the internet host's prefixes sit behind a 1280-byte link: a UDP
//     socket doing path MTU discovery learns 1280 and gets EMSGSIZE, and
//     `ping -M do -s 1300` prints "Frag needed and DF set (mtu = 1280)"
//     (ICMPv6: "Packet too big: mtu=1280").
func TestICMPErrors(t *testing.T) {
	w := pingWorld(t)
	for _, p := range []netip.Prefix{world.WebNet4, world.WebNet6} {
		if err := w.Lab.LimitMTU(p, 1280); err != nil {
			t.Fatal(err)
		}
	}
	nowhere := []netip.Addr{netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("2001:db8:1::1")}
	overHops(t, w, func(t *testing.T, hops int) {
		for _, dst := range nowhere {
			// The router limits its ICMP errors (two at once, then one
			// every two seconds for each source), as routers do: a
			// request may get no answer at all, never a reply.
			want := `From \S+ icmp_seq=\d Destination Net Unreachable`
			if dst.Is6() {
				want = `From \S+ icmp_seq=\d Destination unreachable: No route`
			}
			out := pingOut(t, w.Client, dst, "-c", "3", "-i", "1")
			if !regexp.MustCompile(want).MatchString(out) || !regexp.MustCompile(` 0 received, \+\d errors`).MatchString(out) {
				t.Fatalf("ping %v through %d hops: want %q, and errors counted:\n%s", dst, hops, want, out)
			}
			t.Logf("ping %v through %d hops:\n%s", dst, hops, out)

			var err error
			start := time.Now()
			w.Client.Do(func() error {
				var c net.Conn
				d := net.Dialer{Timeout: 30 * time.Second}
				if c, err = d.Dial("tcp", netip.AddrPortFrom(dst, 80).String()); err == nil {
					c.Close()
				}
				return nil
			})
			if !errors.Is(err, syscall.EHOSTUNREACH) {
				t.Fatalf("connect to %v:80 through %d hops: %v, want no route to host", dst, hops, err)
			}
			t.Logf("connect to %v:80: %v after %v", dst, err, time.Since(start).Round(time.Millisecond))
		}
		// Addresses of the internet host this subtest alone uses, so
		// no kernel on the way has learnt their path MTU before.
		for _, p := range []netip.Prefix{world.WebNet4, world.WebNet6} {
			dst := nth(p, 20+hops)
			// 1350 bytes fit the TUN (1420) with either IP header.
			mtu, err := udpPathMTU(t, w.Client, netip.AddrPortFrom(dst, uint16(world.EchoPort)), 1350)
			if !errors.Is(err, syscall.EMSGSIZE) || mtu != 1280 {
				t.Fatalf("udp to %v over a 1280-byte link, %d hops: %v, path MTU %d; want EMSGSIZE and 1280", dst, hops, err, mtu)
			}
			t.Logf("udp to %v through %d hops: %v, path MTU %d", dst, hops, err, mtu)
			dst = nth(p, 30+hops)
			want := `From \S+ icmp_seq=1 Frag needed and DF set \(mtu = 1280\)`
			if dst.Is6() {
				want = `From \S+ icmp_seq=1 Packet too big: mtu=1280`
			}
			out := pingOut(t, w.Client, dst, "-c", "2", "-i", "0.2", "-M", "do", "-s", "1300")
			if !regexp.MustCompile(want).MatchString(out) {
				t.Fatalf("ping -M do -s 1300 %v through %d hops: want %q:\n%s", dst, hops, want, out)
			}
			t.Logf("ping -M do -s 1300 %v through %d hops:\n%s", dst, hops, out)
		}
	})
}

// pingOut runs ping in h and returns its output whatever it exits with.
func pingOut(t *testing.T, h *netlab.Host, dst netip.Addr, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args = append(append([]string{"-W", "3", "-n"}, args...), dst.String())
	if dst.Is6() {
		args = append([]string{"-6"}, args...)
	}
	out, _ := h.Command(ctx, "ping", args...).CombinedOutput()
	return string(out)
}

// udpPathMTU sends datagrams of size bytes from a socket in h with path
// MTU discovery on (don't fragment) to dst until one fails, and returns
// the error and the path MTU the socket then knows.
func udpPathMTU(t *testing.T, h *netlab.Host, dst netip.AddrPort, size int) (int, error) {
	t.Helper()
	var c *net.UDPConn
	if err := h.Do(func() (err error) {
		c, err = net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	level, discover, do, mtuOpt := unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DO, unix.IP_MTU
	if dst.Addr().Is6() {
		level, discover, do, mtuOpt = unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_DO, unix.IPV6_MTU
	}
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(fd uintptr) { err = unix.SetsockoptInt(int(fd), level, discover, do) })
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte{'m'}, size)
	var got error
	for i := 0; i < 50 && got == nil; i++ {
		if _, err := c.Write(big); err != nil {
			got = err
			break
		}
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := c.Read(make([]byte, size+1)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			got = err
		}
	}
	mtu := 0
	rc.Control(func(fd uintptr) { mtu, _ = unix.GetsockoptInt(int(fd), level, mtuOpt) })
	return mtu, got
}

// nth is the n-th address of p.
func nth(p netip.Prefix, n int) netip.Addr {
	a := p.Addr()
	for range n {
		a = a.Next()
	}
	return a
}
