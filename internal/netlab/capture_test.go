package netlab

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/testutil"
)

// frame builds an Ethernet frame carrying payload.
func frame(etherType uint16, payload []byte) []byte {
	b := make([]byte, 14, 14+len(payload))
	binary.BigEndian.PutUint16(b[12:], etherType)
	return append(b, payload...)
}

func ipv4Header(proto byte, src, dst string, fragOffset uint16) []byte {
	h := make([]byte, 20)
	h[0] = 0x45
	h[9] = proto
	binary.BigEndian.PutUint16(h[6:], fragOffset)
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	return h
}

func ipv6Header(next byte, src, dst string) []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	h[6] = next
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return h
}

func ports(src, dst uint16, extra ...byte) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint16(b, src)
	binary.BigEndian.PutUint16(b[2:], dst)
	return append(b, extra...)
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestParseFrame(t *testing.T) {
	tcpSyn := ports(40000, 443, make([]byte, 10)...)
	tcpSyn[13] = TCPSyn
	hopByHop := []byte{ProtoICMPv6, 0, 5, 2, 0, 0, 1, 0} // router alert
	arp := make([]byte, 28)
	arp[4], arp[5] = 6, 4
	copy(arp[14:], []byte{10, 77, 0, 2})
	copy(arp[24:], []byte{10, 77, 0, 1})
	for _, tc := range []struct {
		name  string
		frame []byte
		want  Packet
		ctl   bool
	}{
		{
			"ipv4 udp",
			frame(EtherTypeIPv4, cat(ipv4Header(ProtoUDP, "10.77.0.2", "203.0.113.7", 0), ports(5353, 53))),
			Packet{EtherType: EtherTypeIPv4, Src: netip.MustParseAddr("10.77.0.2"), Dst: netip.MustParseAddr("203.0.113.7"), Proto: ProtoUDP, SrcPort: 5353, DstPort: 53},
			false,
		},
		{
			"ipv4 later fragment has no ports",
			frame(EtherTypeIPv4, cat(ipv4Header(ProtoUDP, "10.77.0.2", "203.0.113.7", 185), ports(5353, 53))),
			Packet{EtherType: EtherTypeIPv4, Src: netip.MustParseAddr("10.77.0.2"), Dst: netip.MustParseAddr("203.0.113.7"), Proto: ProtoUDP},
			false,
		},
		{
			"ipv6 tcp syn",
			frame(EtherTypeIPv6, cat(ipv6Header(ProtoTCP, "fd77::2", "2001:db8::7"), tcpSyn)),
			Packet{EtherType: EtherTypeIPv6, Src: netip.MustParseAddr("fd77::2"), Dst: netip.MustParseAddr("2001:db8::7"), Proto: ProtoTCP, SrcPort: 40000, DstPort: 443, TCPFlags: TCPSyn},
			false,
		},
		{
			"ipv6 mld report behind hop-by-hop options",
			frame(EtherTypeIPv6, cat(ipv6Header(0, "fe80::1", "ff02::16"), hopByHop, []byte{143, 0, 0, 0})),
			Packet{EtherType: EtherTypeIPv6, Src: netip.MustParseAddr("fe80::1"), Dst: netip.MustParseAddr("ff02::16"), Proto: ProtoICMPv6, ICMPType: 143},
			true,
		},
		{
			"ipv6 echo request is traffic",
			frame(EtherTypeIPv6, cat(ipv6Header(ProtoICMPv6, "fd77::2", "fd77::3"), []byte{128, 0, 0, 0})),
			Packet{EtherType: EtherTypeIPv6, Src: netip.MustParseAddr("fd77::2"), Dst: netip.MustParseAddr("fd77::3"), Proto: ProtoICMPv6, ICMPType: 128},
			false,
		},
		{
			"ipv6 first fragment",
			frame(EtherTypeIPv6, cat(ipv6Header(44, "fd77::2", "fd77::3"), []byte{ProtoUDP, 0, 0, 1, 0, 0, 0, 9}, ports(1000, 2000))),
			Packet{EtherType: EtherTypeIPv6, Src: netip.MustParseAddr("fd77::2"), Dst: netip.MustParseAddr("fd77::3"), Proto: ProtoUDP, SrcPort: 1000, DstPort: 2000},
			false,
		},
		{
			"arp",
			frame(EtherTypeARP, arp),
			Packet{EtherType: EtherTypeARP, Src: netip.MustParseAddr("10.77.0.2"), Dst: netip.MustParseAddr("10.77.0.1")},
			true,
		},
		{"runt", []byte{1, 2, 3}, Packet{}, false},
		{"truncated ipv4", frame(EtherTypeIPv4, []byte{0x45, 0}), Packet{EtherType: EtherTypeIPv4}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseFrame(tc.frame, len(tc.frame))
			tc.want.Len = len(tc.frame)
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			if got.LinkControl() != tc.ctl {
				t.Errorf("LinkControl() = %v, want %v", got.LinkControl(), tc.ctl)
			}
			_ = got.String()
		})
	}
}

func TestCaptureSeesExactlyTheTraffic(t *testing.T) {
	_, hs := newTestLab(t, "client", "internet")
	client, inet := hs[0], hs[1]
	if err := inet.Announce(netip.MustParsePrefix("203.0.113.0/24")); err != nil {
		t.Fatal(err)
	}
	echo, err := ServeUDPEcho(inet, 7)
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	ln, err := inet.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	testutil.Serve(t, ln, testutil.ServeEcho)

	capture, err := client.Capture(HostInterface)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	// One UDP round trip per family, then a leak-like datagram to a public
	// address, then one TCP connection.
	var local []netip.AddrPort
	for _, dst := range []netip.Addr{inet.Addr4(), inet.Addr6(), netip.MustParseAddr("203.0.113.9")} {
		c, err := client.Dialer().Dial("udp", netip.AddrPortFrom(dst, 7).String())
		if err != nil {
			t.Fatal(err)
		}
		exchange(t, c, "ping "+dst.String())
		local = append(local, netip.MustParseAddrPort(c.LocalAddr().String()))
		c.Close()
	}
	tc, err := client.Dialer().Dial("tcp", netip.AddrPortFrom(inet.Addr4(), 80).String())
	if err != nil {
		t.Fatal(err)
	}
	exchange(t, tc, "tcp")
	tcpLocal := netip.MustParseAddrPort(tc.LocalAddr().String())
	pkts := capture.Stop()
	tc.Close()
	if err := capture.Err(); err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		t.Log(p)
	}

	traffic := pkts.Traffic()
	var udp, tcp Packets
	for _, p := range traffic {
		switch p.Proto {
		case ProtoUDP:
			udp = append(udp, p)
		case ProtoTCP:
			tcp = append(tcp, p)
		default:
			t.Errorf("unexpected packet %v", p)
		}
		if p.Time.Before(start.Add(-time.Second)) || p.Time.After(time.Now()) {
			t.Errorf("packet time %v outside the test", p.Time)
		}
	}
	wantUDP := []struct {
		out      bool
		src, dst netip.AddrPort
	}{
		{true, local[0], netip.AddrPortFrom(inet.Addr4(), 7)},
		{false, netip.AddrPortFrom(inet.Addr4(), 7), local[0]},
		{true, local[1], netip.AddrPortFrom(inet.Addr6(), 7)},
		{false, netip.AddrPortFrom(inet.Addr6(), 7), local[1]},
		{true, local[2], netip.MustParseAddrPort("203.0.113.9:7")},
		{false, netip.MustParseAddrPort("203.0.113.9:7"), local[2]},
	}
	if len(udp) != len(wantUDP) {
		t.Fatalf("got %d UDP packets, want %d", len(udp), len(wantUDP))
	}
	for i, w := range wantUDP {
		p := udp[i]
		src, dst := netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort)
		if p.Outgoing != w.out || src != w.src || dst != w.dst {
			t.Errorf("UDP packet %d: %v, want out=%v %s > %s", i, p, w.out, w.src, w.dst)
		}
	}
	// The TCP connection: one SYN out, one SYN-ACK in, all on its 4-tuple.
	var syns, synAcks int
	for _, p := range tcp {
		src, dst := netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort)
		if p.Outgoing && (src != tcpLocal || dst.Port() != 80) || !p.Outgoing && (dst != tcpLocal || src.Port() != 80) {
			t.Errorf("TCP packet off the connection: %v", p)
		}
		if p.TCPFlags&(TCPSyn|TCPAck) == TCPSyn && p.Outgoing {
			syns++
		}
		if p.TCPFlags&(TCPSyn|TCPAck) == TCPSyn|TCPAck && !p.Outgoing {
			synAcks++
		}
	}
	if syns != 1 || synAcks != 1 {
		t.Errorf("got %d SYN and %d SYN-ACK, want 1 and 1", syns, synAcks)
	}
	// The leak check a client test makes: everything but the allowed peer.
	leaks := traffic.Without(inet.Addr4(), inet.Addr6())
	if len(leaks) != 2 || leaks[0].Dst != netip.MustParseAddr("203.0.113.9") {
		t.Errorf("leaks: %v, want the two packets to and from 203.0.113.9", leaks)
	}
	if n := len(traffic.With(inet.Addr6())); n != 2 {
		t.Errorf("got %d packets with %s, want 2", n, inet.Addr6())
	}

	// Stop is idempotent and a stopped capture records nothing more.
	if again := capture.Stop(); len(again) != len(pkts) {
		t.Errorf("second Stop: %d packets, want %d", len(again), len(pkts))
	}
}

func TestCaptureRejectsUnknownInterface(t *testing.T) {
	_, hs := newTestLab(t, "a")
	if _, err := hs[0].Capture("nosuch0"); err == nil {
		t.Error("Capture(nosuch0): got no error, want one")
	}
}
