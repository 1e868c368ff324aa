package hop_test

import (
	"context"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/relay"
)

// waitingPayer owes something at once and waits to pay it, as a payer
// held back by the budget's throttle does, until its context ends.
type waitingPayer struct{ waiting chan struct{} }

func (p waitingPayer) Carry(int)     {}
func (p waitingPayer) Due() *big.Int { return big.NewInt(1) }
func (p waitingPayer) Pay(ctx context.Context, _ [32]byte, _ *big.Int) ([]byte, error) {
	select {
	case p.waiting <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestCloseEndsPaymentWait: closing a circuit whose payment waits (on the
// budget's throttle, which can mean minutes) ends that wait at once; the
// circuit's payment goroutine does not outlive it.
func TestCloseEndsPaymentWait(t *testing.T) {
	paid := relay.NodeConfig{Payee: func() relay.PayeeSession {
		var mu sync.Mutex
		return &markedPayee{mu: &mu, got: new([]string)}
	}}
	n, err := hoptest.Start(true, paid)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	p := waitingPayer{waiting: make(chan struct{}, 1)}
	payer := func(int, [20]byte, hop.Terms) (hop.PayerSession, error) { return p, nil }
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := hop.Build(ctx, []hop.HopInfo{n.Info}, hop.BuildConfig{Payer: payer})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.waiting:
	case <-time.After(30 * time.Second):
		t.Fatal("the circuit never asked for a payment")
	}
	c.Close()
	err = testutil.Until("the payment goroutine to end", 10*time.Second, func() bool {
		for _, g := range testutil.Stacks() {
			if strings.Contains(g, "hop.(*Circuit).payLoop") {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Fatalf("%v: a closed circuit still waits to pay", err)
	}
}
