package hop_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/relay"
)

// TestMiddleRelayDies: a middle relay is killed mid-transfer. The stream on
// the dead circuit gets an error instead of hanging, and a new stream rides
// a rebuilt circuit (fresh middle) within 3 s.
func TestMiddleRelayDies(t *testing.T) {
	dst := testutil.Transfer(t, "127.0.0.1:0").Addr
	var nodes []*hoptest.Node
	for i := 0; i < 4; i++ {
		n, err := hoptest.Start(i == 3, relay.NodeConfig{})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		nodes = append(nodes, n)
	}
	entry, middles, exit := nodes[0], nodes[1:3], nodes[3]
	var dead atomic.Int32
	dead.Store(-1)
	var picks atomic.Int32
	sel := func(ctx context.Context, p hop.Profile) ([]hop.HopInfo, error) {
		i := int(picks.Add(1)-1) % 2
		if int(dead.Load()) == i {
			i = 1 - i
		}
		return []hop.HopInfo{entry.Info, middles[i].Info, exit.Info}, nil
	}
	pool := hop.NewPool(sel, hop.BuildConfig{}, t.Logf)
	defer pool.Close()
	prof := hop.Profile{Name: "default", Hops: 3}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	c, err := pool.Circuit(ctx, prof)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pool.Dial(ctx, prof, "tcp", dst)
	if err != nil {
		t.Fatal(err)
	}
	// A long download: ask for far more than will arrive before the kill.
	fmt.Fprintf(conn, "%d\n", 0)
	conn.Close()
	conn, err = c.Dial(ctx, "tcp", dst)
	if err != nil {
		t.Fatal(err)
	}
	const huge = 1 << 40
	fmt.Fprintf(conn, "%d\n", huge)
	go io.Copy(conn, testutil.Pattern(1))
	readErr := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, conn)
		readErr <- err
	}()
	time.Sleep(500 * time.Millisecond)

	killed := 0 // the middle of the first circuit is the first pick
	dead.Store(int32(killed))
	middles[killed].Close()
	t0 := time.Now()

	select {
	case err := <-readErr:
		if err == nil {
			t.Fatal("stream on the dead circuit ended cleanly")
		}
		t.Logf("stream on the dead circuit failed after %v: %v", time.Since(t0).Round(time.Millisecond), err)
	case <-time.After(10 * time.Second):
		t.Fatal("stream on the dead circuit hung")
	}
	// New streams go to a new circuit.
	for {
		conn2, err := pool.Dial(ctx, prof, "tcp", dst)
		if err == nil {
			err = func() error {
				defer conn2.Close()
				fmt.Fprintf(conn2, "%d\n", 1000)
				io.CopyN(conn2, testutil.Pattern(1001), 1000)
				buf := make([]byte, 32+1000)
				_, err := io.ReadFull(conn2, buf)
				return err
			}()
		}
		if err == nil {
			break
		}
		if time.Since(t0) > 3*time.Second {
			t.Fatalf("no working circuit %v after the kill: %v", time.Since(t0), err)
		}
		if !errors.Is(err, hop.ErrCircuitClosed) {
			t.Logf("dial during rebuild: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("new stream working %v after the kill", time.Since(t0).Round(time.Millisecond))
	if c2, _ := pool.Circuit(ctx, prof); c2 == c {
		t.Fatal("pool still hands out the dead circuit")
	}
}
