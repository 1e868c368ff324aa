package relay_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/stream"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/relay"
)

func startShutdown(n *hoptest.Node, d time.Duration) (<-chan error, time.Time) {
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		done <- n.Node.Shutdown(ctx)
	}()
	return done, start
}

// TestShutdownDrains: a shutting-down exit refuses new circuits and
// streams, destroys an idle circuit at once, lets a busy stream finish, and
// returns as soon as the last circuit is gone.
func TestShutdownDrains(t *testing.T) {
	port := int(testutil.EchoTCP(t, "127.0.0.1:0").Port())
	dst := "127.0.0.1:" + itoa(port)
	stats := new(relay.NodeStats)
	exit := hoptest.StartExit(t, relay.NodeConfig{Stats: stats})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	busy := hoptest.Build(t, ctx, []hop.HopInfo{exit.Info}, hop.BuildConfig{})
	idle := hoptest.Build(t, ctx, []hop.HopInfo{exit.Info}, hop.BuildConfig{})
	conn, err := busy.Dial(ctx, "tcp", dst)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := testutil.RoundTrip(conn, "before"); err != nil {
		t.Fatal(err)
	}

	done, start := startShutdown(exit, 20*time.Second)
	select {
	case <-idle.Done():
		if err := idle.Err(); err == nil || !strings.Contains(err.Error(), "destroyed") {
			t.Errorf("idle circuit ended with %v, want a DESTROY", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("idle circuit not destroyed")
	}
	// The busy stream keeps working; new streams and circuits are refused.
	if err := testutil.RoundTrip(conn, "during"); err != nil {
		t.Fatalf("open stream during the drain: %v", err)
	}
	if c, err := busy.Dial(ctx, "tcp", dst); !isRefused(err, stream.ReasonResources) {
		if c != nil {
			c.Close()
		}
		t.Errorf("new stream during the drain: %v, want refused (resources)", err)
	}
	if c, err := hop.Build(ctx, []hop.HopInfo{exit.Info}, hop.BuildConfig{}); err == nil {
		c.Close()
		t.Error("new circuit built during the drain")
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with a stream open", err)
	default:
	}
	conn.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		t.Logf("drained in %v", time.Since(start).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return after the last stream closed")
	}
	<-busy.Done()
	s := stats.Snapshot()
	if s.CircuitsDestroyed[relay.CauseShutdown] != 2 || s.CircuitsRefused[relay.RefuseShutdown] != 1 || s.StreamsRefused[stream.ReasonResources] != 1 {
		t.Errorf("stats: destroyed %v, refused %v, streams refused %v", s.CircuitsDestroyed, s.CircuitsRefused, s.StreamsRefused)
	}
	if s.CircuitsActive[relay.RoleExit]+s.CircuitsActive[relay.RolePending] != 0 {
		t.Errorf("circuits still active: %v", s.CircuitsActive)
	}
}

// TestShutdownDeadline: a stream that does not finish within the drain
// time is cut, and Shutdown says so.
func TestShutdownDeadline(t *testing.T) {
	dst := testutil.EchoTCP(t, "127.0.0.1:0").Addr
	exit := hoptest.StartExit(t, relay.NodeConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := hoptest.Build(t, ctx, []hop.HopInfo{exit.Info}, hop.BuildConfig{})
	conn, err := c.Dial(ctx, "tcp", dst)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := testutil.RoundTrip(conn, "x"); err != nil {
		t.Fatal(err)
	}
	const drain = 500 * time.Millisecond
	done, start := startShutdown(exit, drain)
	select {
	case err := <-done:
		took := time.Since(start)
		if err == nil || !strings.Contains(err.Error(), "1 busy circuits destroyed") {
			t.Errorf("Shutdown = %v, want 1 busy circuit destroyed", err)
		}
		if took < drain || took > drain+3*time.Second {
			t.Errorf("Shutdown took %v with a %v drain time", took, drain)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Errorf("read on a cut stream: %v, want an error at once", err)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestShutdownRelayIdle: a relay sees no streams, so it destroys a
// relayed circuit once no cell has crossed it for a while.
func TestShutdownRelayIdle(t *testing.T) {
	dst := testutil.EchoTCP(t, "127.0.0.1:0").Addr
	mid, exit, rs, _ := statsNodes(t, relay.NodeConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := hop.Build(ctx, []hop.HopInfo{mid.Info, exit.Info}, hop.BuildConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conn, err := c.Dial(ctx, "tcp", dst)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	done, start := startShutdown(mid, 20*time.Second)
	// Traffic keeps the circuit alive...
	for i := 0; i < 8; i++ {
		if err := testutil.RoundTrip(conn, "busy"); err != nil {
			t.Fatalf("echo %d during the drain: %v", i, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("relay shut down (%v) while the circuit carried traffic", err)
	default:
	}
	// ...and silence ends it.
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		t.Logf("relay drained %v after start", time.Since(start).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatal("relay did not shut down an idle circuit")
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("client did not see the circuit end")
	}
	if got := rs.Snapshot().CircuitsDestroyed[relay.CauseShutdown]; got != 1 {
		t.Errorf("relay destroyed %d circuits for shutdown, want 1", got)
	}
}
