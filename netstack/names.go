package netstack

import (
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Bounds of the Names table.
const (
	// NamesMinTTL is the shortest time an answer is remembered: apps keep
	// using an address a little after its TTL, and a caching resolver
	// between the app and the TUN answers from its cache meanwhile.
	NamesMinTTL = 60 * time.Second
	// NamesMaxTTL is the longest time an answer is remembered.
	NamesMaxTTL = 24 * time.Hour
	// NamesMaxAddrs bounds the number of addresses remembered; beyond it
	// the entries closest to expiry are dropped first.
	NamesMaxAddrs = 65536
	// maxNamesPerAddr bounds the names kept for one address.
	maxNamesPerAddr = 16
	// maxCNAMEChain bounds how far a CNAME chain is followed.
	maxCNAMEChain = 16
)

// Names remembers which names resolved to which addresses, from the DNS
// answers that passed through the Stack. Safe for concurrent use.
type Names struct {
	now func() time.Time

	mu    sync.Mutex
	addrs map[netip.Addr][]nameEntry // guarded by mu
}

type nameEntry struct {
	name    string
	expires time.Time
}

func newNames(now func() time.Time) *Names {
	return &Names{now: now, addrs: make(map[netip.Addr][]nameEntry)}
}

// Lookup returns the names that resolved to a, lower case without the
// trailing dot, sorted; nil if none is known. The query name comes with
// every name of the CNAME chain that led to a.
func (n *Names) Lookup(a netip.Addr) []string {
	a = a.Unmap()
	now := n.now()
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, e := range n.addrs[a] {
		if e.expires.After(now) {
			out = append(out, e.name)
		}
	}
	slices.Sort(out)
	return out
}

// Len returns the number of addresses with names remembered (expired
// entries not yet pruned included).
func (n *Names) Len() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.addrs)
}

// observe records the A and AAAA answers of m that the question's name
// reaches through CNAMEs. Records unrelated to the question are ignored,
// so an answer cannot attach names to arbitrary addresses.
func (n *Names) observe(m *dns.Msg) {
	if !m.Response || m.Rcode != dns.RcodeSuccess || len(m.Question) == 0 || len(m.Answer) == 0 {
		return
	}
	cnames := make(map[string]*dns.CNAME)
	for _, rr := range m.Answer {
		if c, ok := rr.(*dns.CNAME); ok {
			cnames[normName(c.Hdr.Name)] = c
		}
	}
	// chain[i] is reached from the question after i CNAMEs; hop[i] is the
	// TTL of the CNAME from chain[i] to chain[i+1].
	chain := []string{normName(m.Question[0].Name)}
	var hop []uint32
	for len(chain) <= maxCNAMEChain {
		c, ok := cnames[chain[len(chain)-1]]
		if !ok {
			break
		}
		next := normName(c.Target)
		if slices.Contains(chain, next) {
			break // loop
		}
		chain = append(chain, next)
		hop = append(hop, c.Hdr.Ttl)
	}
	now := n.now()
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, rr := range m.Answer {
		var a netip.Addr
		var ttl uint32
		switch r := rr.(type) {
		case *dns.A:
			a, _ = netip.AddrFromSlice(r.A.To4())
			ttl = r.Hdr.Ttl
		case *dns.AAAA:
			a, _ = netip.AddrFromSlice(r.AAAA.To16())
			ttl = r.Hdr.Ttl
		default:
			continue
		}
		i := slices.Index(chain, normName(rr.Header().Name))
		if i < 0 || !a.IsValid() {
			continue
		}
		// A name holds the address as long as every record from it to the
		// address does.
		for j := i; j >= 0; j-- {
			if j < i {
				ttl = min(ttl, hop[j])
			}
			d := min(max(time.Duration(ttl)*time.Second, NamesMinTTL), NamesMaxTTL)
			n.addLocked(a.Unmap(), chain[j], now.Add(d), now)
		}
	}
	if len(n.addrs) > NamesMaxAddrs {
		n.pruneLocked(now)
	}
}

func (n *Names) addLocked(a netip.Addr, name string, expires, now time.Time) {
	list := n.addrs[a]
	for i := range list {
		if list[i].name == name {
			if expires.After(list[i].expires) {
				list[i].expires = expires
			}
			return
		}
	}
	// Drop expired names first, then the one closest to expiry.
	list = slices.DeleteFunc(list, func(e nameEntry) bool { return !e.expires.After(now) })
	if len(list) >= maxNamesPerAddr {
		i := 0
		for j := range list {
			if list[j].expires.Before(list[i].expires) {
				i = j
			}
		}
		list = slices.Delete(list, i, i+1)
	}
	n.addrs[a] = append(list, nameEntry{name: name, expires: expires})
}

// pruneLocked drops expired entries and, if still over the bound, the
// addresses whose names expire soonest, down to 7/8 of NamesMaxAddrs so
// pruning is rare.
func (n *Names) pruneLocked(now time.Time) {
	type addrExp struct {
		a   netip.Addr
		exp time.Time
	}
	var keep []addrExp
	for a, list := range n.addrs {
		list = slices.DeleteFunc(list, func(e nameEntry) bool { return !e.expires.After(now) })
		if len(list) == 0 {
			delete(n.addrs, a)
			continue
		}
		n.addrs[a] = list
		latest := list[0].expires
		for _, e := range list[1:] {
			if e.expires.After(latest) {
				latest = e.expires
			}
		}
		keep = append(keep, addrExp{a, latest})
	}
	target := NamesMaxAddrs * 7 / 8
	if len(keep) <= target {
		return
	}
	slices.SortFunc(keep, func(x, y addrExp) int { return x.exp.Compare(y.exp) })
	for _, e := range keep[:len(keep)-target] {
		delete(n.addrs, e.a)
	}
}

// normName lowercases a DNS name and drops the trailing dot.
func normName(s string) string {
	return strings.TrimSuffix(strings.ToLower(s), ".")
}
