package link

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/pexia-network/pexia/internal/testutil"
)

// TestOfferFloodFromOneSource: one source sending offers at about 20 per
// second (after a first burst) does not keep an honest source from
// dialing; the flooder gets 429 with Retry-After. The two clients use
// distinct loopback addresses, so the node sees two sources.
func TestOfferFloodFromOneSource(t *testing.T) {
	testutil.CheckGoroutines(t)
	n := newNode(t, ListenConfig{})
	const flooderIP, honestIP = "127.0.0.2", "127.0.0.3"

	tr := &http.Transport{
		TLSClientConfig:   pinnedTLSConfig(n.pin),
		DisableKeepAlives: true,
		DialContext:       (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(flooderIP)}}).DialContext,
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var (
		mu       sync.Mutex
		statuses = map[int]int{}
		problems []string
	)
	offer := func() {
		resp, err := hc.Post(n.url, "application/json", strings.NewReader("{}"))
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			problems = append(problems, err.Error())
			return
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		statuses[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests {
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
				problems = append(problems, fmt.Sprintf("429 with Retry-After %q", resp.Header.Get("Retry-After")))
			}
			if !strings.Contains(string(msg), "your address") {
				problems = append(problems, fmt.Sprintf("429 says %q, not that the source is over its rate", msg))
			}
		}
	}
	// The flooder spends whatever burst it is allowed, then keeps up 25
	// offers per second until the honest dials are done.
	var burst sync.WaitGroup
	for range 10 {
		burst.Add(1)
		go func() {
			defer burst.Done()
			for range 6 {
				offer()
			}
		}()
	}
	burst.Wait()
	stop := make(chan struct{})
	var flooding sync.WaitGroup
	flooding.Add(1)
	go func() {
		defer flooding.Done()
		tick := time.NewTicker(40 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				flooding.Add(1)
				go func() {
					defer flooding.Done()
					offer()
				}()
			}
		}
	}()

	const dials = 8
	var failed []string
	for i := range dials {
		ctx := ctxT(t, 10*time.Second)
		client, err := Dial(ctx, n.url, n.pin, DialConfig{UDPAddr: honestIP + ":0", Logf: testutil.NewLog(t).Logf})
		if err != nil {
			failed = append(failed, fmt.Sprintf("dial %d: %v", i, err))
			continue
		}
		server, err := n.l.Accept(ctx)
		if err != nil {
			t.Fatalf("Accept: %v", err)
		}
		if got := server.RemoteAddr(); got == nil || !strings.HasPrefix(got.String(), honestIP+":") {
			t.Errorf("link %d comes from %v, want %s", i, got, honestIP)
		}
		_ = client.Close()
		_ = server.Close()
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	flooding.Wait()

	mu.Lock()
	defer mu.Unlock()
	t.Logf("flooder: %v", statuses)
	if len(failed) > 0 {
		t.Errorf("%d of %d honest dials failed while another source flooded:\n%s", len(failed), dials, strings.Join(failed, "\n"))
	}
	total := 0
	for _, c := range statuses {
		total += c
	}
	if limited := statuses[http.StatusTooManyRequests]; limited < total/2 {
		t.Errorf("flooder got %d of %d offers refused with 429, want most", limited, total)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

func TestSourceKey(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"192.0.2.1", "192.0.2.1/32"},
		{"::ffff:192.0.2.1", "192.0.2.1/32"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
	} {
		if got := sourceKey(netip.MustParseAddr(tc.a)); got != netip.MustParsePrefix(tc.b) {
			t.Errorf("sourceKey(%s) = %v, want %s", tc.a, got, tc.b)
		}
	}
	if got := sourceKey(netip.Addr{}); got.IsValid() {
		t.Errorf("sourceKey(zero) = %v, want the zero prefix", got)
	}
}

// TestOfferLimiter: buckets per source (IPv6 by /64), the overall
// ceiling, the bounded table and its expiry.
func TestOfferLimiter(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	o := newOfferLimiter(2, 3, 100, 200, 64)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	for i := range 3 {
		if s, _ := o.allow(a, now); s != admitted {
			t.Fatalf("offer %d of a's burst refused (%v)", i, s)
		}
	}
	s, wait := o.allow(a, now)
	if s != sourceLimit || wait != 500*time.Millisecond || retryAfter(wait) != 1 {
		t.Fatalf("a over its burst: %v, wait %v, want sourceLimit, 500ms", s, wait)
	}
	if s, _ := o.allow(b, now); s != admitted {
		t.Fatalf("b refused (%v) while only a is over its rate", s)
	}
	if s, _ := o.allow(a, now.Add(500*time.Millisecond)); s != admitted {
		t.Fatalf("a refused (%v) after earning a token", s)
	}

	// One IPv6 /64 is one source.
	for i := range 3 {
		ip := netip.MustParseAddr(fmt.Sprintf("2001:db8:0:7::%x", i+1))
		if s, _ := o.allow(ip, now); s != admitted {
			t.Fatalf("offer %d from the /64 refused (%v)", i, s)
		}
	}
	if s, _ := o.allow(netip.MustParseAddr("2001:db8:0:7:ffff::9"), now); s != sourceLimit {
		t.Fatalf("a fourth address of the same /64: %v, want sourceLimit", s)
	}
	if s, _ := o.allow(netip.MustParseAddr("2001:db8:0:8::1"), now); s != admitted {
		t.Fatalf("the next /64: %v, want admitted", s)
	}

	// A flood from more sources than the table holds: the table stays
	// bounded and the overall bucket caps what is admitted.
	admittedN := 0
	for i := range 10_000 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		switch s, wait := o.allow(ip, now); s {
		case admitted:
			admittedN++
		case overallLimit:
			if wait <= 0 {
				t.Fatalf("overall limit with wait %v", wait)
			}
		default:
			t.Fatalf("new source %v: %v", ip, s)
		}
		if o.len() > 64 {
			t.Fatalf("table holds %d sources, more than 64", o.len())
		}
	}
	if admittedN > 200 {
		t.Fatalf("%d offers from many sources admitted at once, want at most the overall burst 200", admittedN)
	}
	// Once every bucket has refilled the table empties as offers come.
	later := now.Add(time.Minute)
	for range 64 {
		o.allow(b, later)
	}
	if n := o.len(); n != 1 {
		t.Fatalf("table holds %d sources after a quiet minute, want 1", n)
	}
}

// deadOffer returns a complete offer from fromIP whose sender is gone: a
// node that answers it waits for a link that never comes up.
func deadOffer(t *testing.T, fromIP string) string {
	t.Helper()
	mux, err := newUDPMux(fromIP+":0", 0, nil, testutil.NewLog(t).Logf)
	if err != nil {
		t.Fatal(err)
	}
	defer mux.Close()
	lk, err := newLink(newAPI(mux, testutil.NewLog(t).Logf), nil, 0, testutil.NewLog(t).Logf, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	offer, err := lk.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(lk.pc)
	if err := lk.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	body, err := json.Marshal(signal{Type: "offer", SDP: lk.pc.LocalDescription().SDP})
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// TestHandshakesPerSource: one source whose offers are valid but whose
// links never come up holds at most its share of the handshake slots, so
// another source still dials.
func TestHandshakesPerSource(t *testing.T) {
	testutil.CheckGoroutines(t)
	n := newNode(t, ListenConfig{
		OffersPerSecond: 1000, OfferBurst: 1000,
		SourceOffersPerSecond: 1000, SourceOfferBurst: 1000,
		MaxHandshakes: 16, HandshakeTimeout: 4 * time.Second,
	})
	const flooderIP, honestIP = "127.0.0.2", "127.0.0.3"
	body := deadOffer(t, flooderIP)
	tr := &http.Transport{
		TLSClientConfig:   pinnedTLSConfig(n.pin),
		DisableKeepAlives: true,
		DialContext:       (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(flooderIP)}}).DialContext,
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	statuses := map[int]int{}
	for range 20 {
		resp, err := hc.Post(n.url, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		statuses[resp.StatusCode]++
		if resp.StatusCode == http.StatusServiceUnavailable && !strings.Contains(string(msg), "your address") {
			t.Errorf("503 says %q, not that the source holds its share", bytes.TrimSpace(msg))
		}
	}
	t.Logf("flooder: %v", statuses)
	if statuses[http.StatusOK] != defaultMaxSourceHandshakes {
		t.Errorf("flooder's offers answered: %d, want %d (its share of handshakes)", statuses[http.StatusOK], defaultMaxSourceHandshakes)
	}
	ctx := ctxT(t, 10*time.Second)
	client, err := Dial(ctx, n.url, n.pin, DialConfig{UDPAddr: honestIP + ":0", Logf: testutil.NewLog(t).Logf})
	if err != nil {
		t.Fatalf("honest dial while another source holds handshakes: %v", err)
	}
	defer client.Close()
	server, err := n.l.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = server.Close()
}
