package netstack

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/pexia-network/pexia/internal/testutil"
)

// The upstream of echo flows in these tests: a namespace of its own whose
// loopback answers pings, reached through unprivileged ping sockets (as an
// exit sends them). The handler sends every echo flow to its loopback,
// whatever the destination.

// upstreamNS makes a namespace with loopback up and ping sockets allowed
// to every group.
func upstreamNS(t *testing.T) netns.NsHandle {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	err = func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := netlink.LinkSetUp(lo); err != nil {
			return err
		}
		return os.WriteFile("/proc/sys/net/ipv4/ping_group_range", []byte("0 2147483647"), 0o644)
	}()
	if serr := netns.Set(orig); serr != nil {
		runtime.LockOSThread() // the thread stays in ns and dies with the goroutine
		t.Fatal(serr)
	}
	if err != nil {
		ns.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

// pingConn is an echo connection over a ping socket: Write sends
// sequence(2) ‖ data as an echo request to dst, Read returns the replies
// from dst in the same form.
type pingConn struct {
	net.Conn // nil; only the methods below are used
	pc       *icmp.PacketConn
	dst      *net.UDPAddr
	v6       bool
}

func (c *pingConn) Write(p []byte) (int, error) {
	typ := icmp.Type(ipv4.ICMPTypeEcho)
	if c.v6 {
		typ = ipv6.ICMPTypeEchoRequest
	}
	m := icmp.Message{Type: typ, Body: &icmp.Echo{Seq: int(binary.BigEndian.Uint16(p)), Data: p[2:]}}
	b, err := m.Marshal(nil)
	if err != nil {
		return 0, err
	}
	if _, err := c.pc.WriteTo(b, c.dst); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *pingConn) Read(p []byte) (int, error) {
	proto := 1
	if c.v6 {
		proto = 58
	}
	buf := make([]byte, 65535)
	for {
		n, from, err := c.pc.ReadFrom(buf)
		if err != nil {
			return 0, err
		}
		if !from.(*net.UDPAddr).IP.Equal(c.dst.IP) {
			continue
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil {
			continue
		}
		e, ok := m.Body.(*icmp.Echo)
		if !ok || (m.Type != ipv4.ICMPTypeEchoReply && m.Type != ipv6.ICMPTypeEchoReply) {
			continue
		}
		binary.BigEndian.PutUint16(p, uint16(e.Seq))
		return 2 + copy(p[2:], e.Data), nil
	}
}

func (c *pingConn) Close() error { return c.pc.Close() }

// echoEnv is an env whose handler carries echo flows to upstreamNS.
func echoEnv(t *testing.T) *env {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and a TUN device")
	}
	up := upstreamNS(t)
	e := newEnv(t, 1500, Config{})
	e.h.setDialEcho(func(ctx context.Context, f Flow) (net.Conn, error) {
		network, addr, dst := "udp4", "0.0.0.0", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
		if f.Dst.Addr().Is6() {
			network, addr, dst = "udp6", "::", &net.UDPAddr{IP: net.IPv6loopback}
		}
		var pc *icmp.PacketConn
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		orig, err := netns.Get()
		if err != nil {
			return nil, err
		}
		defer orig.Close()
		if err := netns.Set(up); err != nil {
			return nil, err
		}
		pc, err = icmp.ListenPacket(network, addr)
		if serr := netns.Set(orig); serr != nil {
			runtime.LockOSThread() // leave the thread locked: it dies
			return nil, serr
		}
		if err != nil {
			return nil, err
		}
		return &pingConn{pc: pc, dst: dst, v6: f.Dst.Addr().Is6()}, nil
	})
	return e
}

// TestEchoThroughHandler sends echo requests from a raw socket in the
// app's namespace and checks each reply: from the address pinged, with the
// app's identifier, sequence number and data, and only after the upstream
// really answered (a destination the upstream cannot reach gets no reply).
func TestEchoThroughHandler(t *testing.T) {
	e := echoEnv(t)
	for _, dst := range []netip.Addr{dst4, dst6} {
		t.Run(dst.String(), func(t *testing.T) {
			network, proto := "ip4:icmp", 1
			reqType, replyType := icmp.Type(ipv4.ICMPTypeEcho), icmp.Type(ipv4.ICMPTypeEchoReply)
			if dst.Is6() {
				network, proto = "ip6:ipv6-icmp", 58
				reqType, replyType = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
			}
			var pc *icmp.PacketConn
			if err := e.inNS(func() (err error) {
				pc, err = icmp.ListenPacket(network, "")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			const id = 0xbeef
			for seq := 1; seq <= 5; seq++ {
				data := []byte(fmt.Sprintf("pexia echo %d to %v", seq, dst))
				m := icmp.Message{Type: reqType, Body: &icmp.Echo{ID: id, Seq: seq, Data: data}}
				var psh []byte
				if dst.Is6() {
					psh = icmp.IPv6PseudoHeader(app6.AsSlice(), dst.AsSlice())
				}
				b, err := m.Marshal(psh)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := pc.WriteTo(b, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
					t.Fatal(err)
				}
				pc.SetReadDeadline(time.Now().Add(10 * time.Second))
				for {
					buf := make([]byte, 1500)
					n, from, err := pc.ReadFrom(buf)
					if err != nil {
						t.Fatalf("seq %d: no echo reply from %v: %v", seq, dst, err)
					}
					r, err := icmp.ParseMessage(proto, buf[:n])
					if err != nil || r.Type != replyType {
						continue // our own request, or other ICMP
					}
					if got := from.(*net.IPAddr).IP; !got.Equal(dst.AsSlice()) {
						t.Fatalf("reply from %v, want %v", got, dst)
					}
					echo := r.Body.(*icmp.Echo)
					if echo.ID != id || echo.Seq != seq || !bytes.Equal(echo.Data, data) {
						t.Fatalf("reply id %#x seq %d data %q, want %#x %d %q", echo.ID, echo.Seq, echo.Data, id, seq, data)
					}
					break
				}
			}
		})
	}
	// A reply is counted just after it is queued for the TUN.
	testutil.WaitFor(t, "10 echo replies counted", 5*time.Second, func() bool { return e.s.Stats().EchoReplies >= 10 })
	if st := e.s.Stats(); st.EchoTotal != 2 {
		t.Errorf("stats: %d echo flows, want 2", st.EchoTotal)
	}
}

// TestEchoNoFakeReplies: when the upstream gets no answer, the app gets
// none either.
func TestEchoNoFakeReplies(t *testing.T) {
	e := echoEnv(t)
	// The upstream sends to an address nothing in its namespace answers.
	inner := e.h.dialEcho
	e.h.setDialEcho(func(ctx context.Context, f Flow) (net.Conn, error) {
		c, err := inner(ctx, f)
		if err == nil {
			c.(*pingConn).dst = &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1)}
		}
		return c, err
	})
	out, err := e.ping(t, "-c", "3", "-i", "0.2", "-W", "1", dst4.String())
	if err == nil || !regexp.MustCompile(`100% packet loss`).MatchString(out) {
		t.Fatalf("ping to an unanswering upstream: %v\n%s", err, out)
	}
}

// TestEchoPing runs the system's ping in the app's namespace.
func TestEchoPing(t *testing.T) {
	e := echoEnv(t)
	for _, dst := range []netip.Addr{dst4, dst6} {
		out, err := e.ping(t, "-c", "5", "-i", "0.2", "-W", "5", dst.String())
		if err != nil {
			t.Fatalf("ping %v: %v\n%s", dst, err, out)
		}
		if !regexp.MustCompile(`\b0% packet loss`).MatchString(out) {
			t.Fatalf("ping %v lost packets:\n%s", dst, out)
		}
		m := regexp.MustCompile(`rtt min/avg/max/mdev = ([0-9.]+)/([0-9.]+)/`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("ping %v reported no round trip:\n%s", dst, out)
		}
		if avg, _ := strconv.ParseFloat(m[2], 64); avg <= 0 {
			t.Fatalf("ping %v: average rtt %s ms", dst, m[2])
		}
		t.Logf("ping %v through the stack: rtt min/avg %s/%s ms", dst, m[1], m[2])
	}
}

// TestEchoPingFragmented: ping -s 3000 (and -6) through a TUN of MTU
// 1500: the requests reach the stack in fragments, which are put together
// before they go to the echo flow, and the replies, larger than the MTU,
// are written to the TUN in fragments that the app's kernel reassembles.
func TestEchoPingFragmented(t *testing.T) {
	e := echoEnv(t)
	for _, dst := range []netip.Addr{dst4, dst6} {
		out, err := e.ping(t, "-c", "3", "-i", "0.2", "-W", "5", "-s", "3000", dst.String())
		if err != nil || !regexp.MustCompile(`\b0% packet loss`).MatchString(out) {
			t.Fatalf("ping -s 3000 %v: %v\n%s", dst, err, out)
		}
		if !strings.Contains(out, "3008 bytes from") {
			t.Fatalf("ping -s 3000 %v: no whole reply of 3008 bytes:\n%s", dst, out)
		}
	}
	if st := e.s.Stats(); st.EchoReplies < 6 {
		t.Errorf("stats: %d echo replies, want 6", st.EchoReplies)
	}
}

// TestReassembleFragments: the fragments of an echo request put together
// in any order, duplicates included, give back the packet; fragment
// splits a packet so that each piece fits the MTU and they reassemble.
func TestReassembleFragments(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		k := echoKey{src: netip.MustParseAddr("10.0.0.2"), dst: netip.MustParseAddr("10.0.0.1"), id: 7}
		if v6 {
			k = echoKey{src: netip.MustParseAddr("fd00::2"), dst: netip.MustParseAddr("fd00::1"), id: 7}
		}
		msg := make([]byte, 5000)
		for i := range msg {
			msg[i] = byte(i * 7)
		}
		// An echo reply from k.dst to k.src is a packet of the same
		// form; turn it into a request from the app.
		pkt := echoReply(echoKey{src: k.dst, dst: k.src, id: k.id}, msg)
		if v6 {
			pkt[40] = 128
		} else {
			pkt[20] = 8
		}
		frags := fragment(pkt, 1280, 99)
		if len(frags) < 4 {
			t.Fatalf("v6 %v: %d fragments of a %d-byte packet at MTU 1280", v6, len(frags), len(pkt))
		}
		for _, f := range frags {
			if len(f) > 1280 {
				t.Fatalf("v6 %v: fragment of %d bytes, MTU 1280", v6, len(f))
			}
		}
		r := reassembler{now: time.Now}
		order := []int{len(frags) - 1, 2, 0, 2} // out of order, one twice
		for i := 1; i < len(frags)-1; i++ {
			if i != 2 {
				order = append(order, i)
			}
		}
		var whole []byte
		for i, j := range order {
			w, taken := r.add(frags[j])
			if !taken {
				t.Fatalf("v6 %v: fragment %d not taken", v6, j)
			}
			if w != nil && i != len(order)-1 {
				t.Fatalf("v6 %v: packet complete after %d of %d fragments", v6, i+1, len(order))
			}
			whole = w
		}
		got, gotMsg, ok := isEchoRequest(whole)
		if !ok || got != k || !bytes.Equal(gotMsg, msg) {
			t.Fatalf("v6 %v: reassembled %d bytes: request %v (%v) with %d bytes of message, want %v with %d", v6, len(whole), ok, got, len(gotMsg), k, len(msg))
		}
		if len(r.pkts) != 0 || r.bytes != 0 {
			t.Fatalf("v6 %v: %d packets, %d bytes left in the reassembler", v6, len(r.pkts), r.bytes)
		}
		if _, taken := r.add(pkt); taken {
			t.Fatalf("v6 %v: an unfragmented packet was taken as a fragment", v6)
		}
	}
}

// ping runs ping(8) in the app's namespace.
func (e *env) ping(t *testing.T, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("ping(8) is not installed (Debian: iputils-ping)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nsPath := fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), int(e.ns))
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + nsPath, "ping"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestUDPUnreachable: the upstream of a UDP flow reports port unreachable
// (a real loopback socket whose destination port is closed, which the
// kernel answers with ICMP); the app's connected UDP socket gets
// "connection refused", as on a plain network.
func TestUDPUnreachable(t *testing.T) {
	e := newEnv(t, 1500, Config{})
	for _, dst := range []netip.Addr{dst4, dst6} {
		c := e.mustDial(t, "udp", netip.AddrPortFrom(dst, portClosed))
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
			t.Fatalf("udp to a closed port at %v: %v, want connection refused", dst, err)
		}
	}
	testutil.WaitFor(t, "2 ICMP errors counted", 5*time.Second, func() bool { return e.s.Stats().ICMPErrors >= 2 })
}
