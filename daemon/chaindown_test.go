package daemon

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/testutil"
)

// rpcGate is the daemon's JSON-RPC endpoint: it passes requests to the
// chain until told to die at a given request, then it resets that
// request's connection and every other, and refuses connections (its port
// is closed) until up is called again, on the same address.
type rpcGate struct {
	t      *testing.T
	rp     *httputil.ReverseProxy
	tr     *http.Transport
	addr   string
	served atomic.Int64 // requests seen since the last up
	killAt atomic.Int64 // the request that dies, counted from up; 0 for none

	mu   sync.Mutex
	srv  *http.Server // nil while down
	wg   sync.WaitGroup
	died chan struct{} // closed when the gate went down
}

func newRPCGate(t *testing.T, target string) *rpcGate {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	g := &rpcGate{t: t, tr: &http.Transport{}}
	g.rp = httputil.NewSingleHostReverseProxy(u)
	g.rp.Transport = g.tr
	g.up(0)
	t.Cleanup(func() { g.down(); g.wg.Wait(); g.tr.CloseIdleConnections() })
	return g
}

// url is the endpoint's URL.
func (g *rpcGate) url() string { return "http://" + g.addr }

// up serves again; the endpoint dies at the killAt-th request from now
// (never if 0).
func (g *rpcGate) up(killAt int64) {
	g.t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.srv != nil {
		return
	}
	addr := g.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	// The port was just closed; it may linger a moment.
	if testutil.Until("the chain's port to be free", time.Second, func() bool {
		ln, err = net.Listen("tcp", addr)
		return err == nil
	}) != nil {
		g.t.Fatal(err)
	}
	g.addr = ln.Addr().String()
	g.served.Store(0)
	g.killAt.Store(killAt)
	g.died = make(chan struct{})
	g.srv = &http.Server{Handler: http.HandlerFunc(g.serve)}
	srv := g.srv
	g.wg.Go(func() { srv.Serve(ln) })
}

func (g *rpcGate) serve(w http.ResponseWriter, r *http.Request) {
	n := g.served.Add(1)
	if k := g.killAt.Load(); k > 0 && n >= k {
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
			}
		}
		g.down()
		return
	}
	g.rp.ServeHTTP(w, r)
}

// down kills the endpoint: listener and connections.
func (g *rpcGate) down() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.srv == nil {
		return
	}
	g.srv.Close()
	g.srv = nil
	close(g.died)
}

// dead returns a channel closed once the endpoint has died.
func (g *rpcGate) dead() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.died
}

// TestChainDownDuringConnect kills the JSON-RPC endpoint at a different
// request of a connect each round (the chain check, the wins, the funding
// of the hop accounts, the gas price, the tickets of the first circuit):
// the connect ends in the error state with an error that names the chain,
// no goroutine of the session is left, and once the endpoint is back the
// next connect reaches Connected and carries traffic.
func TestChainDownDuringConnect(t *testing.T) {
	w := newDevWorld(t)
	gate := newRPCGate(t, w.dn.RPC())
	d := w.daemon(t, w.config(t, gate.url()))
	ctx := context.Background()

	// A first connect with the endpoint up, to count the requests of a
	// whole connect and to have the accounts funded as in later rounds.
	connect(t, d, 3)
	waitState(t, d, api.StateConnected)
	carries(t, d, w.nodes, 1<<20)
	whole := gate.served.Load()
	if _, err := d.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("a connect and a download took %d JSON-RPC requests", whole)

	kills := []int64{1, 5, 8, 13, 21}
	for i, k := range kills {
		gate.down()
		gate.up(k)
		connect(t, d, 3)
		st := waitDone(t, d)
		select {
		case <-gate.dead():
		default:
			t.Logf("kill at request %d: the connect needed fewer requests: %s", k, st.State)
		}
		if st.State != api.StateError {
			t.Logf("kill at request %d: %s", k, st.State)
		} else {
			t.Logf("kill at request %d: %s: %s", k, st.State, st.Error)
			if !strings.Contains(st.Error, "chain") && !strings.Contains(st.Error, "RPC") {
				t.Errorf("kill at request %d: error %q does not say the chain is down", k, st.Error)
			}
			if len(st.ProxyAddrs) != 0 {
				t.Errorf("kill at request %d: the failed session still lists proxies %q", k, st.ProxyAddrs)
			}
			if gs := sessionGoroutines(); len(gs) > 0 {
				t.Errorf("kill at request %d: %d goroutines of the failed session still run; the first:\n%s", k, len(gs), gs[0])
			}
		}
		gate.down()
		gate.up(0)
		connect(t, d, 3)
		waitState(t, d, api.StateConnected)
		if i == len(kills)-1 {
			carries(t, d, w.nodes, 1<<20)
		}
		if _, err := d.Disconnect(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	checkJoined(t, "close after the chain came back")
}

// waitDone waits up to two minutes for a connect to end: connected, or in
// the error state.
func waitDone(t *testing.T, d *Daemon) api.Status {
	t.Helper()
	var st api.Status
	if testutil.Until("the connect to end", 2*time.Minute, func() bool {
		st, _ = d.Status(context.Background())
		return st.State == api.StateConnected || st.State == api.StateError
	}) != nil {
		t.Fatalf("still %s (%s) two minutes after the chain died", st.State, st.Error)
	}
	return st
}

// sessionGoroutines waits up to 10 s for the goroutines of a session to
// end (its run, its proxies, its pool and circuits, its chain client and
// what the daemon started for it) and returns those still running then.
// The daemon's own (tick, the kill switch's follower) are not counted.
func sessionGoroutines() []string {
	var out []string
	testutil.Until("the session's goroutines to end", 10*time.Second, func() bool {
		out = out[:0]
		for _, g := range testutil.Stacks() {
			own := strings.Contains(g, "daemon.(*Daemon).tick") || strings.Contains(g, "daemon.(*firewall).follow")
			mine := strings.Contains(g, "created by github.com/pexia-network/pexia/daemon.") && !strings.Contains(g, "_test.go")
			for _, fn := range []string{"pexia/daemon.(*Daemon).run(", "pexia/proxy.", "pexia/hop.(*Pool)", "pexia/hop.(*Circuit)", "pexia/wallet/chain."} {
				mine = mine || strings.Contains(g, fn)
			}
			if mine && !own {
				out = append(out, g)
			}
		}
		return len(out) == 0
	})
	return out
}
