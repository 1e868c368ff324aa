package netlab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// DNSQuery is one question the DNS server was asked.
type DNSQuery struct {
	Time time.Time
	From netip.AddrPort // the asker, as the server saw it
	Net  string         // "udp" or "tcp"
	Name string         // lower case, fully qualified ("example.com.")
	Type uint16         // dns.TypeA, dns.TypeAAAA, …
}

// DNSServer answers A and AAAA queries from a fixed table on port 53 (UDP
// and TCP) of every address of a host, and logs every query.
type DNSServer struct {
	records map[string][]netip.Addr
	servers []*dns.Server

	mu      sync.Mutex // guards queries
	queries []DNSQuery
}

// ServeDNS serves records (name to addresses; names need not end in a dot,
// case does not matter) on the host's wildcard address, port 53, over UDP
// and TCP. It answers A with the name's IPv4 addresses and AAAA with its
// IPv6 ones, other types of a known name with no answer, and unknown names
// with NXDOMAIN.
func ServeDNS(h *Host, records map[string][]netip.Addr) (*DNSServer, error) {
	s := &DNSServer{records: map[string][]netip.Addr{}}
	for name, addrs := range records {
		if _, ok := dns.IsDomainName(name); !ok || name == "" {
			return nil, fmt.Errorf("netlab: dns: invalid name %q", name)
		}
		for _, a := range addrs {
			if !a.IsValid() {
				return nil, fmt.Errorf("netlab: dns: %s: invalid address", name)
			}
		}
		key := strings.ToLower(dns.Fqdn(name))
		s.records[key] = append(s.records[key], addrs...)
	}
	pc, err := h.ListenPacket("udp", ":53")
	if err != nil {
		return nil, fmt.Errorf("netlab: %s: dns: %w", h.name, err)
	}
	ln, err := h.Listen("tcp", ":53")
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("netlab: %s: dns: %w", h.name, err)
	}
	handler := dns.HandlerFunc(s.answer)
	for _, srv := range []*dns.Server{
		{PacketConn: pc, Handler: handler},
		{Listener: ln, Handler: handler},
	} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		failed := make(chan error, 1)
		go func() { failed <- srv.ActivateAndServe() }()
		select {
		case <-started:
			s.servers = append(s.servers, srv)
		case err := <-failed:
			pc.Close()
			ln.Close()
			return nil, errors.Join(fmt.Errorf("netlab: %s: dns: %w", h.name, err), s.Close())
		}
	}
	return s, nil
}

func (s *DNSServer) answer(w dns.ResponseWriter, req *dns.Msg) {
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.Authoritative = true
	from, _ := netip.ParseAddrPort(w.RemoteAddr().String())
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	network := "udp"
	if _, ok := w.RemoteAddr().(*net.TCPAddr); ok {
		network = "tcp"
	}
	for _, q := range req.Question {
		name := strings.ToLower(q.Name)
		s.mu.Lock()
		s.queries = append(s.queries, DNSQuery{Time: time.Now(), From: from, Net: network, Name: name, Type: q.Qtype})
		s.mu.Unlock()
		addrs, ok := s.records[name]
		if !ok {
			resp.Rcode = dns.RcodeNameError
			continue
		}
		hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Ttl: 60}
		for _, a := range addrs {
			a = a.Unmap()
			switch {
			case q.Qtype == dns.TypeA && a.Is4():
				hdr.Rrtype = dns.TypeA
				resp.Answer = append(resp.Answer, &dns.A{Hdr: hdr, A: a.AsSlice()})
			case q.Qtype == dns.TypeAAAA && a.Is6():
				hdr.Rrtype = dns.TypeAAAA
				resp.Answer = append(resp.Answer, &dns.AAAA{Hdr: hdr, AAAA: a.AsSlice()})
			}
		}
	}
	_ = w.WriteMsg(resp)
}

// Queries returns every query received so far, oldest first.
func (s *DNSServer) Queries() []DNSQuery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.queries)
}

// Close stops the server.
func (s *DNSServer) Close() error {
	var errs []error
	for _, srv := range s.servers {
		errs = append(errs, srv.Shutdown())
	}
	s.servers = nil
	return errors.Join(errs...)
}
