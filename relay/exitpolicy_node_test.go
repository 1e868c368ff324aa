package relay_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/stream"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/relay"
)

// rebindDNS is a real DNS server (UDP, 127.0.0.1) with fixed A records; it
// returns a resolver that asks only it.
func rebindDNS(t *testing.T, records map[string][]string) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, qq := range q.Question {
			ips, ok := records[strings.TrimSuffix(qq.Name, ".")]
			if !ok {
				m.Rcode = dns.RcodeNameError
			}
			for _, ip := range ips {
				a := netip.MustParseAddr(ip)
				switch {
				case qq.Qtype == dns.TypeA && a.Is4():
					m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: qq.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1}, A: a.AsSlice()})
				case qq.Qtype == dns.TypeAAAA && a.Is6():
					m.Answer = append(m.Answer, &dns.AAAA{Hdr: dns.RR_Header{Name: qq.Name, Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: 1}, AAAA: a.AsSlice()})
				}
			}
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	addr := pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

// TestExitPolicyEnforced: the exit applies its policy to the address it
// dials, for literal addresses and for names however they resolve, and a
// refused stream is answered at once with the policy reason.
func TestExitPolicyEnforced(t *testing.T) {
	allowedPort, otherPort, udpPort := int(testutil.EchoTCP(t, "127.0.0.1:0").Port()), int(testutil.EchoTCP(t, "127.0.0.1:0").Port()), int(testutil.EchoUDP(t, "127.0.0.1:0").Port())
	// Only these two loopback services are allowed; the rest is the
	// default policy, which refuses loopback.
	policy, err := relay.ParseExitPolicy("accept tcp 127.0.0.1:" + itoa(allowedPort) + "; accept udp 127.0.0.1:" + itoa(udpPort) + "\n" + relay.DefaultExitPolicyText)
	if err != nil {
		t.Fatal(err)
	}
	res := rebindDNS(t, map[string][]string{
		"rebind.test": {"127.0.0.1"},
		"inside.test": {"10.1.2.3", "::1"},
		// A refused address first: the exit must skip it (10.255.255.1 is
		// never dialled, or the dial would hang) and use the allowed one.
		"mixed.test": {"10.255.255.1", "127.0.0.1"},
	})
	stats := new(relay.NodeStats)
	exit := hoptest.StartExit(t, relay.NodeConfig{
		Policy:  policy,
		Stats:   stats,
		Resolve: func(ctx context.Context, host string) ([]netip.Addr, error) { return res.LookupNetIP(ctx, "ip", host) },
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := hoptest.Build(t, ctx, []hop.HopInfo{exit.Info}, hop.BuildConfig{})

	echo := func(network, addr string) error {
		conn, err := c.Dial(ctx, network, addr)
		if err != nil {
			return err
		}
		defer conn.Close()
		msg := []byte("ping " + addr)
		if _, err := conn.Write(msg); err != nil {
			return err
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(conn, got); err != nil {
			return err
		}
		if string(got) != string(msg) {
			return errors.New("echo corrupted")
		}
		return nil
	}
	for _, addr := range []string{"127.0.0.1:" + itoa(allowedPort), "[::ffff:127.0.0.1]:" + itoa(allowedPort), "mixed.test:" + itoa(allowedPort)} {
		if err := echo("tcp", addr); err != nil {
			t.Errorf("tcp %s: %v", addr, err)
		}
	}
	if err := echo("udp", "127.0.0.1:"+itoa(udpPort)); err != nil {
		t.Errorf("udp: %v", err)
	}

	refused := []struct{ network, addr string }{
		{"tcp", "127.0.0.1:" + itoa(otherPort)},
		{"tcp", "127.0.0.2:" + itoa(allowedPort)},
		{"tcp", "[::ffff:127.0.0.1]:" + itoa(otherPort)},
		{"tcp", "0.0.0.0:" + itoa(allowedPort)},
		{"tcp", "[::]:" + itoa(allowedPort)},
		{"tcp", "[::1]:" + itoa(allowedPort)},
		{"tcp", "[fe80::1%lo]:" + itoa(allowedPort)},
		{"tcp", "rebind.test:" + itoa(otherPort)},
		{"tcp", "inside.test:" + itoa(allowedPort)},
		{"udp", "rebind.test:53"},
		{"udp", "127.0.0.1:" + itoa(allowedPort)},
		{"tcp", "127.0.0.1:" + itoa(udpPort)},
		{"tcp", "192.168.1.1:80"},
		{"tcp", "93.184.216.34:25"},
	}
	for _, r := range refused {
		start := time.Now()
		conn, err := c.Dial(ctx, r.network, r.addr)
		var re *stream.RefusedError
		if !errors.As(err, &re) || re.Reason != stream.ReasonPolicy {
			if conn != nil {
				conn.Close()
			}
			t.Errorf("%s %s: got %v, want refused by exit policy", r.network, r.addr, err)
			continue
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s %s: refusal took %v", r.network, r.addr, d)
		}
	}
	if err := echo("tcp", "nosuch.test:80"); !isRefused(err, stream.ReasonDNS) {
		t.Errorf("unknown name: got %v, want a DNS refusal", err)
	}
	// The circuit survives refusals.
	if err := echo("tcp", "127.0.0.1:"+itoa(allowedPort)); err != nil {
		t.Errorf("after refusals: %v", err)
	}
	snap := stats.Snapshot()
	if got := snap.StreamsRefused[stream.ReasonPolicy]; got != uint64(len(refused)) {
		t.Errorf("stats: %d streams refused by policy, want %d", got, len(refused))
	}
	if snap.StreamsTotal != 5 {
		t.Errorf("stats: %d streams served, want 5", snap.StreamsTotal)
	}
}

func isRefused(err error, reason stream.Reason) bool {
	var re *stream.RefusedError
	return errors.As(err, &re) && re.Reason == reason
}

func itoa(n int) string { return strconv.Itoa(n) }
