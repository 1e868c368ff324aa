package netstack

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"regexp"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pexia-network/pexia/internal/icmperr"
	"github.com/pexia-network/pexia/internal/testutil"
)

// TestTCPHostUnreachable: when the upstream of a TCP connection cannot
// reach the host, the app's connect fails with "no route to host"
// (EHOSTUNREACH), as it would on a plain network where a router answers
// the SYN with ICMP host unreachable; a refusal is still a refusal.
func TestTCPHostUnreachable(t *testing.T) {
	e := newEnv(t, 1500, Config{})
	for _, dst := range []netip.Addr{dst4, dst6} {
		start := time.Now()
		c, err := e.dial("tcp", netip.AddrPortFrom(dst, portUnreach))
		if err == nil {
			c.Close()
		}
		if !errors.Is(err, syscall.EHOSTUNREACH) {
			t.Fatalf("connect to %v through an unreachable upstream: %v, want EHOSTUNREACH", dst, err)
		}
		t.Logf("connect to %v: %v after %v", dst, err, time.Since(start).Round(time.Millisecond))
		if _, err := e.dial("tcp", netip.AddrPortFrom(dst, portRefuse)); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("connect to %v refused by the handler: %v, want ECONNREFUSED", dst, err)
		}
	}
}

// TestUDPTooBig: a datagram larger than the tunnel carries gets the app an
// ICMP fragmentation needed (ICMPv6 packet too big) with the tunnel's MTU,
// so a socket doing path MTU discovery learns it (IP_MTU) and gets
// EMSGSIZE, and the flow goes on for datagrams that fit.
func TestUDPTooBig(t *testing.T) {
	e := newEnv(t, 1500, Config{})
	for _, dst := range []netip.Addr{dst4, dst6} {
		c := e.mustDial(t, "udp", netip.AddrPortFrom(dst, portTooBig))
		level, discover, do, mtuOpt := unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DO, unix.IP_MTU
		if dst.Is6() {
			level, discover, do, mtuOpt = unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_DO, unix.IPV6_MTU
		}
		rc, err := c.(*net.UDPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		pathMTU := func() int {
			mtu := 0
			rc.Control(func(fd uintptr) { mtu, _ = unix.GetsockoptInt(int(fd), level, mtuOpt) })
			return mtu
		}
		var serr error
		rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), level, discover, do) })
		if serr != nil {
			t.Fatal(serr)
		}
		before := pathMTU()
		big := bytes.Repeat([]byte{'b'}, 1400)
		var got error
		for i := 0; i < 20 && got == nil; i++ {
			if _, err := c.Write(big); err != nil {
				got = err
				break
			}
			c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			if _, err := c.Read(make([]byte, 2048)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				got = err
			}
		}
		if !errors.Is(got, syscall.EMSGSIZE) || pathMTU() != 1280 {
			t.Fatalf("1400-byte datagram to %v through a 1280-byte tunnel: %v, path MTU %d (was %d); want EMSGSIZE and 1280", dst, got, pathMTU(), before)
		}
		t.Logf("%v: %v, path MTU %d (was %d)", dst, got, pathMTU(), before)
		small := bytes.Repeat([]byte{'s'}, 1000)
		if err := testutil.RoundTrip(c, string(small)); err != nil {
			t.Fatalf("%v: a datagram that fits after the too-big: %v", dst, err)
		}
	}
	testutil.WaitFor(t, "2 ICMP errors counted", 5*time.Second, func() bool { return e.s.Stats().ICMPErrors >= 2 })
}

// errEchoConn answers every echo request with the ICMP error e for its
// sequence number, as the exit reports one from its network.
type errEchoConn struct {
	net.Conn // nil; only the methods below are used
	e        icmperr.Error
	seqs     chan uint16
	done     chan struct{}
}

func (c *errEchoConn) Write(p []byte) (int, error) {
	select {
	case c.seqs <- binary.BigEndian.Uint16(p):
	default:
	}
	return len(p), nil
}

func (c *errEchoConn) Read(p []byte) (int, error) {
	select {
	case seq := <-c.seqs:
		e := c.e
		e.Seq = seq
		return 0, &e
	case <-c.done:
		return 0, net.ErrClosed
	}
}

func (c *errEchoConn) Close() error {
	select {
	case <-c.done:
	default:
		close(c.done)
	}
	return nil
}

// TestEchoErrors runs the system's ping through an upstream that answers
// with ICMP errors: ping shows each request's error (unreachable, or too
// big with the MTU) as from a router, and counts them as errors, not as
// lost packets.
func TestEchoErrors(t *testing.T) {
	e := echoEnv(t)
	for _, tc := range []struct {
		err   icmperr.Error
		args  []string
		want  string // in ping's output, IPv4 and IPv6
		want6 string
	}{
		{icmperr.Error{Type: icmperr.NetUnreachable}, nil, `icmp_seq=2 Destination Net Unreachable`, `icmp_seq=2 Destination unreachable: No route`},
		{icmperr.Error{Type: icmperr.HostUnreachable}, nil, `icmp_seq=2 Destination Host Unreachable`, `icmp_seq=2 Destination unreachable: Address unreachable`},
		{icmperr.Error{Type: icmperr.TooBig, MTU: 1280}, []string{"-M", "do", "-s", "1300"}, `Frag needed and DF set \(mtu = 1280\)`, `Packet too big: mtu=1280`},
	} {
		e.h.setDialEcho(func(ctx context.Context, f Flow) (net.Conn, error) {
			return &errEchoConn{e: tc.err, seqs: make(chan uint16, 16), done: make(chan struct{})}, nil
		})
		for _, dst := range []netip.Addr{dst4, dst6} {
			args := append([]string{"-c", "3", "-i", "0.2", "-W", "2", "-n"}, tc.args...)
			out, _ := e.ping(t, append(args, dst.String())...)
			want := tc.want
			if dst.Is6() {
				want = tc.want6
			}
			if !regexp.MustCompile(want).MatchString(out) || !regexp.MustCompile(`\+\d+ errors`).MatchString(out) {
				t.Fatalf("ping %v %v: want %q and errors counted:\n%s", dst, tc.args, want, out)
			}
			t.Logf("ping %v %v:\n%s", dst, tc.args, out)
		}
		e.s.CloseFlows()
	}
}
