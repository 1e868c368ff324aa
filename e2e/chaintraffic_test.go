//go:build e2e

package e2e

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
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/contracts"
)

// TestChainSeesNoTraffic puts a JSON-RPC endpoint that counts requests by
// method in front of the devnet's, in the chain's host, and points pexiad
// at it: during a 3-hop download of 100 MiB pexiad makes as many requests
// of each method (± a few) as while idle for as long.
func TestChainSeesNoTraffic(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()

	rpc, err := url.Parse(w.Network.RPC)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := w.Chain.Listen("tcp", net.JoinHostPort(w.Chain.Addr4().String(), "8546"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	counts := map[string]int{}
	tr := &http.Transport{DialContext: w.Chain.Dialer().DialContext}
	rp := httputil.NewSingleHostReverseProxy(rpc)
	rp.Transport = tr
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		var calls []struct{ Method string }
		if b := bytes.TrimSpace(body); len(b) > 0 && b[0] == '[' {
			json.Unmarshal(b, &calls)
		} else {
			calls = append(calls, struct{ Method string }{})
			json.Unmarshal(b, &calls[0])
		}
		mu.Lock()
		for _, c := range calls {
			counts[c.Method]++
		}
		mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		rp.ServeHTTP(rw, r)
	})}
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(ln) })
	t.Cleanup(func() { srv.Close(); wg.Wait(); tr.CloseIdleConnections() })
	snapshot := func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(counts)
	}
	since := func(a, b map[string]int) map[string]int {
		out := map[string]int{}
		for m, n := range b {
			if n > a[m] {
				out[m] = n - a[m]
			}
		}
		return out
	}

	n := *w.Network
	n.RPC = "http://" + ln.Addr().String()
	file := filepath.Join(t.TempDir(), "network.json")
	if err := n.Save(file); err != nil {
		t.Fatal(err)
	}
	if _, err := contracts.LoadNetwork(file); err != nil {
		t.Fatal(err)
	}
	d, err := w.StartDaemon(ctx, "", "-network", file)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop(20 * time.Second) })
	cl := api.NewClient(d.Socket)
	defer cl.Close()
	connect(t, cl, 3)
	// The connect's own requests (funding, the first tickets) are over
	// once a first download went through.
	download(t, w, 1<<20)

	c0 := snapshot()
	busyFor := download(t, w, 100<<20)
	c1 := snapshot()
	time.Sleep(busyFor) // a measuring window, not a wait for a state
	busy, idle := since(c0, c1), since(c1, snapshot())
	total := func(m map[string]int) (s int) {
		for _, v := range m {
			s += v
		}
		return s
	}
	t.Logf("downloading 100 MiB through 3 hops for %v: %d JSON-RPC requests %v", busyFor.Round(time.Millisecond), total(busy), busy)
	t.Logf("idle for as long: %d JSON-RPC requests %v", total(idle), idle)
	if total(c1) == 0 {
		t.Fatal("pexiad made no request through the counting endpoint")
	}
	all := maps.Clone(busy)
	maps.Copy(all, idle)
	for _, m := range slices.Sorted(maps.Keys(all)) {
		if diff := busy[m] - idle[m]; diff > 4 || diff < -4 {
			t.Errorf("%s: %d requests while downloading, %d while idle for as long", m, busy[m], idle[m])
		}
	}
}
