package hop_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/relay"
)

// freePayer pays nothing.
type freePayer struct{}

func (freePayer) Carry(int)     {}
func (freePayer) Due() *big.Int { return new(big.Int) }
func (freePayer) Pay(context.Context, [32]byte, *big.Int) ([]byte, error) {
	return nil, errors.New("nothing is due")
}

// TestPoolAvoidsRefusedNode: a middle relay whose terms the payer refuses
// fails its build with a RefusedError naming it; the pool remembers it,
// does not build again through a sample that holds it (even from a
// selector that ignores Profile.Avoid), and builds through another relay.
func TestPoolAvoidsRefusedNode(t *testing.T) {
	paid := relay.NodeConfig{Payee: func() relay.PayeeSession {
		var mu sync.Mutex
		return &markedPayee{mu: &mu, got: new([]string)}
	}}
	var nodes []*hoptest.Node
	for i := 0; i < 4; i++ {
		n, err := hoptest.Start(i == 3, paid)
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		nodes = append(nodes, n)
	}
	entry, bad, good, exit := nodes[0], nodes[1], nodes[2], nodes[3]
	var asked sync.Map // node -> times the payer saw its terms
	payer := func(k int, node [20]byte, _ hop.Terms) (hop.PayerSession, error) {
		v, _ := asked.LoadOrStore(onion.Address(node), new(atomic.Int32))
		v.(*atomic.Int32).Add(1)
		if onion.Address(node) == bad.Info.Address {
			return nil, fmt.Errorf("claim cost too high: %w", hop.ErrTermsRefused)
		}
		return freePayer{}, nil
	}
	var picks atomic.Int32
	sel := func(_ context.Context, p hop.Profile) ([]hop.HopInfo, error) {
		if picks.Add(1) <= 3 {
			return []hop.HopInfo{entry.Info, bad.Info, exit.Info}, nil
		}
		return []hop.HopInfo{entry.Info, good.Info, exit.Info}, nil
	}
	pool := hop.NewPool(sel, hop.BuildConfig{Payer: payer}, t.Logf)
	defer pool.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pool.Circuit(ctx, hop.Profile{Name: "p", Hops: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Hops()[1].Address; got != good.Info.Address {
		t.Fatalf("middle %x, want the relay whose terms were accepted", got)
	}
	if v, _ := asked.Load(bad.Info.Address); v.(*atomic.Int32).Load() != 1 {
		t.Fatalf("the refused relay was handshaken %d times, want 1", v.(*atomic.Int32).Load())
	}
	if r := pool.Refused(); len(r) != 1 || r[0] != bad.Info.Address {
		t.Fatalf("pool refused %x", r)
	}
	// Build on its own says which hop and node.
	_, err = hop.Build(ctx, []hop.HopInfo{entry.Info, bad.Info, exit.Info}, hop.BuildConfig{Payer: payer})
	var re *hop.RefusedError
	if !errors.As(err, &re) || re.Hop != 1 || re.Node != bad.Info.Address || !errors.Is(err, hop.ErrTermsRefused) {
		t.Fatalf("Build: %v, want a RefusedError for hop 1", err)
	}
}
