package relay_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/relay"
)

// TestNodeCloseWhileCircuitsStart closes an exit and a relay while clients
// keep building circuits through them, so Node.Close meets circuits that
// are becoming the exit or extending at that moment. Under -race this found
// close reading a circuit's exit mux and next hop while the goroutine
// serving the circuit set them.
func TestNodeCloseWhileCircuitsStart(t *testing.T) {
	echo := testutil.EchoTCP(t, "127.0.0.1:0").Addr
	for round := range 6 {
		mid, err := hoptest.Start(false, relayConfig())
		if err != nil {
			t.Fatal(err)
		}
		exit, err := hoptest.Start(true, relayConfig())
		if err != nil {
			mid.Close()
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		var wg sync.WaitGroup
		built := make(chan struct{}, 64)
		for range 12 {
			wg.Go(func() {
				for ctx.Err() == nil {
					paths := [][]hop.HopInfo{{exit.Info}, {mid.Info, exit.Info}}
					c, err := hop.Build(ctx, paths[len(built)%2], hop.BuildConfig{})
					if err != nil {
						return // the nodes are closing
					}
					select {
					case built <- struct{}{}:
					default:
					}
					// The first stream makes the last hop the exit.
					if conn, err := c.Dial(ctx, "tcp", echo); err == nil {
						conn.Close()
					}
					c.Close()
				}
			})
		}
		// Close once circuits are being built, with more on the way.
		select {
		case <-built:
		case <-ctx.Done():
			t.Fatalf("round %d: no circuit built", round)
		}
		exit.Close()
		mid.Close()
		cancel()
		wg.Wait()
	}
}

func relayConfig() relay.NodeConfig { return relay.NodeConfig{} }
