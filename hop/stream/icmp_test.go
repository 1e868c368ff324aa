package stream

import (
	"bytes"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/icmperr"
	"github.com/pexia-network/pexia/internal/testutil"
)

// TestICMPFrames: the exit reports ICMP errors on udp and icmp flows; the
// client's Read returns each once, as the errno a connected UDP socket
// would give, with the MTU or the echo request's sequence number, and the
// flow goes on carrying datagrams both ways. A client cannot send one.
func TestICMPFrames(t *testing.T) {
	p := newPair(t, Config{}, Config{}, pipeOpts{})
	flows := make(chan *Stream, 2)
	p.serve(func(r *Request) { flows <- accept(r) })
	for _, tc := range []struct {
		network, addr string
		e             icmperr.Error
		errno         error
	}{
		{"udp", "192.0.2.1:443", icmperr.Error{Type: icmperr.TooBig, MTU: 1280}, syscall.EMSGSIZE},
		{"icmp", "192.0.2.1", icmperr.Error{Type: icmperr.HostUnreachable, Seq: 7}, syscall.EHOSTUNREACH},
		{"icmp", "2001:db8::1", icmperr.Error{Type: icmperr.NetUnreachable, Seq: 65535}, syscall.ENETUNREACH},
		{"udp", "192.0.2.1:53", icmperr.Error{Type: 99}, nil},
	} {
		c := dial(t, p.client, tc.network, tc.addr)
		s := <-flows
		if err := s.SendICMP(tc.e); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write([]byte("after")); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 64)
		_, err := c.Read(buf)
		var ie *icmperr.Error
		if !errors.As(err, &ie) || *ie != tc.e || (tc.errno != nil && !errors.Is(err, tc.errno)) {
			t.Fatalf("%s %s: Read: %v, want %+v matching %v", tc.network, tc.addr, err, tc.e, tc.errno)
		}
		n, err := c.Read(buf)
		if err != nil || !bytes.Equal(buf[:n], []byte("after")) {
			t.Fatalf("%s %s: Read after the ICMP error: %q, %v", tc.network, tc.addr, buf[:n], err)
		}
		if _, err := c.Write([]byte("up")); err != nil {
			t.Fatalf("%s %s: Write after the ICMP error: %v", tc.network, tc.addr, err)
		}
		s.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := s.Read(buf); err != nil || string(buf[:n]) != "up" {
			t.Fatalf("%s %s: exit read %q, %v", tc.network, tc.addr, buf[:n], err)
		}
		if err := c.SendICMP(tc.e); !errors.Is(err, ErrNotSupported) {
			t.Fatalf("client SendICMP: %v, want ErrNotSupported", err)
		}
		c.Close()
	}
	tcp := dial(t, p.client, "tcp", "192.0.2.1:80")
	defer tcp.Close()
	if err := (<-flows).SendICMP(icmperr.Error{Type: icmperr.TooBig, MTU: 1280}); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("SendICMP on a tcp stream: %v, want ErrNotSupported", err)
	}
}

// TestICMPFrameMalformed: an ICMP or DROPPED frame sent to the exit, on a
// tcp stream, or of the wrong length breaks the protocol.
func TestICMPFrameMalformed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		role  Role
		kind  Kind
		frame []byte
	}{
		{"ICMP to the server", RoleServer, KindUDP, fHdr(frameICMP, 1, 1, 0, 0, 0, 0, 5, 0)},
		{"DROPPED to the server", RoleServer, KindUDP, fHdr(frameDropped, 1, make([]byte, 16)...)},
		{"ICMP on a tcp stream", RoleClient, KindTCP, fHdr(frameICMP, 1, 1, 0, 0, 0, 0, 5, 0)},
		{"short ICMP", RoleClient, KindUDP, fHdr(frameICMP, 1, 1, 0, 0)},
		{"long DROPPED", RoleClient, KindUDP, fHdr(frameDropped, 1, make([]byte, 17)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rec recorder
			m, err := New(Config{Role: tc.role}, rec.send)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close(nil)
			if tc.role == RoleServer {
				if err := m.Deliver(fOpen(1, tc.kind, 1<<16, "192.0.2.1:9")); err != nil {
					t.Fatal(err)
				}
				acceptAll(t, m)
			} else {
				go m.DialStream(t.Context(), tc.kind.Network(), "192.0.2.1:9")
				rec.waitFrame(t, frameOpen, 1)
				if err := m.Deliver(fU32(frameOpened, 1, 1<<16)); err != nil {
					t.Fatal(err)
				}
			}
			if err := m.Deliver(tc.frame); !errors.Is(err, ErrProtocol) {
				t.Fatalf("Deliver: %v, want a protocol violation", err)
			}
		})
	}
}

// TestDroppedReported: datagrams the exit drops on their way to the
// client (its queue for the flow is full) and on their way from it (its
// side does not read) reach the client's FlowStats within a moment, and
// the final counts arrive after the drops stop.
func TestDroppedReported(t *testing.T) {
	p := newPair(t, Config{}, Config{DatagramQueue: 4}, pipeOpts{rate: 100_000})
	flows := make(chan *Stream, 1)
	p.serve(func(r *Request) { flows <- accept(r) })
	c := dial(t, p.client, "udp", "192.0.2.1:443")
	s := <-flows
	big := make([]byte, p.server.MaxDatagram())
	for range 200 {
		s.Write(big) // far more than 100 kB/s carries: most are dropped
	}
	for range 50 {
		c.Write([]byte("never read"))
	}
	var want FlowStats
	testutil.WaitFor(t, "the exit's drops counted at the client", 20*time.Second, func() bool {
		want = s.FlowStats()
		got := c.FlowStats()
		return want.DroppedOut > 0 && want.DroppedIn > 0 && got.PeerDroppedOut == want.DroppedOut && got.PeerDroppedIn == want.DroppedIn
	})
	t.Logf("exit dropped %d down and %d up; the client shows %+v", want.DroppedOut, want.DroppedIn, c.FlowStats())
}
