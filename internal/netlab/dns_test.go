package netlab

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestServeDNS(t *testing.T) {
	_, hs := newTestLab(t, "client", "internet")
	client, inet := hs[0], hs[1]
	if err := inet.Announce(netip.MustParsePrefix("203.0.113.0/24")); err != nil {
		t.Fatal(err)
	}
	srv, err := ServeDNS(inet, map[string][]netip.Addr{
		"Example.TEST": {netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("2001:db8::7")},
		"v4only.test.": {netip.MustParseAddr("203.0.113.8")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	type answer struct {
		rcode int
		addrs []netip.Addr
	}
	query := func(network string, server netip.Addr, name string, qtype uint16) answer {
		t.Helper()
		d := client.Dialer()
		d.Timeout = 2 * time.Second
		c, err := d.Dial(network, netip.AddrPortFrom(server, 53).String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), qtype)
		cl := &dns.Client{Net: network, Timeout: 2 * time.Second}
		r, _, err := cl.ExchangeWithConn(m, &dns.Conn{Conn: c})
		if err != nil {
			t.Fatalf("%s %s @%s: %v", network, name, server, err)
		}
		a := answer{rcode: r.Rcode}
		for _, rr := range r.Answer {
			switch rr := rr.(type) {
			case *dns.A:
				ip, _ := netip.AddrFromSlice(rr.A)
				a.addrs = append(a.addrs, ip.Unmap())
			case *dns.AAAA:
				ip, _ := netip.AddrFromSlice(rr.AAAA)
				a.addrs = append(a.addrs, ip)
			}
		}
		return a
	}
	public := netip.MustParseAddr("203.0.113.53")
	for _, tc := range []struct {
		network string
		server  netip.Addr
		name    string
		qtype   uint16
		want    answer
	}{
		{"udp", inet.Addr4(), "example.test", dns.TypeA, answer{dns.RcodeSuccess, []netip.Addr{netip.MustParseAddr("203.0.113.7")}}},
		{"udp", inet.Addr6(), "EXAMPLE.test", dns.TypeAAAA, answer{dns.RcodeSuccess, []netip.Addr{netip.MustParseAddr("2001:db8::7")}}},
		{"tcp", inet.Addr4(), "example.test", dns.TypeAAAA, answer{dns.RcodeSuccess, []netip.Addr{netip.MustParseAddr("2001:db8::7")}}},
		{"udp", public, "v4only.test", dns.TypeA, answer{dns.RcodeSuccess, []netip.Addr{netip.MustParseAddr("203.0.113.8")}}},
		{"tcp", public, "v4only.test", dns.TypeAAAA, answer{dns.RcodeSuccess, nil}},
		{"udp", inet.Addr4(), "nosuch.test", dns.TypeA, answer{dns.RcodeNameError, nil}},
	} {
		got := query(tc.network, tc.server, tc.name, tc.qtype)
		if got.rcode != tc.want.rcode || !slices.Equal(got.addrs, tc.want.addrs) {
			t.Errorf("%s %s %s @%s: got %+v, want %+v", tc.network, tc.name, dns.TypeToString[tc.qtype], tc.server, got, tc.want)
		}
	}

	qs := srv.Queries()
	if len(qs) != 6 {
		t.Fatalf("logged %d queries, want 6: %+v", len(qs), qs)
	}
	wantNets := []string{"udp", "udp", "tcp", "udp", "tcp", "udp"}
	for i, q := range qs {
		if a := q.From.Addr(); a != client.Addr4() && a != client.Addr6() {
			t.Errorf("query %d from %s, want the client", i, q.From)
		}
		if q.Net != wantNets[i] {
			t.Errorf("query %d over %s, want %s", i, q.Net, wantNets[i])
		}
		if q.Time.IsZero() {
			t.Errorf("query %d has no time", i)
		}
	}
	if qs[1].Name != "example.test." || qs[1].Type != dns.TypeAAAA {
		t.Errorf("query 1: %s %s, want example.test. AAAA", qs[1].Name, dns.TypeToString[qs[1].Type])
	}
}

func TestServeDNSRejectsBadRecords(t *testing.T) {
	_, hs := newTestLab(t, "internet")
	for _, recs := range []map[string][]netip.Addr{
		{"": {netip.MustParseAddr("203.0.113.7")}},
		{"bad..name": {netip.MustParseAddr("203.0.113.7")}},
		{"ok.test": {{}}},
	} {
		if s, err := ServeDNS(hs[0], recs); err == nil {
			s.Close()
			t.Errorf("ServeDNS(%v): got no error, want one", recs)
		}
	}
}

// TestDialerUsesHostResolver: a name dialled from a host is resolved with
// the resolver file "ip netns exec" shows the host's processes
// (/etc/netns/NS/resolv.conf), as curl there would, and never with the
// machine's own /etc/resolv.conf, which is none of the lab's business.
func TestDialerUsesHostResolver(t *testing.T) {
	_, hs := newTestLab(t, "client", "other", "dns")
	client, server := hs[0], hs[2]
	srv, err := ServeDNS(server, map[string][]netip.Addr{"www.example.test": {server.Addr4()}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ln, err := server.Listen("tcp", ":8080")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	dir := filepath.Join(etcNetnsDir, client.Namespace())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte("# the client's own\nnameserver "+server.Addr6().String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := client.Dialer()
	d.Timeout = 5 * time.Second
	c, err := d.Dial("tcp", "www.example.test:8080")
	if err != nil {
		t.Fatalf("dial by name with the client's resolver: %v", err)
	}
	c.Close()
	qs := srv.Queries()
	if len(qs) == 0 {
		t.Fatal("the client's resolver got no query")
	}
	for _, q := range qs {
		if q.From.Addr().Unmap() != client.Addr6() {
			t.Errorf("query %s from %v, not from the client", q.Name, q.From)
		}
	}
}
