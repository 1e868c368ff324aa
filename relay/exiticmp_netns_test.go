package relay_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/internal/netlab"
	"github.com/pexia-network/pexia/relay"
)

// TestExitICMPErrors provokes real ICMP errors behind an exit whose
// outside is a network namespace: the lab's router answers destinations
// nobody announced with destination unreachable, and sends packets for
// the web host's prefixes over a 1280-byte link, answering larger ones
// with fragmentation needed (ICMPv6 packet too big). Each error reaches
// the client's stream as an error of the kind a connected UDP socket
// returns, with the echo request's sequence number or the path MTU, and
// the flow goes on. Needs root.
func TestExitICMPErrors(t *testing.T) {
	lab, exitHost, web := exitLab(t, "hopicmp", "198.51.100.0/24", "2001:db8:100::/64")
	for _, p := range []string{"198.51.100.0/24", "2001:db8:100::/64"} {
		if err := lab.LimitMTU(netip.MustParsePrefix(p), 1280); err != nil {
			t.Fatal(err)
		}
	}
	if err := exitHost.Sysctl("net.ipv4.ping_group_range", "0 2147483647"); err != nil {
		t.Fatal(err)
	}
	echo, err := netlab.ServeUDPEcho(web, 7)
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	listen := func(network string) (net.PacketConn, error) {
		var pc net.PacketConn
		err := exitHost.Do(func() (err error) {
			pc, err = relay.ListenPing(network)
			return err
		})
		return pc, err
	}
	exit := hoptest.StartExit(t, relay.NodeConfig{Policy: relay.DefaultExitPolicy(), Dialer: exitHost.Dialer().DialContext, ListenICMP: listen})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := hoptest.Build(t, ctx, []hop.HopInfo{exit.Info}, hop.BuildConfig{})

	// read returns the next datagram of conn, or the error Read gave.
	read := func(conn net.Conn) ([]byte, error) {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4096)
		n, err := conn.Read(buf)
		return buf[:n], err
	}
	// Pings to addresses no one announced: the router's unreachable for
	// each request, with its sequence number; the flow stays open for the
	// next request.
	for _, dst := range []string{"192.0.2.99", "2001:db8:ff::99"} {
		conn, err := c.Dial(ctx, "icmp", dst)
		if err != nil {
			t.Fatalf("icmp stream to %s: %v", dst, err)
		}
		for seq := 1; seq <= 2; seq++ {
			req := fmt.Appendf(binary.BigEndian.AppendUint16(nil, uint16(seq)), "ping %d", seq)
			if _, err := conn.Write(req); err != nil {
				t.Fatal(err)
			}
			_, err := read(conn)
			if !errors.Is(err, syscall.ENETUNREACH) {
				t.Fatalf("ping %s seq %d: %v, want network unreachable", dst, seq, err)
			}
			if want := fmt.Sprintf("seq %d", seq); !strings.Contains(err.Error(), want) {
				t.Fatalf("ping %s seq %d: %v, want the error about %s", dst, seq, err, want)
			}
			t.Logf("ping %s seq %d: %v", dst, seq, err)
		}
		conn.Close()
	}

	// 1400-byte pings over the 1280-byte link: fragmentation needed with
	// the link's MTU for the first; the exit's kernel then fragments, and
	// the next one is answered.
	for _, dst := range []string{"198.51.100.10", "2001:db8:100::10"} {
		conn, err := c.Dial(ctx, "icmp", dst)
		if err != nil {
			t.Fatalf("icmp stream to %s: %v", dst, err)
		}
		req := append(binary.BigEndian.AppendUint16(nil, 1), bytes.Repeat([]byte{'x'}, 1400)...)
		if _, err := conn.Write(req); err != nil {
			t.Fatal(err)
		}
		_, err = read(conn)
		if !errors.Is(err, syscall.EMSGSIZE) || !strings.Contains(err.Error(), "mtu 1280") {
			t.Fatalf("1400-byte ping to %s over a 1280-byte link: %v, want too big with mtu 1280", dst, err)
		}
		t.Logf("ping %s: %v", dst, err)
		binary.BigEndian.PutUint16(req, 2)
		if _, err := conn.Write(req); err != nil {
			t.Fatal(err)
		}
		if got, err := read(conn); err != nil || !bytes.Equal(got, req) {
			t.Fatalf("second 1400-byte ping to %s: %d bytes, %v; want the reply", dst, len(got), err)
		}
		conn.Close()
	}

	// A udp flow over the same link, to another address (the exit's
	// kernel has learnt the path MTU to the first): the first large
	// datagram brings back too big with the MTU and the flow stays open;
	// the exit fragments the next ones, which the web host echoes.
	for _, dst := range []string{"198.51.100.11:7", "[2001:db8:100::11]:7"} {
		conn, err := c.Dial(ctx, "udp", dst)
		if err != nil {
			t.Fatalf("udp stream to %s: %v", dst, err)
		}
		msg := bytes.Repeat([]byte{'u'}, 1400)
		var tooBig error
		for i := 0; i < 10 && tooBig == nil; i++ {
			if _, err := conn.Write(msg); err != nil {
				t.Fatal(err)
			}
			got, err := read(conn)
			switch {
			case errors.Is(err, syscall.EMSGSIZE):
				tooBig = err
			case err != nil && !errors.Is(err, os.ErrDeadlineExceeded):
				t.Fatalf("udp %s: %v, want too big and the flow open", dst, err)
			case err == nil && !bytes.Equal(got, msg):
				t.Fatalf("udp %s: echo of %d bytes", dst, len(got))
			}
		}
		if tooBig == nil || !strings.Contains(tooBig.Error(), "mtu 1280") {
			t.Fatalf("udp %s over a 1280-byte link: %v, want too big with mtu 1280", dst, tooBig)
		}
		t.Logf("udp %s: %v", dst, tooBig)
		if _, err := conn.Write(msg); err != nil {
			t.Fatal(err)
		}
		if got, err := read(conn); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("udp %s after too big: %d bytes, %v; want the echo", dst, len(got), err)
		}
		conn.Close()
	}
}
