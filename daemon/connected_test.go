package daemon

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/internal/testutil"
)

// TestConnectedStorm runs a real daemon in proxy mode against a real chain
// (in-process EVM) and real nodes on loopback that verify every ticket,
// and calls Connect, Disconnect, SetSettings and the readers from many
// goroutines at once, while sessions reach Connected and carry traffic.
// Afterwards one Connect yields exactly one session, connected, carrying
// traffic paid with tickets the nodes verified; one Disconnect leaves
// none; Close joins every goroutine the daemon started.
func TestConnectedStorm(t *testing.T) {
	w := newWorld(t, 2, 1)
	fastTicks(t, 5*time.Millisecond)
	d := w.daemon(w.config())
	ctx := context.Background()

	connect(t, d, 3)
	waitState(t, d, api.StateConnected)
	checkCircuit(t, d, w.nodes, 3)
	carries(t, d, w.nodes, 3<<20)

	const workers, ops = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*ops)
	for g := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 12))
			for range ops {
				switch r.IntN(8) {
				case 0, 1:
					if _, err := d.Connect(ctx, api.ConnectRequest{Hops: 1 + r.IntN(3)}); err != nil {
						errs <- fmt.Errorf("connect: %w", err)
					}
				case 2:
					if _, err := d.Disconnect(ctx); err != nil {
						errs <- fmt.Errorf("disconnect: %w", err)
					}
				case 3, 4:
					set, err := d.Settings(ctx)
					if err != nil {
						errs <- err
						continue
					}
					set.Hops = 1 + r.IntN(3)
					set.ExcludeCIDRs = nil
					if r.IntN(2) == 0 {
						set.ExcludeCIDRs = []string{fmt.Sprintf("192.0.2.%d/32", r.IntN(250))}
					}
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
				if r.IntN(3) == 0 {
					// Let some sessions get further: to the chain, the
					// circuit, Connected.
					time.Sleep(time.Duration(r.IntN(200)) * time.Millisecond)
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

	connect(t, d, 2)
	st := waitState(t, d, api.StateConnected)
	if n := settledSessions(1); n != 1 {
		t.Errorf("%d sessions run when connected; want exactly one", n)
	}
	checkCircuit(t, d, w.nodes, 2)
	carries(t, d, w.nodes, 3<<20)
	if st.Profile != "default-2" {
		t.Errorf("profile %q, want default-2", st.Profile)
	}
	socks := socksURL(t, st)
	if st, err := d.Disconnect(ctx); err != nil || st.State != api.StateDisconnected || len(st.ProxyAddrs) != 0 {
		t.Fatalf("disconnect: %v (proxies %q), %v", st.State, st.ProxyAddrs, err)
	}
	if n := settledSessions(0); n != 0 {
		t.Errorf("%d sessions run after Disconnect; want none", n)
	}
	if err := socks5Connect(socks.Host, testutil.EchoTCP(t, "127.0.0.1:0").Addr, socks.User); err == nil {
		t.Error("the proxy still carries traffic after Disconnect")
	}
	connect(t, d, 3)
	waitState(t, d, api.StateConnected)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	checkJoined(t, "close when connected after the storm")
}

// TestSettingsWhileConnecting changes the settings from several
// goroutines while sessions connect: every change is saved and checked
// against the one it replaces, the session being built reaches Connected
// with the plan of its Connect, and the next connect follows the last
// settings.
func TestSettingsWhileConnecting(t *testing.T) {
	w := newWorld(t, 2, 1)
	d := w.daemon(w.config())
	ctx := context.Background()
	for round := range 2 {
		connect(t, d, 3)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 8 {
					set, err := d.Settings(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					set.Hops = 1 + (g+i)%3
					set.KillSwitch = i%2 == 0
					set.AllowLAN = g%2 == 0
					set.ExcludeCIDRs = []string{fmt.Sprintf("198.51.100.%d/32", g*8+i)}
					set.MonthlyBudget = api.NewAmount(new(big.Int).Mul(big.NewInt(int64(5+i)), big.NewInt(1e18)))
					if _, err := d.SetSettings(ctx, set); err != nil {
						t.Errorf("round %d: settings: %v", round, err)
					}
				}
			})
		}
		wg.Wait()
		waitState(t, d, api.StateConnected)
		checkCircuit(t, d, w.nodes, 3)
		carries(t, d, w.nodes, 1<<20)

		set, _ := d.Settings(ctx)
		set.Hops = 1 + round%3
		if _, err := d.SetSettings(ctx, set); err != nil {
			t.Fatal(err)
		}
		connect(t, d, 0)
		waitState(t, d, api.StateConnected)
		checkCircuit(t, d, w.nodes, set.Hops)
		carries(t, d, w.nodes, 1<<20)
		saved, err := loadSettings(d.settingsPath(), defaultSettings(), t.Logf)
		if err != nil || saved.Hops != set.Hops || !slices.Equal(saved.ExcludeCIDRs, set.ExcludeCIDRs) {
			t.Fatalf("saved settings %+v (%v), want %+v", saved, err, set)
		}
	}
}

// TestProxyExclusionsApplyAtOnce changes the exclusions while connected
// in proxy mode: as SetSettings promises, a destination excluded now goes
// straight out on the next flow, without waiting for the next connect, and
// one no longer excluded goes through the circuit again.
func TestProxyExclusionsApplyAtOnce(t *testing.T) {
	w := newWorld(t, 0, 1)
	d := w.daemon(w.config())
	ctx := context.Background()
	connect(t, d, 1)
	st := waitState(t, d, api.StateConnected)
	socks := socksURL(t, st)
	echo := testutil.EchoTCP(t, "127.0.0.1:0").Addr
	d.mu.Lock()
	r := d.sess.router
	d.mu.Unlock()
	if err := socks5Connect(socks.Host, echo, socks.User); err != nil {
		t.Fatal(err)
	}
	if n := r.directFlows.Load(); n != 0 {
		t.Fatalf("%d flows went direct before any exclusion", n)
	}
	set, _ := d.Settings(ctx)
	set.ExcludeCIDRs = []string{"127.0.0.0/8"}
	if _, err := d.SetSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	if err := socks5Connect(socks.Host, echo, socks.User); err != nil {
		t.Fatal(err)
	}
	if n := r.directFlows.Load(); n != 1 {
		t.Errorf("%d flows went direct after 127.0.0.0/8 was excluded while connected, want 1", n)
	}
	flows := r.flows.Load()
	set.ExcludeCIDRs = nil
	if _, err := d.SetSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	if err := socks5Connect(socks.Host, echo, socks.User); err != nil {
		t.Fatal(err)
	}
	if got := r.flows.Load(); got != flows+1 {
		t.Errorf("%d flows through the circuit after the exclusion was lifted, want %d", got, flows+1)
	}
}

// TestCloseWhileCarrying closes connected daemons while a download runs
// through their circuit: Close returns, joins every goroutine the daemon
// started, and the download ends with an error rather than hanging.
func TestCloseWhileCarrying(t *testing.T) {
	w := newWorld(t, 2, 1)
	src := testutil.Source(t, "127.0.0.1:0").Addr
	for hops := 1; hops <= 3; hops++ {
		d, err := New(w.config())
		if err != nil {
			t.Fatal(err)
		}
		connect(t, d, hops)
		st := waitState(t, d, api.StateConnected)
		socks := socksURL(t, st)
		c, err := socks5Dial(socks.Host, src, socks.User)
		if err != nil {
			d.Close()
			t.Fatal(err)
		}
		if _, err := fmt.Fprintf(c, "%d\n", int64(1<<40)); err != nil {
			d.Close()
			t.Fatal(err)
		}
		done := make(chan error, 1)
		var got int64
		go func() {
			var buf [32 << 10]byte
			for {
				n, err := c.Read(buf[:])
				got += int64(n)
				if err != nil {
					done <- err
					return
				}
			}
		}()
		// The download is under way.
		testutil.WaitFor(t, "bytes through the circuit", time.Minute, func() bool {
			st, _ := d.Status(context.Background())
			return st.BytesDown > 1<<20
		})
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		checkJoined(t, fmt.Sprintf("close during a %d-hop download", hops))
		select {
		case err := <-done:
			t.Logf("%d hops: the download ended after %d bytes: %v", hops, got, err)
		case <-time.After(time.Minute):
			t.Fatalf("%d hops: the download still runs a minute after Close", hops)
		}
		c.Close()
	}
}

// TestCloseDuringStorm closes a connected daemon while goroutines keep
// calling Connect, Disconnect, SetSettings and the readers: Close returns
// and joins every goroutine the daemon started, every call made meanwhile
// or after returns (an error at most), and no session is left.
func TestCloseDuringStorm(t *testing.T) {
	w := newWorld(t, 2, 1)
	fastTicks(t, 5*time.Millisecond)
	for round := range 2 {
		d, err := New(w.config())
		if err != nil {
			t.Fatal(err)
		}
		connect(t, d, 2)
		waitState(t, d, api.StateConnected)
		ctx := context.Background()
		stop := make(chan struct{})
		var ops, after atomic.Int64 // calls made, and made after Close returned
		var isClosed atomic.Bool
		var wg sync.WaitGroup
		for g := range 6 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(g), uint64(round)))
				for {
					select {
					case <-stop:
						return
					default:
					}
					switch r.IntN(6) {
					case 0:
						d.Connect(ctx, api.ConnectRequest{Hops: 1 + r.IntN(3)})
					case 1:
						d.Disconnect(ctx)
					case 2:
						if set, err := d.Settings(ctx); err == nil {
							set.Hops = 1 + r.IntN(3)
							d.SetSettings(ctx, set)
						}
					case 3:
						d.Wallet(ctx)
					case 4:
						d.Budget(ctx)
					case 5:
						d.Circuit(ctx)
						d.Status(ctx)
					}
					ops.Add(1)
					if isClosed.Load() {
						after.Add(1)
					}
					time.Sleep(time.Duration(r.IntN(30)) * time.Millisecond)
				}
			})
		}
		// Close once calls are in flight: a few, or many.
		testutil.WaitFor(t, "calls before Close", time.Minute, func() bool { return ops.Load() >= int64(10+round*60) })
		closed := make(chan error, 1)
		go func() { closed <- d.Close() }()
		select {
		case err := <-closed:
			if err != nil {
				t.Errorf("round %d: close: %v", round, err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("round %d: Close has not returned in a minute", round)
		}
		// Calls after Close return too.
		isClosed.Store(true)
		testutil.WaitFor(t, "calls after Close", time.Minute, func() bool { return after.Load() >= 12 })
		close(stop)
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatalf("round %d: calls still blocked a minute after Close", round)
		}
		checkJoined(t, fmt.Sprintf("round %d: close during a storm", round))
		if n := settledSessions(0); n != 0 {
			t.Errorf("round %d: %d sessions run after Close", round, n)
		}
		if _, err := d.Connect(ctx, api.ConnectRequest{}); err == nil {
			t.Errorf("round %d: Connect after Close succeeded", round)
		}
	}
}

// TestBudgetRaisedBeforeRebuild raises the budget tenfold while connected
// and then loses the circuit: the hop account, sized for the old budget,
// is too small for the new one's depletion bound, so the plan refuses
// every node at that hop. The daemon tops the accounts up for the new
// budget and builds again at once, instead of holding the refusal against
// every node for ten minutes and reconnecting to nothing.
func TestBudgetRaisedBeforeRebuild(t *testing.T) {
	w := newWorld(t, 2, 1)
	d := w.daemon(w.config())
	ctx := context.Background()
	set, err := d.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	set.Hops, set.MonthlyBudget = 3, api.NewAmount(contracts.Ether(5))
	if _, err := d.SetSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	connect(t, d, 0)
	waitState(t, d, api.StateConnected)
	set.MonthlyBudget = api.NewAmount(contracts.Ether(50))
	if _, err := d.SetSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	s := d.sess
	d.mu.Unlock()
	s.mu.Lock()
	old := s.circuit
	s.mu.Unlock()
	old.Close()
	var st api.Status
	err = testutil.Until("a new circuit", 30*time.Second, func() bool {
		st, _ = d.Status(ctx)
		s.mu.Lock()
		defer s.mu.Unlock()
		return st.State == api.StateConnected && s.circuit != old
	})
	if err != nil {
		t.Fatalf("%v: state %s (%s)", err, st.State, st.Error)
	}
	checkCircuit(t, d, w.nodes, 3)
	carries(t, d, w.nodes, 1<<20)
}
