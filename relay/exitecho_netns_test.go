package relay_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/stream"
	"github.com/pexia-network/pexia/relay"
)

// TestExitEcho runs an exit whose outside is a network namespace (with a
// public address of its own, 203.0.113.7) next to a "web" host owning
// 198.51.100.0/24 and 2001:db8:100::/64, whose kernel answers pings. The
// exit sends an icmp stream's echo requests from unprivileged ping sockets
// in its namespace and returns the web host's replies with their sequence
// numbers and data; its own address and private networks are refused by
// the default policy, and without ping_group_range the stream is refused
// as unsupported with a clear error. A udp flow to a closed port is reset
// with the reason that the destination refused it. Needs root.
func TestExitEcho(t *testing.T) {
	_, exitHost, _ := exitLab(t, "hopecho", "198.51.100.0/24", "2001:db8:100::/64")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// Before the sysctl: the namespace's default range admits no group.
	var listenErr error
	exitHost.Do(func() error {
		pc, err := relay.ListenPing("udp4")
		if err == nil {
			pc.Close()
		}
		listenErr = err
		return nil
	})
	if !errors.Is(listenErr, relay.ErrPingNotPermitted) {
		t.Fatalf("ping socket without ping_group_range: %v, want ErrPingNotPermitted", listenErr)
	}
	t.Logf("without ping_group_range: %v", listenErr)

	listen := func(network string) (net.PacketConn, error) {
		var pc net.PacketConn
		err := exitHost.Do(func() (err error) {
			pc, err = relay.ListenPing(network)
			return err
		})
		return pc, err
	}
	exit := hoptest.StartExit(t, relay.NodeConfig{Policy: relay.DefaultExitPolicy(), Dialer: exitHost.Dialer().DialContext, ListenICMP: listen})
	c := hoptest.Build(t, ctx, []hop.HopInfo{exit.Info}, hop.BuildConfig{})

	if _, err := c.Dial(ctx, "icmp", "198.51.100.10"); !isRefused(err, stream.ReasonUnsupported) {
		t.Fatalf("icmp stream while ping sockets are not permitted: %v, want refused as unsupported", err)
	}
	if err := exitHost.Sysctl("net.ipv4.ping_group_range", "0 2147483647"); err != nil {
		t.Fatal(err)
	}

	for _, dst := range []string{"198.51.100.10", "2001:db8:100::10"} {
		conn, err := c.Dial(ctx, "icmp", dst)
		if err != nil {
			t.Fatalf("icmp stream to %s: %v", dst, err)
		}
		for seq := 1; seq <= 3; seq++ {
			req := binary.BigEndian.AppendUint16(nil, uint16(seq))
			req = fmt.Appendf(req, "echo %d to %s", seq, dst)
			start := time.Now()
			if _, err := conn.Write(req); err != nil {
				t.Fatal(err)
			}
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, 1500)
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatalf("%s seq %d: no reply: %v", dst, seq, err)
			}
			if !bytes.Equal(buf[:n], req) {
				t.Fatalf("%s: reply %q, want %q", dst, buf[:n], req)
			}
			t.Logf("%s seq %d: %v", dst, seq, time.Since(start))
		}
		conn.Close()
	}

	refused := []string{
		"203.0.113.7",             // the exit's public address
		exitHost.Addr4().String(), // its lab address
		"127.0.0.1",               // loopback
		"10.1.2.3",                // private, by the default policy
		"::1",                     // loopback
		"fe80::1%eth0",            // a zone: the client does not pick the exit's interfaces
		"www.example.test",        // names are not pinged
		"198.51.100.10:7",         // an address only
		exitHost.Addr6().String(), // its lab address
		"[2001:db8:100::10]",      // an address only, no brackets
		"::ffff:127.0.0.1",        // mapped loopback
		"0.0.0.0",                 // unspecified reaches the exit itself
		"224.0.0.1",               // multicast
		"2001:db8:100::10%1",      // a zone again
		"198.51.100.10 ",          // trailing space
	}
	for _, dst := range refused {
		conn, err := c.Dial(ctx, "icmp", dst)
		if !isRefused(err, stream.ReasonPolicy) {
			if conn != nil {
				conn.Close()
			}
			t.Errorf("icmp stream to %q: %v, want refused by policy", dst, err)
		}
	}

	// A udp flow to a port nothing listens on: the web host answers with
	// ICMP port unreachable, and the exit resets the stream with the
	// reason that says so, for the client to tell its app.
	for _, dst := range []string{"198.51.100.10:9", "[2001:db8:100::10]:9"} {
		conn, err := c.Dial(ctx, "udp", dst)
		if err != nil {
			t.Fatalf("udp stream to %s: %v", dst, err)
		}
		var rerr error
		for i := 0; i < 50 && rerr == nil; i++ {
			conn.Write([]byte("anyone?"))
			conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			_, rerr = conn.Read(make([]byte, 64))
			if errors.Is(rerr, os.ErrDeadlineExceeded) {
				rerr = nil
			}
		}
		var re *stream.ResetError
		if !errors.As(rerr, &re) || !re.Remote || re.Reason != stream.ReasonConnectFailed {
			t.Fatalf("udp to a closed port %s: %v, want a reset by the exit with reason %v", dst, rerr, stream.ReasonConnectFailed)
		}
		conn.Close()
	}
}
