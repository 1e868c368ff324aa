package link

import (
	"container/list"
	"math"
	"net/netip"
	"sync"
	"time"
)

// tokens is the state of one token bucket.
type tokens struct {
	n    float64
	last time.Time
}

// refill adds what rate earned since the last call, up to burst.
func (t *tokens) refill(now time.Time, rate, burst float64) {
	if d := now.Sub(t.last); d > 0 {
		t.n = min(burst, t.n+rate*d.Seconds())
	}
	t.last = now
}

// wait is how long until the bucket holds a whole token.
func (t *tokens) wait(rate float64) time.Duration {
	if t.n >= 1 {
		return 0
	}
	return time.Duration((1 - t.n) / rate * float64(time.Second))
}

// source is one entry of the offer limiter's table.
type source struct {
	key    netip.Prefix
	tokens tokens
}

// limitScope says which limit refused an offer.
type limitScope int

const (
	admitted     limitScope = iota
	sourceLimit             // the offer's source is over its rate
	overallLimit            // the listener is over its rate
)

// offerLimiter admits offers with a token bucket per source and one over
// all sources. A source is the remote IPv4 address, or the /64 of an IPv6
// address (one host's share of a typical subnet, which it may fill with
// addresses at will). The table of sources is bounded: an entry whose
// bucket has refilled holds nothing worth keeping and is dropped, and when
// the table is full the source seen least recently is dropped. Dropping an
// entry only forgives that source's debt, so a flood from more sources than
// the table holds is still bounded by the overall bucket.
type offerLimiter struct {
	rate, burst   float64 // per source
	grate, gburst float64 // overall
	max           int     // sources remembered

	mu      sync.Mutex
	overall tokens
	sources map[netip.Prefix]*list.Element // of *source
	lru     list.List                      // front: seen most recently
}

func newOfferLimiter(rate float64, burst int, grate float64, gburst, maxSources int) *offerLimiter {
	return &offerLimiter{
		rate: rate, burst: float64(burst),
		grate: grate, gburst: float64(gburst),
		max:     maxSources,
		overall: tokens{n: float64(gburst), last: time.Now()},
		sources: map[netip.Prefix]*list.Element{},
	}
}

// sourceKey groups addresses into sources: IPv4 addresses one by one,
// IPv6 addresses by /64. The zero Addr (an unknown peer) is one source.
func sourceKey(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	switch {
	case a.Is4():
		return netip.PrefixFrom(a, 32)
	case a.Is6():
		p, _ := a.WithZone("").Prefix(64)
		return p
	default:
		return netip.Prefix{}
	}
}

// allow takes a token from addr's bucket and from the overall bucket, or
// from neither. When it refuses it says which limit did and how long until
// a retry can succeed.
func (o *offerLimiter) allow(addr netip.Addr, now time.Time) (limitScope, time.Duration) {
	key := sourceKey(addr)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.expire(now)
	var s *source
	if e, ok := o.sources[key]; ok {
		s = e.Value.(*source)
		o.lru.MoveToFront(e)
		s.tokens.refill(now, o.rate, o.burst)
	} else {
		for o.lru.Len() >= o.max {
			o.drop(o.lru.Back())
		}
		s = &source{key: key, tokens: tokens{n: o.burst, last: now}}
		o.sources[key] = o.lru.PushFront(s)
	}
	if s.tokens.n < 1 {
		return sourceLimit, s.tokens.wait(o.rate)
	}
	o.overall.refill(now, o.grate, o.gburst)
	if o.overall.n < 1 {
		return overallLimit, o.overall.wait(o.grate)
	}
	s.tokens.n--
	o.overall.n--
	return admitted, 0
}

// expire drops the least recently seen sources whose buckets are full
// again, a few per call, so the table shrinks when a flood stops.
func (o *offerLimiter) expire(now time.Time) {
	full := time.Duration(o.burst / o.rate * float64(time.Second))
	for range 4 {
		e := o.lru.Back()
		if e == nil || now.Sub(e.Value.(*source).tokens.last) < full {
			return
		}
		o.drop(e)
	}
}

func (o *offerLimiter) drop(e *list.Element) {
	delete(o.sources, e.Value.(*source).key)
	o.lru.Remove(e)
}

// len is the number of sources remembered.
func (o *offerLimiter) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lru.Len()
}

// retryAfter renders a wait as whole seconds for a Retry-After header, at
// least 1.
func retryAfter(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
