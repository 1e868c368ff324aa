package netstack

import (
	"bytes"
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pexia-network/pexia/internal/testutil"
)

// exchange sends m on a DNS conn opened in the namespace.
func exchange(t *testing.T, e *env, network string, dst netip.AddrPort, m *dns.Msg) *dns.Msg {
	t.Helper()
	c := e.mustDial(t, network, dst)
	client := &dns.Client{Net: network, Timeout: 5 * time.Second}
	r, _, err := client.ExchangeWithConn(m, &dns.Conn{Conn: c})
	if err != nil {
		t.Fatalf("dns %s %v %s: %v", network, dst, m.Question[0].Name, err)
	}
	return r
}

func query(name string, qtype uint16) *dns.Msg {
	return new(dns.Msg).SetQuestion(name, qtype)
}

func TestDNS(t *testing.T) {
	e := newEnv(t, 1500, Config{})
	servers := []netip.AddrPort{
		netip.MustParseAddrPort("203.0.113.53:53"),
		netip.MustParseAddrPort("[2001:db8:53::53]:53"),
		netip.MustParseAddrPort("10.99.0.1:53"),
	}
	for _, srv := range servers {
		for _, network := range []string{"udp", "tcp"} {
			t.Run(network+"/"+srv.String(), func(t *testing.T) {
				r := exchange(t, e, network, srv, query("www.example.test.", dns.TypeA))
				if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 {
					t.Fatalf("answer: %v", r)
				}
				if a, ok := r.Answer[1].(*dns.A); !ok || a.A.String() != "192.0.2.10" {
					t.Fatalf("answer record %v, want A 192.0.2.10", r.Answer[1])
				}
				r = exchange(t, e, network, srv, query("www.example.test.", dns.TypeAAAA))
				if len(r.Answer) != 2 {
					t.Fatalf("AAAA answer: %v", r)
				}
				r = exchange(t, e, network, srv, query("nothing.test.", dns.TypeA))
				if r.Rcode != dns.RcodeNameError {
					t.Fatalf("rcode %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
				}
				r = exchange(t, e, network, srv, query("fail.test.", dns.TypeA))
				if r.Rcode != dns.RcodeServerFailure {
					t.Fatalf("rcode %s for a failing resolver, want SERVFAIL", dns.RcodeToString[r.Rcode])
				}
				r = exchange(t, e, network, srv, query("big.test.", dns.TypeA))
				if network == "udp" && (!r.Truncated || len(r.Answer) >= 60) {
					t.Fatalf("udp: big answer: truncated %v with %d records, want TC set", r.Truncated, len(r.Answer))
				}
				if network == "tcp" && (r.Truncated || len(r.Answer) != 60) {
					t.Fatalf("tcp: big answer: truncated %v with %d records, want all 60", r.Truncated, len(r.Answer))
				}
			})
		}
	}
	want := []string{"cdn.example.test", "www.example.test"}
	for _, a := range []string{"192.0.2.10", "2001:db8::10"} {
		if got := e.s.Names().Lookup(netip.MustParseAddr(a)); !slices.Equal(got, want) {
			t.Errorf("Names.Lookup(%s) = %v, want %v", a, got, want)
		}
	}
	for _, f := range e.h.dialed() {
		t.Errorf("port 53 reached the dialer: %v", f)
	}
	e.h.mu.Lock()
	dnsFlows := slices.Clone(e.h.dnsFlows)
	e.h.mu.Unlock()
	for _, f := range dnsFlows {
		if f.Dst.Port() != 53 || !slices.Contains(servers, f.Dst) {
			t.Errorf("ResolveDNS got flow %v", f)
		}
	}
	if got, want := e.s.Stats().DNSQueries, uint64(len(servers)*2*5); got != want {
		t.Errorf("DNSQueries = %d, want %d", got, want)
	}
}

func TestDNSTCPPipelined(t *testing.T) {
	e := newEnv(t, 1500, Config{})
	c := e.mustDial(t, "tcp", netip.MustParseAddrPort("198.51.100.53:53"))
	dc := &dns.Conn{Conn: c}
	ids := map[uint16]string{}
	for _, name := range []string{"www.example.test.", "cdn.example.test.", "nothing.test."} {
		m := query(name, dns.TypeA)
		ids[m.Id] = name
		if err := dc.WriteMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for range 3 {
		r, err := dc.ReadMsg()
		if err != nil {
			t.Fatal(err)
		}
		if ids[r.Id] != r.Question[0].Name {
			t.Fatalf("answer id %d for %s, asked %q", r.Id, r.Question[0].Name, ids[r.Id])
		}
		delete(ids, r.Id)
	}
}

func TestDNSMalformed(t *testing.T) {
	e := newEnv(t, 1500, Config{})
	c := e.mustDial(t, "udp", netip.MustParseAddrPort("192.0.2.53:53"))
	garbage := [][]byte{{}, {0x12}, bytes.Repeat([]byte{0xff}, 40), {0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0}}
	for _, g := range garbage {
		c.Write(g)
	}
	// The flow survives and answers the next good query.
	m := query("www.example.test.", dns.TypeA)
	r, _, err := (&dns.Client{Timeout: 5 * time.Second}).ExchangeWithConn(m, &dns.Conn{Conn: c})
	if err != nil || r.Id != m.Id || len(r.Answer) != 2 {
		t.Fatalf("query after garbage: %v, %v", r, err)
	}
	testutil.WaitFor(t, "drops counted", 2*time.Second, func() bool { return e.s.Stats().Drops >= uint64(len(garbage)) })

	// A resolver returning garbage makes a SERVFAIL, not a crash.
	e.h.mu.Lock()
	e.h.resolve = func(context.Context, Flow, []byte) ([]byte, error) { return []byte{1, 2, 3}, nil }
	e.h.mu.Unlock()
	r = exchange(t, e, "tcp", netip.MustParseAddrPort("192.0.2.53:53"), query("x.test.", dns.TypeA))
	if r.Rcode != dns.RcodeServerFailure {
		t.Fatalf("rcode %s for a garbage reply, want SERVFAIL", dns.RcodeToString[r.Rcode])
	}
}
