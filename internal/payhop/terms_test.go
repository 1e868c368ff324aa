package payhop_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/chaintest"
	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/internal/payhop"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/relay"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/dir"
	"github.com/pexia-network/pexia/wallet/ticket"
)

// market is a chain with a funded client and paid exit nodes, each
// registered in the Registry at price per GB.
type market struct {
	c      *chaintest.Chain
	cl     *chain.Client
	dir    *dir.Directory
	issuer *ticket.Issuer
	nodes  map[int]*paidNode
	dst    string
}

// paidNode is a real in-process exit that charges what it announces.
type paidNode struct {
	addr common.Address
	node *hoptest.Node

	mu       sync.Mutex
	sessions int // payment sessions opened (one per circuit built through it)
	accepted int // payments it was sent
}

// countingPayee counts the payments a node is sent.
type countingPayee struct {
	relay.PayeeSession
	n *paidNode
}

func (p countingPayee) Accept(ctx context.Context, blob []byte) ([32]byte, error) {
	p.n.mu.Lock()
	p.n.accepted++
	p.n.mu.Unlock()
	return p.PayeeSession.Accept(ctx, blob)
}

func (n *paidNode) counts() (sessions, accepted int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sessions, n.accepted
}

func newMarket(t *testing.T) *market {
	t.Helper()
	m := &market{c: chaintest.New(t), nodes: map[int]*paidNode{}}
	c := m.c
	net := &contracts.Network{Name: "t", ChainID: c.ChainID, RPC: "http://127.0.0.1:1", Addresses: c.Addrs}
	var err error
	if m.cl, err = chain.New(net, c.Client, chain.Options{Mine: func() { c.Sim.Commit() }, ReceiptPoll: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	m.dir = dir.New(m.cl, c.Addrs)
	signerKey, _ := crypto.HexToECDSA("6666666666666666666666666666666666666666666666666666666666666666")
	c.Tx(funderIdx, c.Addrs.Lottery, c.Lot.PackDeposit(crypto.PubkeyToAddress(signerKey.PublicKey), contracts.Ether(5)), contracts.Ether(10))
	m.issuer = ticket.NewIssuer(ticket.Lottery{ChainID: c.ChainID, Address: c.Addrs.Lottery}, c.Addr(funderIdx), signerKey, ticket.ChainAccounts{Client: m.cl})
	m.dst = testutil.Source(t, "127.0.0.1:0").Addr
	return m
}

// start runs chain key idx as an exit registered at registered per GB that
// announces (and charges) price per GB and claim cost cost.
func (m *market) start(t *testing.T, idx int, registered, price, cost *big.Int) *paidNode {
	t.Helper()
	return m.startMin(t, idx, registered, price, cost, nil)
}

// startMin is start for a node that accepts no face value below minFace.
func (m *market) startMin(t *testing.T, idx int, registered, price, cost, minFace *big.Int) *paidNode {
	t.Helper()
	c := m.c
	store, err := ticket.OpenStore(filepath.Join(t.TempDir(), "node.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	recv, err := ticket.NewReceiver(ticket.ReceiverConfig{Lottery: ticket.Lottery{ChainID: c.ChainID, Address: c.Addrs.Lottery},
		Recipient: c.Addr(idx), Accounts: ticket.ChainAccounts{Client: m.cl}, Store: store,
		ClaimCost: func() *big.Int { return cost }, Grace: time.Millisecond, MinFace: minFace})
	if err != nil {
		t.Fatal(err)
	}
	mk := payhop.Payee(recv, payhop.NodeTerms{PricePerGB: price, ClaimCost: cost, Window: nodeWindow, DebtLimit: new(big.Int).Mul(nodeWindow, big.NewInt(4))})
	n := &paidNode{addr: c.Addr(idx)}
	if n.node, err = hoptest.Start(true, relay.NodeConfig{Address: onion.Address(n.addr), Payee: func() relay.PayeeSession {
		n.mu.Lock()
		n.sessions++
		n.mu.Unlock()
		return countingPayee{mk(), n}
	}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.node.Close)
	in := n.node.Info
	c.Tx(idx, c.Addrs.Registry, c.Reg.PackSet(in.URL, in.NoiseKey, in.Pin, common.Address{}, registered, [2]byte{'D', 'E'}, dir.RoleRelay|dir.RoleExit, ""), nil)
	m.nodes[idx] = n
	return n
}

// lookup reads a node's registry entry from the chain.
func (m *market) lookup(node common.Address) (dir.Node, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, ok, err := m.dir.Lookup(ctx, node)
	return n, ok && err == nil
}

// info is what the registry says to reach node.
func (m *market) info(t *testing.T, node common.Address) hop.HopInfo {
	n, ok := m.lookup(node)
	if !ok {
		t.Fatalf("node %s not registered", node)
	}
	return hop.HopInfo{Address: onion.Address(n.Address), URL: n.URL, Pin: link.Pin(n.TLSFingerprint), NoiseKey: n.HandshakeKey}
}

// TestDishonestClaimCostRefused: an exit announcing a claim cost of
// face − 1 (every ticket a sure winner, the whole face for each payment)
// is refused when the circuit is built, the pool builds through an honest
// exit instead, and the dishonest node is paid nothing.
func TestDishonestClaimCostRefused(t *testing.T) {
	m := newMarket(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	greedy := new(big.Int).Sub(face, big.NewInt(1))
	bad := m.start(t, 3, price, price, greedy)
	good := m.start(t, 2, price, price, claimCost)
	// The selector prefers the dishonest node while the pool does not ask
	// to avoid it.
	var picks []common.Address
	sel := func(_ context.Context, p hop.Profile) ([]hop.HopInfo, error) {
		for _, a := range []common.Address{bad.addr, good.addr} {
			if !slices.Contains(p.Avoid, onion.Address(a)) {
				picks = append(picks, a)
				return []hop.HopInfo{m.info(t, a)}, nil
			}
		}
		return nil, dir.ErrNoNode
	}
	payer := payhop.Payer(m.issuer, payhop.ClientTerms{Face: face, WindowBytes: 2e6, Check: &payhop.TermsCheck{Registry: m.lookup}})
	pool := hop.NewPool(sel, hop.BuildConfig{Payer: payer}, t.Logf)
	defer pool.Close()
	c, err := pool.Circuit(ctx, hop.Profile{Name: "p", Hops: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := common.Address(c.Hops()[0].Address); got != good.addr {
		t.Fatalf("circuit built through %s, want the honest node %s (the other announces claim cost face−1)", got, good.addr)
	}
	const total = 16 << 20
	if n, err := download(ctx, c, m.dst, total); err != nil || n != total {
		t.Fatalf("download: %d bytes, %v", n, err)
	}
	if is := m.issuer.IssuedTo(bad.addr); is.Tickets != 0 {
		t.Fatalf("the dishonest node was issued %d tickets (face %v)", is.Tickets, is.Face)
	}
	if _, acc := bad.counts(); acc != 0 {
		t.Fatalf("the dishonest node was sent %d payments", acc)
	}
	is := m.issuer.IssuedTo(good.addr)
	if is.Tickets == 0 {
		t.Fatal("the honest node was not paid")
	}
	// Tickets to the honest node are worth what it carried: 16 MiB at
	// price, plus the prepaid window, grossed up by face/(face−claim cost).
	owed := payhop.BytesWorth(total+4e6, price)
	owed.Mul(owed, face).Quo(owed, new(big.Int).Sub(face, claimCost))
	if is.Expected.Cmp(owed) > 0 {
		t.Fatalf("honest node issued expected value %v for at most %v of traffic", is.Expected, owed)
	}
	if r := pool.Refused(); len(r) != 1 || common.Address(r[0]) != bad.addr {
		t.Fatalf("pool refused %x, want the dishonest node", r)
	}
	t.Logf("picked %v; honest node paid %d tickets, expected value %v (face %v)", picks, is.Tickets, is.Expected, is.Face)
}

// TestPriceAboveRegistryOrCapRefused: a node announcing 1000× the price it
// registered is refused with no price cap set, and a node honest about a
// price above the user's cap is refused too; neither is paid.
func TestPriceAboveRegistryOrCapRefused(t *testing.T) {
	m := newMarket(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inflated := new(big.Int).Mul(price, big.NewInt(1000))
	liar := m.start(t, 3, price, inflated, claimCost)
	dear := m.start(t, 4, inflated, inflated, claimCost)
	cases := []struct {
		name       string
		node       *paidNode
		registered *big.Int
		cap        *big.Int
	}{
		{"1000x registry, no cap", liar, price, nil},
		{"1000x registry, cap at the registry price", liar, price, price},
		{"above the user's cap", dear, inflated, new(big.Int).Mul(price, big.NewInt(10))},
	}
	for _, tc := range cases {
		payer := payhop.Payer(m.issuer, payhop.ClientTerms{Face: face, WindowBytes: 2e6,
			Check: &payhop.TermsCheck{Registry: m.lookup, MaxPricePerGB: tc.cap}})
		c, err := hop.Build(ctx, []hop.HopInfo{m.info(t, tc.node.addr)}, hop.BuildConfig{Payer: payer})
		if err == nil {
			download(ctx, c, m.dst, 1<<20)
			c.Close()
			t.Fatalf("%s: built a circuit through %s, announcing %v per GB (registered %v, cap %v); it was issued %d tickets",
				tc.name, tc.node.addr, inflated, tc.registered, tc.cap, m.issuer.IssuedTo(tc.node.addr).Tickets)
		}
		var re *hop.RefusedError
		var te *payhop.TermsError
		if !errors.As(err, &re) || !errors.As(err, &te) || !errors.Is(err, hop.ErrTermsRefused) {
			t.Fatalf("%s: %v, want a refusal of the node's terms", tc.name, err)
		}
		if te.Term != "price" || te.Node != tc.node.addr || common.Address(re.Node) != tc.node.addr || te.Announced.Cmp(inflated) != 0 {
			t.Fatalf("%s: refused %+v", tc.name, te)
		}
		t.Logf("%s: %v", tc.name, err)
	}
	for _, n := range []*paidNode{liar, dear} {
		if is := m.issuer.IssuedTo(n.addr); is.Tickets != 0 {
			t.Fatalf("node %s was issued %d tickets", n.addr, is.Tickets)
		}
	}
	// The same node at its registered price and under the cap is paid.
	honest := m.start(t, 5, price, price, claimCost)
	payer := payhop.Payer(m.issuer, payhop.ClientTerms{Face: face, WindowBytes: 2e6,
		Check: &payhop.TermsCheck{Registry: m.lookup, MaxPricePerGB: price}})
	c, err := hop.Build(ctx, []hop.HopInfo{m.info(t, honest.addr)}, hop.BuildConfig{Payer: payer})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n, err := download(ctx, c, m.dst, 8<<20); err != nil || n != 8<<20 {
		t.Fatalf("download: %d, %v", n, err)
	}
}

// TestMinFaceAboveFaceRefused: a node that accepts no face value as small
// as the client's is refused when the circuit is built (it would refuse
// every ticket and drop the circuit as unpaid), and is paid nothing.
func TestMinFaceAboveFaceRefused(t *testing.T) {
	m := newMarket(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	minFace := new(big.Int).Mul(face, big.NewInt(2))
	n := m.startMin(t, 3, price, price, claimCost, minFace)
	payer := payhop.Payer(m.issuer, payhop.ClientTerms{Face: face, WindowBytes: 2e6, Check: &payhop.TermsCheck{Registry: m.lookup}})
	c, err := hop.Build(ctx, []hop.HopInfo{m.info(t, n.addr)}, hop.BuildConfig{Payer: payer})
	if err == nil {
		got, derr := download(ctx, c, m.dst, 16<<20)
		c.Close()
		t.Fatalf("built a circuit through a node whose minimum face is %v, above the client's %v: %d bytes (%v), %d tickets issued to it",
			minFace, face, got, derr, m.issuer.IssuedTo(n.addr).Tickets)
	}
	var te *payhop.TermsError
	if !errors.As(err, &te) || te.Term != "min face" || te.Announced.Cmp(minFace) != 0 {
		t.Fatalf("%v, want the node's minimum face refused", err)
	}
	if is := m.issuer.IssuedTo(n.addr); is.Tickets != 0 {
		t.Fatalf("issued %d tickets to it", is.Tickets)
	}
	t.Log(err)
}

// TestTermsCheck: each bound on its own, with the refused term named.
func TestTermsCheck(t *testing.T) {
	node := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	token := common.HexToAddress("0x00000000000000000000000000000000000000bb")
	reg := func(price int64, tok common.Address) func(common.Address) (dir.Node, bool) {
		return func(a common.Address) (dir.Node, bool) {
			return dir.Node{Address: a, PricePerGB: big.NewInt(price), Token: tok}, a == node
		}
	}
	face := big.NewInt(1e15)
	gasPrice := big.NewInt(1e9) // 1 gwei: claims up to 1.85e14
	terms := func(price, cost int64) hop.Terms {
		return hop.Terms{PricePerGB: big.NewInt(price), ClaimCost: big.NewInt(cost)}
	}
	cases := []struct {
		name  string
		check *payhop.TermsCheck
		node  common.Address
		terms hop.Terms
		term  string // "" for accepted
	}{
		{"honest", &payhop.TermsCheck{Registry: reg(100, common.Address{}), MaxClaimCost: func() *big.Int { return payhop.ClaimCostLimit(gasPrice) }}, node, terms(100, 5e13), ""},
		{"cheaper than registered", &payhop.TermsCheck{Registry: reg(100, common.Address{})}, node, terms(50, 0), ""},
		{"no check: claim cost face-1", nil, node, terms(100, 1e15-1), "claim cost"},
		{"claim cost above 5 % of face", &payhop.TermsCheck{}, node, terms(100, 5e13+1), "claim cost"},
		{"claim cost above the gas bound", &payhop.TermsCheck{MaxClaimCost: func() *big.Int { return payhop.ClaimCostLimit(big.NewInt(1e8)) }}, node, terms(100, 2e13), "claim cost"},
		{"unregistered", &payhop.TermsCheck{Registry: reg(100, common.Address{})}, common.Address{1}, terms(100, 0), "registry"},
		{"other token", &payhop.TermsCheck{Registry: reg(100, token)}, node, terms(100, 0), "token"},
		{"above registry", &payhop.TermsCheck{Registry: reg(100, common.Address{})}, node, terms(101, 0), "price"},
		{"above cap", &payhop.TermsCheck{MaxPricePerGB: big.NewInt(99)}, node, terms(100, 0), "price"},
		{"min face at face", nil, node, hop.Terms{PricePerGB: big.NewInt(1), ClaimCost: big.NewInt(0), MinFace: face}, ""},
		{"min face above face", nil, node, hop.Terms{PricePerGB: big.NewInt(1), ClaimCost: big.NewInt(0), MinFace: big.NewInt(1e15 + 1)}, "min face"},
	}
	for _, tc := range cases {
		err := tc.check.Check(1, tc.node, face, tc.terms)
		var te *payhop.TermsError
		switch {
		case tc.term == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.term != "" && (!errors.As(err, &te) || te.Term != tc.term || !errors.Is(err, hop.ErrTermsRefused)):
			t.Errorf("%s: %v, want the %s refused", tc.name, err, tc.term)
		case te != nil && (te.Node != tc.node || te.Hop != 1):
			t.Errorf("%s: error names node %s hop %d", tc.name, te.Node, te.Hop)
		}
	}
	if l := payhop.ClaimCostLimit(gasPrice); l.Cmp(big.NewInt(187_656e9)) != 0 { // 1 gwei × 46,914 × 4
		t.Errorf("ClaimCostLimit(1 gwei) = %v, want 187656000000000", l)
	}
}

// TestHonestRatioUnchanged: for an honest node the checked payer prices a
// payment exactly as before: ratio = RatioFor(amount, face − claim cost).
func TestHonestRatioUnchanged(t *testing.T) {
	m := newMarket(t)
	ctx := context.Background()
	node := m.c.Addr(2)
	check := &payhop.TermsCheck{Registry: func(common.Address) (dir.Node, bool) {
		return dir.Node{Address: node, PricePerGB: price}, true
	}, MaxPricePerGB: price, MaxClaimCost: func() *big.Int { return payhop.ClaimCostLimit(big.NewInt(1e9)) }}
	for _, tc := range []struct {
		name  string
		check *payhop.TermsCheck
	}{{"unchecked", nil}, {"checked", check}} {
		payer := payhop.Payer(m.issuer, payhop.ClientTerms{Face: face, WindowBytes: 2e6, Check: tc.check})
		s, err := payer(0, node, hop.Terms{Commit: [32]byte{1}, PricePerGB: price, ClaimCost: claimCost})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, amount := range []*big.Int{big.NewInt(1e12), big.NewInt(2e13), payhop.BytesWorth(2e6, price)} {
			blob, err := s.Pay(ctx, [32]byte{1}, amount)
			if err != nil {
				t.Fatal(err)
			}
			var pm struct{ Ticket *contracts.Signed }
			if err := json.Unmarshal(blob, &pm); err != nil {
				t.Fatal(err)
			}
			want := ticket.RatioFor(amount, new(big.Int).Sub(face, claimCost))
			if pm.Ticket.Ratio != want || pm.Ticket.FaceValue.Cmp(face) != 0 {
				t.Fatalf("%s: amount %v paid with ratio %d face %v, want ratio %d face %v", tc.name, amount, pm.Ticket.Ratio, pm.Ticket.FaceValue, want, face)
			}
		}
	}
}

// TestNodeClaimCostFollowsGas: a node's announced claim cost follows its
// current figure (ClaimCostNow), and each circuit is credited at the cost
// announced to it, so a client that priced its tickets by those terms is
// not left behind when the gas price moves.
func TestNodeClaimCostFollowsGas(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	var mu sync.Mutex
	cur := big.NewInt(1e12)
	now := func() *big.Int { mu.Lock(); defer mu.Unlock(); return new(big.Int).Set(cur) }
	store, err := ticket.OpenStore(filepath.Join(t.TempDir(), "node2.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	recv, err := ticket.NewReceiver(ticket.ReceiverConfig{Lottery: ticket.Lottery{ChainID: w.c.ChainID, Address: w.c.Addrs.Lottery},
		Recipient: w.c.Addr(nodeIdx), Accounts: ticket.ChainAccounts{Client: w.cl}, Store: store, ClaimCost: now})
	if err != nil {
		t.Fatal(err)
	}
	mk := payhop.Payee(recv, payhop.NodeTerms{PricePerGB: price, ClaimCost: claimCost, ClaimCostNow: now, Window: nodeWindow, DebtLimit: nodeWindow})
	s := mk()
	terms := s.Terms()
	if terms.ClaimCost.Cmp(big.NewInt(1e12)) != 0 {
		t.Fatalf("announced claim cost %v, want the current 1e12", terms.ClaimCost)
	}
	mu.Lock()
	cur = big.NewInt(2e12) // gas doubled after the circuit was built
	mu.Unlock()
	payer := payhop.Payer(w.issuer, payhop.ClientTerms{Face: face, WindowBytes: 2e6})
	ps, err := payer(0, w.c.Addr(nodeIdx), terms)
	if err != nil {
		t.Fatal(err)
	}
	amount := big.NewInt(2e13)
	blob, err := ps.Pay(ctx, terms.Commit, amount)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Accept(ctx, blob); err != nil {
		t.Fatal(err)
	}
	var pm struct{ Ticket *contracts.Signed }
	json.Unmarshal(blob, &pm)
	want := ticket.ExpectedValue(new(big.Int).Sub(face, big.NewInt(1e12)), pm.Ticket.Ratio)
	if got := payhop.Meter(s).Balance(); got.Cmp(want) != 0 {
		t.Fatalf("circuit credited %v, want %v (at the claim cost announced to it)", got, want)
	}
	if c := mk().Terms().ClaimCost; c.Cmp(big.NewInt(2e12)) != 0 {
		t.Fatalf("a new circuit is announced claim cost %v, want the current 2e12", c)
	}
}
