package netstack

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"golang.zx2c4.com/wireguard/tun/tuntest"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// These tests need no root: the TUN is wireguard's in-memory channel
// device, so the Stack runs its generic path, and packets are built and
// parsed by hand.

func TestNewConfigErrors(t *testing.T) {
	h := &testHandler{}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no handler", Config{}, "Handler is required"},
		{"mtu mismatch", Config{Handler: h, MTU: 1500}, "does not match the device mtu 1420"},
		{"negative timeout", Config{Handler: h, UDPIdleTimeout: -time.Second}, "negative timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := tuntest.NewChannelTUN()
			defer ct.TUN().Close()
			s, err := New(ct.TUN(), tt.cfg)
			if err == nil {
				s.Close()
				t.Fatalf("New succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error %q, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := New(nil, Config{Handler: h}); err == nil {
		t.Error("New(nil device) succeeded")
	}
}

// udp4 builds an IPv4/UDP packet with valid checksums.
func udp4(src, dst netip.AddrPort, payload []byte) []byte {
	pkt := make([]byte, header.IPv4MinimumSize+header.UDPMinimumSize+len(payload))
	ip := header.IPv4(pkt)
	ip.Encode(&header.IPv4Fields{
		TotalLength: uint16(len(pkt)),
		TTL:         64,
		Protocol:    uint8(header.UDPProtocolNumber),
		SrcAddr:     tcpip.AddrFrom4(src.Addr().As4()),
		DstAddr:     tcpip.AddrFrom4(dst.Addr().As4()),
	})
	ip.SetChecksum(^ip.CalculateChecksum())
	u := header.UDP(pkt[header.IPv4MinimumSize:])
	u.Encode(&header.UDPFields{SrcPort: src.Port(), DstPort: dst.Port(), Length: uint16(header.UDPMinimumSize + len(payload))})
	copy(u.Payload(), payload)
	xsum := header.PseudoHeaderChecksum(header.UDPProtocolNumber, ip.SourceAddress(), ip.DestinationAddress(), u.Length())
	u.SetChecksum(^u.CalculateChecksum(checksum.Checksum(payload, xsum)))
	return pkt
}

func TestChannelTUNDNS(t *testing.T) {
	ct := tuntest.NewChannelTUN()
	s, err := New(ct.TUN(), Config{Handler: &testHandler{}, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	app := netip.MustParseAddrPort("10.0.0.2:40000")
	resolver := netip.MustParseAddrPort("192.0.2.53:53")
	ct.Outbound <- []byte{0x70, 1, 2, 3} // not IP
	q := new(dns.Msg).SetQuestion("www.example.test.", dns.TypeA)
	wire, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	ct.Outbound <- udp4(app, resolver, wire)

	deadline := time.After(5 * time.Second)
	for {
		var pkt []byte
		select {
		case pkt = <-ct.Inbound:
		case <-deadline:
			t.Fatal("no DNS answer came out of the TUN")
		}
		if header.IPVersion(pkt) != header.IPv4Version {
			continue // IPv6 housekeeping
		}
		ip := header.IPv4(pkt)
		if ip.TransportProtocol() != header.UDPProtocolNumber {
			continue
		}
		u := header.UDP(ip.Payload())
		if got := netip.AddrPortFrom(netip.AddrFrom4(ip.SourceAddress().As4()), u.SourcePort()); got != resolver {
			t.Fatalf("answer from %v, want %v", got, resolver)
		}
		if got := netip.AddrPortFrom(netip.AddrFrom4(ip.DestinationAddress().As4()), u.DestinationPort()); got != app {
			t.Fatalf("answer to %v, want %v", got, app)
		}
		var r dns.Msg
		if err := r.Unpack(u.Payload()); err != nil {
			t.Fatalf("answer does not parse: %v", err)
		}
		if r.Id != q.Id || len(r.Answer) != 2 {
			t.Fatalf("answer %v", &r)
		}
		break
	}
	if got := s.Names().Lookup(netip.MustParseAddr("192.0.2.10")); len(got) != 2 {
		t.Errorf("Names.Lookup = %v, want the two names", got)
	}
	if st := s.Stats(); st.Drops < 1 || st.DNSQueries != 1 || st.PacketsIn != 2 {
		t.Errorf("stats %+v: want at least one drop, one DNS query, two packets in", st)
	}
	done := make(chan struct{})
	go func() { // the writer may still be handing out packets
		for {
			select {
			case <-ct.Inbound:
			case <-done:
				return
			}
		}
	}()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	close(done)
}
