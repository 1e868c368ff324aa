package netstack

import (
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func reply(qname string, rrs ...dns.RR) *dns.Msg {
	m := new(dns.Msg).SetQuestion(qname, dns.TypeA)
	r := new(dns.Msg).SetReply(m)
	r.Answer = rrs
	return r
}

func a(name, ip string, ttl uint32) *dns.A {
	return &dns.A{Hdr: hdr(name, dns.TypeA, ttl), A: net.ParseIP(ip)}
}

func aaaa(name, ip string, ttl uint32) *dns.AAAA {
	return &dns.AAAA{Hdr: hdr(name, dns.TypeAAAA, ttl), AAAA: net.ParseIP(ip)}
}

func cname(name, target string, ttl uint32) *dns.CNAME {
	return &dns.CNAME{Hdr: hdr(name, dns.TypeCNAME, ttl), Target: target}
}

func TestNamesObserve(t *testing.T) {
	tests := []struct {
		name string
		msg  *dns.Msg
		addr string
		want []string
	}{
		{"plain A", reply("Example.COM.", a("example.com.", "192.0.2.1", 300)), "192.0.2.1", []string{"example.com"}},
		{"AAAA", reply("v6.test.", aaaa("v6.test.", "2001:db8::1", 300)), "2001:db8::1", []string{"v6.test"}},
		{"v4-mapped lookup", reply("m.test.", a("m.test.", "192.0.2.9", 300)), "::ffff:192.0.2.9", []string{"m.test"}},
		{"CNAME chain", reply("www.a.test.",
			cname("www.a.test.", "edge.b.test.", 300),
			cname("edge.b.test.", "node.c.test.", 300),
			a("node.c.test.", "192.0.2.2", 300)),
			"192.0.2.2", []string{"edge.b.test", "node.c.test", "www.a.test"}},
		{"record not reached from the question", reply("q.test.",
			a("q.test.", "192.0.2.3", 300),
			a("other.test.", "192.0.2.4", 300)),
			"192.0.2.4", nil},
		{"CNAME loop", reply("loop.test.",
			cname("loop.test.", "loop2.test.", 300),
			cname("loop2.test.", "loop.test.", 300),
			a("loop2.test.", "192.0.2.5", 300)),
			"192.0.2.5", []string{"loop.test", "loop2.test"}},
		{"NXDOMAIN ignored", func() *dns.Msg {
			m := reply("nx.test.", a("nx.test.", "192.0.2.6", 300))
			m.Rcode = dns.RcodeNameError
			return m
		}(), "192.0.2.6", nil},
		{"query ignored", new(dns.Msg).SetQuestion("q.test.", dns.TypeA), "192.0.2.7", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNames((&fakeClock{t: time.Unix(1e9, 0)}).now)
			n.observe(tt.msg)
			if got := n.Lookup(netip.MustParseAddr(tt.addr)); !slices.Equal(got, tt.want) {
				t.Errorf("Lookup(%s) = %v, want %v", tt.addr, got, tt.want)
			}
		})
	}
}

func TestNamesTTL(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	n := newNames(clk.now)
	ip := netip.MustParseAddr("192.0.2.1")
	n.observe(reply("short.test.", a("short.test.", "192.0.2.1", 5)))                                      // floored to NamesMinTTL
	n.observe(reply("long.test.", a("long.test.", "192.0.2.1", 7*24*3600)))                                // capped to NamesMaxTTL
	n.observe(reply("via.test.", cname("via.test.", "mid.test.", 120), a("mid.test.", "192.0.2.1", 3600))) // chain: min TTL

	check := func(when string, want ...string) {
		t.Helper()
		if got := n.Lookup(ip); !slices.Equal(got, want) {
			t.Errorf("%s: Lookup = %v, want %v", when, got, want)
		}
	}
	check("at once", "long.test", "mid.test", "short.test", "via.test")
	clk.advance(NamesMinTTL - time.Second)
	check("before the floor", "long.test", "mid.test", "short.test", "via.test")
	clk.advance(2 * time.Second)
	check("after the floor", "long.test", "mid.test", "via.test")
	clk.advance(120 * time.Second)
	check("after the chain's TTL", "long.test", "mid.test")
	clk.advance(time.Hour)
	check("after the record's TTL", "long.test")
	clk.advance(NamesMaxTTL)
	check("after the cap")

	// A fresh answer extends an entry, an older one does not shorten it.
	n.observe(reply("x.test.", a("x.test.", "192.0.2.1", 600)))
	n.observe(reply("x.test.", a("x.test.", "192.0.2.1", 60)))
	clk.advance(300 * time.Second)
	check("refreshed", "x.test")
}

func TestNamesBounds(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	n := newNames(clk.now)
	ip := netip.MustParseAddr("192.0.2.1")
	for i := range maxNamesPerAddr + 5 {
		n.observe(reply("n.test.", cname("n.test.", "t"+string(rune('a'+i))+".test.", uint32(100+i)), a("t"+string(rune('a'+i))+".test.", "192.0.2.1", uint32(100+i))))
		clk.advance(time.Millisecond)
	}
	if got := len(n.Lookup(ip)); got != maxNamesPerAddr {
		t.Errorf("names per address: %d, want %d", got, maxNamesPerAddr)
	}

	addrN := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) }
	for i := range NamesMaxAddrs + 10 {
		addr := addrN(i)
		n.observe(reply("many.test.", a("many.test.", addr.String(), uint32(60+i%1000))))
	}
	if got := n.Len(); got > NamesMaxAddrs {
		t.Errorf("Len = %d after overflow, want at most %d", got, NamesMaxAddrs)
	}
	// The newest entry survived the pruning.
	last := addrN(NamesMaxAddrs + 9)
	if got := n.Lookup(last); len(got) != 1 {
		t.Errorf("Lookup(%v) = %v after pruning, want [many.test]", last, got)
	}
}
