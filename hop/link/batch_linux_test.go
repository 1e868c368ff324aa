//go:build linux

package link

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/testutil"
)

// TestWritesBatched: a bulk transfer over a link leaves the socket in
// sendmmsg calls, more than one datagram per call on average, and every
// byte arrives.
func TestWritesBatched(t *testing.T) {
	testutil.CheckGoroutines(t)
	n := newNode(t, ListenConfig{})
	client, server := connect(t, n, DialConfig{})
	a, b := openPair(t, client, server, "bulk")
	calls0, dgrams0, dropped0 := sendStats.calls.Load(), sendStats.datagrams.Load(), sendStats.dropped.Load()
	if err := exchange(a, b, 7, 400); err != nil {
		t.Fatal(err)
	}
	calls, dgrams := sendStats.calls.Load()-calls0, sendStats.datagrams.Load()-dgrams0
	if dropped := sendStats.dropped.Load() - dropped0; dropped != 0 {
		t.Errorf("%d datagrams refused by the kernel", dropped)
	}
	if calls == 0 {
		t.Fatal("no datagram went out through a batch")
	}
	per := float64(dgrams) / float64(calls)
	t.Logf("%d datagrams in %d sendmmsg calls: %.1f per call", dgrams, calls, per)
	if per <= 1 {
		t.Errorf("%.2f datagrams per sendmmsg call during a bulk transfer, want more than 1", per)
	}
}

// TestLoneDatagramSent: a small message with nothing behind it is not
// held back for a batch that never fills: round trips keep completing.
func TestLoneDatagramSent(t *testing.T) {
	testutil.CheckGoroutines(t)
	n := newNode(t, ListenConfig{})
	client, server := connect(t, n, DialConfig{})
	a, b := openPair(t, client, server, "echo")
	buf := make([]byte, 64)
	for i := range 50 {
		msg := []byte{byte(i)}
		if _, err := a.Write(msg); err != nil {
			t.Fatal(err)
		}
		k, err := b.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Write(buf[:k]); err != nil {
			t.Fatal(err)
		}
		if k, err = a.Read(buf); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf[:k], msg) {
			t.Fatalf("round trip %d: got %x, want %x", i, buf[:k], msg)
		}
	}
}

// TestBatchSkipsRefused: a datagram the kernel refuses inside a batch is
// dropped and counted, and the datagrams around it still arrive, in
// order; the dual-stack socket sends to an IPv4 address.
func TestBatchSkipsRefused(t *testing.T) {
	sock, err := listenUDP(":0", 0, testutil.NewLog(t).Logf)
	if err != nil {
		t.Fatal(err)
	}
	c := newBatchConn(sock, 8)
	defer c.Close()
	dst, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	to := dst.LocalAddr().(*net.UDPAddr)
	// Port 0 is refused by sendmmsg (EINVAL) while the others go.
	refused := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 0}
	dropped0 := sendStats.dropped.Load()
	for i := range 8 {
		addr := to
		if i == 3 {
			addr = refused
		}
		var err error
		if i%2 == 0 {
			_, err = c.WriteTo([]byte{byte(i)}, addr)
		} else {
			_, err = c.WriteToAddrPort([]byte{byte(i)}, addr.AddrPort())
		}
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if err := dst.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	var got []byte
	for len(got) < 7 {
		n, err := dst.Read(buf)
		if err != nil {
			t.Fatalf("after %x: %v", got, err)
		}
		got = append(got, buf[:n]...)
	}
	if want := []byte{0, 1, 2, 4, 5, 6, 7}; !bytes.Equal(got, want) {
		t.Errorf("received %x, want %x", got, want)
	}
	if d := sendStats.dropped.Load() - dropped0; d != 1 {
		t.Errorf("%d datagrams counted as refused, want 1", d)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteToAddrPort([]byte{1}, netip.MustParseAddrPort(to.String())); err == nil {
		t.Error("a write after Close succeeded")
	}
}

// TestSCTPPacketSize: both ends of a link send SCTP packets of 1400
// bytes, not pion's default 1191, and the UDP datagrams that carry them
// (DTLS adds its record header, nonce and tag) still fit a 1500-byte
// IPv6 path: at most 1452 bytes of UDP payload.
func TestSCTPPacketSize(t *testing.T) {
	testutil.CheckGoroutines(t)
	n := newNode(t, ListenConfig{})
	client, server := connect(t, n, DialConfig{})
	a, b := openPair(t, client, server, "bulk")
	if err := exchange(a, b, 11, 200); err != nil {
		t.Fatal(err)
	}
	for _, l := range []*Link{client, server} {
		if mtu := l.pc.SCTP().Stats().MTU; mtu < 1400 {
			t.Errorf("SCTP MTU %d, want 1400", mtu)
		}
	}
	largest := sendStats.largest.Load()
	t.Logf("largest datagram sent: %d bytes", largest)
	if largest > 1500-40-8 {
		t.Errorf("a %d-byte datagram does not fit a 1500-byte IPv6 path", largest)
	}
	if largest <= 1191+37 {
		t.Errorf("the largest datagram is %d bytes: the SCTP packets are no larger than pion's default", largest)
	}
}

// TestBatchIgnoresWriteDeadline: a write deadline in the past (ice's mux
// sets one to abort a write whose context ended) does not make the
// flusher drop the datagrams queued meanwhile.
func TestBatchIgnoresWriteDeadline(t *testing.T) {
	sock, err := listenUDP("127.0.0.1:0", 0, testutil.NewLog(t).Logf)
	if err != nil {
		t.Fatal(err)
	}
	c := newBatchConn(sock, 8)
	defer c.Close()
	dst, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if err := c.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	dropped0 := sendStats.dropped.Load()
	for i := range 3 {
		if _, err := c.WriteTo([]byte{byte(i)}, dst.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	if err := dst.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	for i := range 3 {
		n, err := dst.Read(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v (%d dropped)", i, err, sendStats.dropped.Load()-dropped0)
		}
		if n != 1 || buf[0] != byte(i) {
			t.Fatalf("datagram %d: got %x", i, buf[:n])
		}
	}
}
