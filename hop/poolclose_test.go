package hop_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/internal/testutil"
)

// TestPoolCloseJoinsBuilds: Close stops a build that is under way (here
// one whose selector waits on a directory that does not answer) and
// returns only once the pool's goroutines have ended; the caller waiting
// for that circuit learns the pool closed.
func TestPoolCloseJoinsBuilds(t *testing.T) {
	asked := make(chan struct{}, 1)
	sel := func(ctx context.Context, p hop.Profile) ([]hop.HopInfo, error) {
		select {
		case asked <- struct{}{}:
		default:
		}
		<-ctx.Done() // a directory read that hangs until it is given up
		return nil, ctx.Err()
	}
	pl := hop.NewPool(sel, hop.BuildConfig{}, testutil.NewLog(t).Logf)
	got := make(chan error, 1)
	go func() {
		_, err := pl.Circuit(context.Background(), hop.Profile{Name: "default", Hops: 3})
		got <- err
	}()
	<-asked
	pl.Close()
	// A goroutine that has signalled its end may still be on its way out;
	// none may still be inside a build or a watch.
	for _, g := range testutil.CreatedBy("github.com/pexia-network/pexia/hop.(*Pool)") {
		if strings.Contains(g, "hop.(*Pool).run(") || strings.Contains(g, "hop.(*Pool).watch(") {
			t.Fatalf("a goroutine of the pool still builds or watches after Close returned:\n%s", g)
		}
	}
	select {
	case err := <-got:
		if !errors.Is(err, hop.ErrCircuitClosed) {
			t.Errorf("Circuit: %v, want ErrCircuitClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Circuit still waiting 10 s after Close")
	}
}
