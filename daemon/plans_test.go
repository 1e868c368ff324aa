package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/chaintest"
	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/internal/payhop"
	"github.com/pexia-network/pexia/relay"
	"github.com/pexia-network/pexia/wallet/budget"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/ticket"
)

// faceRecorder is a node's payee session that records the face value of
// every ticket it accepted.
type faceRecorder struct {
	relay.PayeeSession
	mu    *sync.Mutex
	faces map[string]int
}

func (r faceRecorder) Accept(ctx context.Context, blob []byte) ([32]byte, error) {
	next, err := r.PayeeSession.Accept(ctx, blob)
	if err != nil {
		return next, err
	}
	var pm struct{ Ticket *contracts.Signed }
	if json.Unmarshal(blob, &pm) == nil && pm.Ticket != nil {
		r.mu.Lock()
		r.faces[pm.Ticket.FaceValue.String()]++
		r.mu.Unlock()
	}
	return next, nil
}

type pricedNode struct {
	info  hop.HopInfo
	mu    sync.Mutex
	faces map[string]int
}

func (n *pricedNode) seen() map[string]int {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := map[string]int{}
	for k, v := range n.faces {
		out[k] = v
	}
	return out
}

// pricedNodes starts one node per (price, minimum face) on loopback, paid
// into its own ticket receiver that refuses faces below its minimum; the
// last is an exit.
func pricedNodes(t *testing.T, c *chaintest.Chain, cl *chain.Client, prices, minFaces []*big.Int) []*pricedNode {
	lot := ticket.Lottery{ChainID: c.ChainID, Address: c.Addrs.Lottery}
	var out []*pricedNode
	for i := range prices {
		store, err := ticket.OpenStore(filepath.Join(t.TempDir(), "node.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		addr := c.Addr(2 + i)
		cost := big.NewInt(1e12)
		recv, err := ticket.NewReceiver(ticket.ReceiverConfig{Lottery: lot, Recipient: addr, Accounts: ticket.ChainAccounts{Client: cl},
			Store: store, ClaimCost: func() *big.Int { return cost }, MinFace: minFaces[i], Grace: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		window := big.NewInt(1e14)
		mk := payhop.Payee(recv, payhop.NodeTerms{PricePerGB: prices[i], ClaimCost: cost, Window: window, DebtLimit: new(big.Int).Mul(window, big.NewInt(4))})
		pn := &pricedNode{faces: map[string]int{}}
		n, err := hoptest.Start(i == len(prices)-1, relay.NodeConfig{Address: onion.Address(addr), Payee: func() relay.PayeeSession {
			return faceRecorder{mk(), &pn.mu, pn.faces}
		}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(n.Close)
		pn.info = n.Info
		out = append(out, pn)
	}
	return out
}

// TestTicketsFollowThePlan: with no flat face, pexiad's payments pay each
// hop of a real 3-hop circuit (tickets verified against the in-process EVM)
// the face value the budget engine plans from that node's terms: hops with
// different minimum faces get different faces, each the smallest its node
// accepts. The hop accounts are funded to the engine's Deposit, not in
// faces. A node whose minimum face is above what the budget's accounts
// back is refused with an error that says so.
func TestTicketsFollowThePlan(t *testing.T) {
	c := chaintest.New(t)
	n := &contracts.Network{Name: "t", ChainID: c.ChainID, RPC: "http://127.0.0.1:1", Addresses: c.Addrs}
	cl, err := chain.New(n, c.Client, chain.Options{Mine: func() { c.Sim.Commit() }, ReceiptPoll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	p, err := openPayments(c.Keys[1], nil, contracts.Ether(100), time.UTC, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := p.fund(ctx, cl, 3, t.Logf); err != nil {
		t.Fatal(err)
	}

	// The engine's smallest face follows the chain's gas price.
	gp, err := cl.GasPriceCeiling(ctx)
	if err != nil {
		t.Fatal(err)
	}
	engineMin := p.engine.MinFace()
	if want := new(big.Int).Mul(gp, big.NewInt(payhop.ClaimGas*budget.DefaultFaceToGasRatio)); engineMin.Cmp(want) != 0 {
		t.Fatalf("engine's min face %v, want the gas price %v × %d gas × %d = %v", engineMin, gp, payhop.ClaimGas, budget.DefaultFaceToGasRatio, want)
	}
	// The accounts hold the engine's deposit.
	d, err := p.engine.Deposit(p.horizon)
	if err != nil {
		t.Fatal(err)
	}
	for pos := range 3 {
		k, _ := p.account(pos, p.sched.Epoch(p.now()))
		a, _, err := cl.Account(ctx, [20]byte{}, k.Funder, k.Signer)
		if err != nil {
			t.Fatal(err)
		}
		if a.Balance.Cmp(d.Low) < 0 || a.Escrow.Cmp(new(big.Int).Sub(d.Escrow, new(big.Int).Rsh(d.Escrow, 3))) < 0 {
			t.Fatalf("hop %d account holds balance %v escrow %v; the engine's deposit is balance %v (top up below %v) escrow %v", pos, a.Balance, a.Escrow, d.Balance, d.Low, d.Escrow)
		}
	}
	if d.MaxFace.Cmp(new(big.Int).Mul(engineMin, big.NewInt(4))) < 0 {
		t.Fatalf("the deposit backs faces up to %v, too little above the engine's min face %v for this test", d.MaxFace, engineMin)
	}
	t.Logf("gas price %v: engine min face %v; deposit: spend %v, max face %v, balance %v, escrow %v", gp, engineMin, d.Spend, d.MaxFace, d.Balance, d.Escrow)

	// Three nodes with different prices and minimum faces: the entry asks
	// for a third of what the accounts back, the middle for half, the exit
	// for nothing above its claim cost.
	prices := []*big.Int{big.NewInt(1e16), big.NewInt(4e16), big.NewInt(2e16)}
	minFaces := []*big.Int{new(big.Int).Quo(d.MaxFace, big.NewInt(3)), new(big.Int).Quo(d.MaxFace, big.NewInt(2)), nil}
	nodes := pricedNodes(t, c, cl, prices, minFaces)
	want := []*big.Int{minFaces[0], minFaces[1], engineMin}
	var infos []hop.HopInfo
	for _, nd := range nodes {
		infos = append(infos, nd.info)
	}
	circ, err := hop.Build(ctx, infos, hop.BuildConfig{Payer: p.payer(n, cl, "test", nil, nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	sinkDownload(t, ctx, circ, 2<<20)
	circ.Close()
	for k, nd := range nodes {
		faces := nd.seen()
		if len(faces) != 1 || faces[want[k].String()] == 0 {
			t.Errorf("hop %d (price %v, min face %v) received tickets of faces %v, want all of the engine's plan %v", k, prices[k], minFaces[k], faces, want[k])
		}
	}

	// A node asking for more than the accounts back is refused, saying so.
	greedyMin := new(big.Int).Add(d.MaxFace, big.NewInt(1))
	greedy := pricedNodes(t, c, cl, []*big.Int{big.NewInt(1e16)}, []*big.Int{greedyMin})
	_, err = hop.Build(ctx, []hop.HopInfo{infos[0], greedy[0].info}, hop.BuildConfig{Payer: p.payer(n, cl, "test", nil, nil, nil)})
	var pe *payhop.PlanError
	if !errors.As(err, &pe) || !errors.Is(err, hop.ErrTermsRefused) || !errors.Is(err, budget.ErrUnderfunded) || pe.Hop != 1 ||
		!strings.Contains(err.Error(), "min face "+greedyMin.String()) {
		t.Fatalf("building through a node whose min face %v is above the %v the accounts back: %v", greedyMin, d.MaxFace, err)
	}
	t.Logf("refused: %v", err)
}
