package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/testutil"
)

// rpcCounter is a JSON-RPC endpoint in front of the chain that counts the
// requests it passes on, by method (each call of a batch counts).
type rpcCounter struct {
	addr string
	mu   sync.Mutex
	n    map[string]int
}

func newRPCCounter(t *testing.T, target string) *rpcCounter {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = tr
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &rpcCounter{addr: ln.Addr().String(), n: map[string]int{}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.count(body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rp.ServeHTTP(w, r)
	})}
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(ln) })
	t.Cleanup(func() { srv.Close(); wg.Wait(); tr.CloseIdleConnections() })
	return c
}

type rpcCall struct {
	Method string `json:"method"`
}

func (c *rpcCounter) count(body []byte) {
	var calls []rpcCall
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		json.Unmarshal(body, &calls)
	} else {
		var one rpcCall
		json.Unmarshal(body, &one)
		calls = append(calls, one)
	}
	c.mu.Lock()
	for _, x := range calls {
		c.n[x.Method]++
	}
	c.mu.Unlock()
}

func (c *rpcCounter) url() string { return "http://" + c.addr }

// snapshot is the count so far of each method.
func (c *rpcCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}

// since is the count of each method between two snapshots.
func since(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for m, n := range after {
		if d := n - before[m]; d > 0 {
			out[m] = d
		}
	}
	return out
}

func total(m map[string]int) (n int) {
	for _, v := range m {
		n += v
	}
	return n
}

// TestChainTrafficDoesNotGrowWithTraffic connects through three real nodes
// on the devnet, behind an endpoint that counts the daemon's JSON-RPC
// requests by method, then downloads through the circuit (the nodes verify
// the daemon's tickets) and stays idle for as long: the chain sees the
// same requests (± a few of each method) in both, so an RPC provider does
// not learn the traffic from them.
func TestChainTrafficDoesNotGrowWithTraffic(t *testing.T) {
	w := newDevWorld(t)
	rc := newRPCCounter(t, w.dn.RPC())
	d := w.daemon(t, w.config(t, rc.url()))
	connect(t, d, 3)
	waitState(t, d, api.StateConnected)
	// The first tickets, the funding and the follower's start are the
	// connect's, not the traffic's.
	carries(t, d, w.nodes, 1<<20)

	st, _ := d.Status(context.Background())
	socks := socksURL(t, st)
	src := testutil.Source(t, "127.0.0.1:0").Addr
	const size = 6 << 20
	tk0, c0, t0 := accepted(w.nodes), rc.snapshot(), time.Now()
	if got, err := download(socks, src, size); err != nil || got != size {
		t.Fatalf("downloaded %d of %d bytes through the proxy: %v", got, size, err)
	}
	testutil.WaitFor(t, "the nodes verify the download's tickets", time.Minute, func() bool { return accepted(w.nodes) > tk0 })
	busyFor, tickets := time.Since(t0), accepted(w.nodes)-tk0
	c1 := rc.snapshot()
	busy := since(c0, c1)

	// Idle for the same time: a measuring window, not a wait for a state.
	time.Sleep(busyFor)
	idle := since(c1, rc.snapshot())

	t.Logf("downloading %d MiB for %v (%d tickets, %.1f/s): %d JSON-RPC requests (%.2f/s) %v",
		size>>20, busyFor.Round(time.Millisecond), tickets, float64(tickets)/busyFor.Seconds(),
		total(busy), float64(total(busy))/busyFor.Seconds(), busy)
	t.Logf("idle for as long: %d JSON-RPC requests (%.2f/s) %v", total(idle), float64(total(idle))/busyFor.Seconds(), idle)
	if tickets < 8 {
		t.Fatalf("the download issued only %d tickets; too few to tell", tickets)
	}
	const few = 4
	all := maps.Clone(busy)
	maps.Copy(all, idle)
	methods := slices.Sorted(maps.Keys(all))
	for _, m := range methods {
		if diff := busy[m] - idle[m]; diff > few || diff < -few {
			t.Errorf("%s: %d requests while downloading, %d while idle for as long", m, busy[m], idle[m])
		}
	}
}

// download fetches n bytes from the source at src through the proxy, with
// a deadline that a loaded machine meets.
func download(socks *url.URL, src string, n int64) (int64, error) {
	c, err := socks5Dial(socks.Host, src, socks.User)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Minute))
	return testutil.Download(c, n)
}
