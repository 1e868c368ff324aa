package daemon

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/devnet"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/wallet/keys"
)

// lifeChain starts a devnet chain (real go-ethereum over JSON-RPC) for the
// lifecycle tests. Its directory lists staked nodes that serve no link, so
// sessions go through the chain, the funding of the hop accounts, the
// terms, the pool and the proxy plane, and then retry building circuits.
func lifeChain(t *testing.T) *devnet.Devnet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dn, err := devnet.Start(ctx, devnet.Config{DataDir: filepath.Join(t.TempDir(), "chain"), BlockPeriod: devnet.MineOnTransaction, Clients: 1, Nodes: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dn.Close() })
	return dn
}

// proxyDaemon starts a real daemon in proxy mode on dn.
func proxyDaemon(t *testing.T, dn *devnet.Devnet, lg *testutil.Log) *Daemon {
	t.Helper()
	d, err := New(Config{StateDir: filepath.Join(t.TempDir(), "state"), NetworkFile: dn.NetworkFile(),
		Key: keys.Source{Key: "devnet:" + devnet.ClientRole(0)}, Mode: api.ModeProxy, ProxyAddr: "127.0.0.1:0", Logf: lg.Logf})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// fastTicks shortens the daemon's tick for the test, so that the wins and
// the accounts are polled often.
func fastTicks(t *testing.T, p time.Duration) {
	old := tickPeriod
	tickPeriod = p
	t.Cleanup(func() { tickPeriod = old })
}

// daemonStarted lists the running goroutines that the daemon's code (not
// its tests) started. It does not wait: Close must have joined them.
func daemonStarted() []string {
	var out []string
	for _, g := range testutil.Stacks() {
		lines := strings.Split(g, "\n")
		for i, l := range lines {
			if strings.HasPrefix(l, "created by github.com/pexia-network/pexia/daemon.") && i+1 < len(lines) && !strings.Contains(lines[i+1], "_test.go") {
				out = append(out, g)
			}
		}
	}
	return out
}

// warmUp runs one connect to the end of funding and closes, so that the
// chain's own lazily started goroutines and the funded hop accounts exist
// before a baseline is taken.
func warmUp(t *testing.T, dn *devnet.Devnet, lg *testutil.Log) {
	t.Helper()
	d := proxyDaemon(t, dn, lg)
	defer d.Close()
	ctx := context.Background()
	if _, err := d.Connect(ctx, api.ConnectRequest{Hops: 3}); err != nil {
		t.Fatal(err)
	}
	var st api.Status
	if err := testutil.Until("the warm-up connect to get somewhere", time.Minute, func() bool {
		st, _ = d.Status(ctx)
		return len(st.ProxyAddrs) > 0 || st.State == api.StateError
	}); err != nil {
		t.Fatalf("%v: %+v", err, st)
	}
	if _, err := d.Wallet(ctx); err != nil {
		t.Fatal(err)
	}
}

func checkJoined(t *testing.T, when string) {
	t.Helper()
	if gs := daemonStarted(); len(gs) > 0 {
		t.Errorf("%s: %d goroutines the daemon started still run after Close returned; the first:\n%s", when, len(gs), gs[0])
	}
}

func checkNoLeak(t *testing.T, base map[string]string, files int) {
	t.Helper()
	if gs := testutil.NewSince(base, 10*time.Second); len(gs) > 0 {
		t.Errorf("%d goroutines leaked; the first:\n%s", len(gs), gs[0])
	}
	if n := testutil.FilesBackTo(t, files, 10*time.Second); n > files {
		t.Errorf("%d file descriptors open after Close, %d before the daemon started", n, files)
	}
}

// TestConnectStorm runs a real daemon in proxy mode against a real chain
// and calls Connect, Disconnect, SetSettings, Wallet, Status, Circuit and
// Budget from many goroutines at once. At every point at most one session
// runs: after a final Connect exactly one, after Disconnect none. Close
// joins every goroutine the daemon started, and no goroutine or file
// descriptor outlives it. Run with -race: Wallet during a connect reads
// the session's chain client while the session sets it up.
func TestConnectStorm(t *testing.T) {
	dn := lifeChain(t)
	lg := testutil.NewLog(t)
	fastTicks(t, 5*time.Millisecond)
	warmUp(t, dn, lg)
	base, files := testutil.Stacks(), testutil.OpenFiles(t)

	d := proxyDaemon(t, dn, lg)
	closed := false
	defer func() {
		if !closed {
			d.Close()
		}
	}()
	ctx := context.Background()
	const workers, ops = 8, 30
	var wg sync.WaitGroup
	errs := make(chan error, workers*ops)
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 11))
			for range ops {
				switch k := r.IntN(8); k {
				case 0, 1:
					if _, err := d.Connect(ctx, api.ConnectRequest{Hops: 1 + r.IntN(3)}); err != nil {
						errs <- fmt.Errorf("connect: %w", err)
					}
				case 2, 3:
					if _, err := d.Disconnect(ctx); err != nil {
						errs <- fmt.Errorf("disconnect: %w", err)
					}
				case 4:
					set, err := d.Settings(ctx)
					if err != nil {
						errs <- err
						continue
					}
					set.Hops, set.KillSwitch = 1+r.IntN(3), r.IntN(2) == 0
					if _, err := d.SetSettings(ctx, set); err != nil {
						errs <- fmt.Errorf("settings: %w", err)
					}
				case 5:
					d.Wallet(ctx) // may fail while the chain client is replaced
				case 6:
					d.Circuit(ctx)
					d.Status(ctx)
				case 7:
					if _, err := d.Budget(ctx); err != nil {
						errs <- fmt.Errorf("budget: %w", err)
					}
				}
				if r.IntN(4) == 0 {
					time.Sleep(time.Duration(r.IntN(20)) * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := settledSessions(1); n > 1 {
		t.Errorf("%d sessions run after the storm; at most one may", n)
	}
	if _, err := d.Connect(ctx, api.ConnectRequest{Hops: 2}); err != nil {
		t.Fatal(err)
	}
	// The new session's goroutine may not have begun yet.
	n := 0
	testutil.Until("the new session to begin", 5*time.Second, func() bool { n = sessions(); return n > 0 })
	if n != 1 {
		t.Errorf("%d sessions run after a Connect; want exactly one", n)
	}
	if st, err := d.Disconnect(ctx); err != nil || st.State != api.StateDisconnected {
		t.Fatalf("disconnect: %v, %v", st.State, err)
	}
	if n := settledSessions(0); n != 0 {
		t.Errorf("%d sessions run after Disconnect; want none", n)
	}
	if _, err := d.Connect(ctx, api.ConnectRequest{Hops: 3}); err != nil {
		t.Fatal(err)
	}
	closed = true
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	checkJoined(t, "after the storm")
	if _, err := d.Connect(ctx, api.ConnectRequest{}); err == nil {
		t.Error("Connect after Close succeeded")
	}
	checkNoLeak(t, base, files)
}

// TestCloseDuringConnect closes real daemons while they connect and right
// after they connected to the chain, with the ticks (wins, accounts) at
// full speed: Close returns only once every goroutine the daemon started
// has ended, so none touches the closed ledger or chain client, and a
// wallet read after Close dials no new client.
func TestCloseDuringConnect(t *testing.T) {
	dn := lifeChain(t)
	lg := testutil.NewLog(t)
	fastTicks(t, time.Millisecond)
	warmUp(t, dn, lg)
	base, files := testutil.Stacks(), testutil.OpenFiles(t)
	ctx := context.Background()

	for i := range 8 {
		d := proxyDaemon(t, dn, lg)
		if _, err := d.Connect(ctx, api.ConnectRequest{Hops: 3}); err != nil {
			d.Close()
			t.Fatal(err)
		}
		when := "close during connect"
		if i%2 == 1 {
			// Connected to the chain: the wins are being followed.
			when = "close after connect"
			deadline := time.Now().Add(time.Minute)
			for {
				d.wins.mu.Lock()
				next := d.wins.state.Next
				d.wins.mu.Unlock()
				st, _ := d.Status(ctx)
				if next != 0 && len(st.ProxyAddrs) > 0 {
					break
				}
				if time.Now().After(deadline) {
					d.Close()
					t.Fatalf("connect got nowhere in a minute: %+v", st)
				}
				time.Sleep(time.Millisecond)
			}
			time.Sleep(time.Duration(i) * 5 * time.Millisecond)
		}
		if err := d.Close(); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		checkJoined(t, when)
		if _, err := d.Wallet(ctx); err == nil {
			t.Errorf("%s: Wallet after Close succeeded", when)
		}
	}
	checkNoLeak(t, base, files)
}
