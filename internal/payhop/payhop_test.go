package payhop_test

import (
	"context"
	"errors"
	"math/big"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/chaintest"
	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/internal/payhop"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/relay"
	"github.com/pexia-network/pexia/wallet/budget"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/ticket"
)

// world is a chain, a paid exit node and a funded client.
type world struct {
	c      *chaintest.Chain
	cl     *chain.Client
	node   *hoptest.Node
	store  *ticket.Store
	recv   *ticket.Receiver
	issuer *ticket.Issuer
	payees []relay.PayeeSession
	states stateLog // wraps the newest payee
	stats  *payhop.TicketStats
	dst    string
}

// stateLog is a payee session that records when the node first saw each
// meter state (as a byte count carried and a time).
type stateLog struct {
	relay.PayeeSession
	mu    sync.Mutex
	first map[relay.MeterState]stateSeen
}

type stateSeen struct {
	at    time.Time
	bytes uint64
}

func (l *stateLog) State() relay.MeterState {
	s := l.PayeeSession.State()
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.first[s]; !ok {
		if l.first == nil {
			l.first = map[relay.MeterState]stateSeen{}
		}
		l.first[s] = stateSeen{time.Now(), payhop.Meter(l.PayeeSession).Bytes()}
	}
	return s
}

func (l *stateLog) seen(s relay.MeterState) (stateSeen, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.first[s]
	return v, ok
}

const nodeIdx, funderIdx = 2, 1

var (
	price     = big.NewInt(1e16) // per GB: 10^7 per byte
	claimCost = big.NewInt(1e12)
	face      = big.NewInt(5e13) // worth 5 MB
	// The node lets a client be 1 MB behind before throttling it and drops
	// it 4 MB behind; the client prepays 2 MB.
	nodeWindow = big.NewInt(1e13)
)

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{c: chaintest.New(t), stats: new(payhop.TicketStats)}
	c := w.c
	net := &contracts.Network{Name: "t", ChainID: c.ChainID, RPC: "http://127.0.0.1:1", Addresses: c.Addrs}
	var err error
	if w.cl, err = chain.New(net, c.Client, chain.Options{Mine: func() { c.Sim.Commit() }, ReceiptPoll: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	signerKey, _ := crypto.HexToECDSA("6666666666666666666666666666666666666666666666666666666666666666")
	c.Tx(funderIdx, c.Addrs.Lottery, c.Lot.PackDeposit(crypto.PubkeyToAddress(signerKey.PublicKey), contracts.Ether(5)), contracts.Ether(10))
	lot := ticket.Lottery{ChainID: c.ChainID, Address: c.Addrs.Lottery}
	accounts := ticket.ChainAccounts{Client: w.cl}
	if w.store, err = ticket.OpenStore(filepath.Join(t.TempDir(), "node.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.store.Close() })
	if w.recv, err = ticket.NewReceiver(ticket.ReceiverConfig{Lottery: lot, Recipient: c.Addr(nodeIdx), Accounts: accounts, Store: w.store,
		ClaimCost: func() *big.Int { return claimCost }, Grace: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	mk := payhop.Payee(w.recv, payhop.NodeTerms{PricePerGB: price, ClaimCost: claimCost, Window: nodeWindow, DebtLimit: new(big.Int).Mul(nodeWindow, big.NewInt(4)), Stats: w.stats})
	if w.node, err = hoptest.Start(true, relay.NodeConfig{Address: onion.Address(c.Addr(nodeIdx)), Payee: func() relay.PayeeSession {
		s := mk()
		w.payees = append(w.payees, s)
		w.states.PayeeSession = s
		return &w.states
	}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.node.Close)
	w.issuer = ticket.NewIssuer(lot, c.Addr(funderIdx), signerKey, accounts)
	w.dst = testutil.Source(t, "127.0.0.1:0").Addr
	return w
}

func download(ctx context.Context, c *hop.Circuit, dst string, n int64) (int64, error) {
	conn, err := c.Dial(ctx, "tcp", dst)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	return testutil.Download(conn, n)
}

// TestPaidCircuit: a client pays the exit with tickets inside the circuit
// while it downloads; the node's meter stays paid up and its winners are
// redeemed on chain.
func TestPaidCircuit(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	payer := payhop.Payer(w.issuer, payhop.ClientTerms{Face: face, WindowBytes: 2e6})
	c, err := hop.Build(ctx, []hop.HopInfo{w.node.Info}, hop.BuildConfig{Payer: payer})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const total = 64 << 20
	if n, err := download(ctx, c, w.dst, total); err != nil || n != total {
		t.Fatalf("paid download: %d bytes, %v", n, err)
	}
	m := payhop.Meter(w.payees[0])
	owed := new(big.Int).Div(new(big.Int).Mul(big.NewInt(int64(m.Bytes())), price), big.NewInt(1e9))
	t.Logf("node carried %d bytes (owed %v), balance %v, state %v", m.Bytes(), owed, m.Balance(), m.State())
	if m.Bytes() < total || m.State() != ticket.MeterOK {
		t.Fatalf("meter: %d bytes, state %v", m.Bytes(), m.State())
	}
	// The node redeems its winners: ~owed/face of them.
	red := ticket.NewRedeemer(ticket.RedeemerConfig{Store: w.store, Receiver: w.recv,
		Claimer: ticket.ChainClaimer{Client: w.cl, Key: w.c.Keys[nodeIdx]}})
	time.Sleep(10 * time.Millisecond) // past the reveal grace
	paid, err := red.RedeemOnce(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	earned, err := w.cl.Earnings(ctx, common.Address{}, w.c.Addr(nodeIdx))
	if err != nil || earned.Cmp(paid) != 0 {
		t.Fatalf("earnings %v (%v), redeemed %v", earned, err, paid)
	}
	t.Logf("node redeemed %v on chain for %v owed", paid, owed)
	if paid.Sign() == 0 {
		t.Fatal("no winner redeemed for a 64 MiB paid download")
	}
}

// stingy pays until told to stop.
type stingy struct {
	hop.PayerSession
	stop *atomic.Bool
}

func (s stingy) Due() *big.Int {
	if s.stop.Load() {
		return new(big.Int)
	}
	return s.PayerSession.Due()
}

// TestUnpaidCircuitThrottledThenDropped: a client that stops paying is
// slowed down, then its circuit is dropped with ErrUnpaid.
func TestUnpaidCircuitThrottledThenDropped(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stop atomic.Bool
	inner := payhop.Payer(w.issuer, payhop.ClientTerms{Face: face, WindowBytes: 2e6})
	payer := func(k int, node [20]byte, terms hop.Terms) (hop.PayerSession, error) {
		s, err := inner(k, node, terms)
		return stingy{s, &stop}, err
	}
	c, err := hop.Build(ctx, []hop.HopInfo{w.node.Info}, hop.BuildConfig{Payer: payer})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := download(ctx, c, w.dst, 4<<20); err != nil {
		t.Fatal(err)
	}
	stop.Store(true)
	_, err = download(ctx, c, w.dst, 64<<20)
	if err == nil {
		t.Fatal("64 MiB downloaded without paying")
	}
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("circuit not dropped")
	}
	if !errors.Is(c.Err(), hop.ErrUnpaid) {
		t.Fatalf("circuit ended with %v, want ErrUnpaid", c.Err())
	}
	m := payhop.Meter(w.payees[0])
	t.Logf("dropped after %d bytes, balance %v", m.Bytes(), m.Balance())
	// Between falling behind and being dropped the circuit was throttled:
	// it moved far slower than the paid download before it (which runs at
	// tens of MB/s), but it was not cut off at once.
	thr, ok := w.states.seen(relay.MeterThrottle)
	if !ok {
		t.Fatal("the node never throttled the circuit")
	}
	drop, ok := w.states.seen(relay.MeterDrop)
	if !ok {
		t.Fatal("the node never saw the circuit past its debt limit")
	}
	dur := drop.at.Sub(thr.at)
	rate := float64(drop.bytes-thr.bytes) / dur.Seconds()
	t.Logf("throttled for %v: %d bytes at %.0f KB/s", dur.Round(time.Millisecond), drop.bytes-thr.bytes, rate/1e3)
	if drop.bytes <= thr.bytes || dur < 100*time.Millisecond {
		t.Fatalf("throttle phase: %d → %d bytes in %v; want a slowed phase before the drop", thr.bytes, drop.bytes, dur)
	}
	// One 4 KiB cell per 20 ms of throttle delay, both directions, with
	// room for cells already in flight.
	if rate > 2e6 {
		t.Fatalf("throttled circuit moved %.0f KB/s", rate/1e3)
	}
}

// TestBudgetThrottlesPayments: with a budget engine in the payer, tickets
// are issued no faster than the budget's spend rate plus its burst, so a
// download that outruns the budget falls behind on payment and the node
// slows it down (then drops it); every ticket lands in the engine's ledger.
func TestBudgetThrottlesPayments(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// A one-hour period whose budget pays 0.1 MB/s at the node's price, with
	// a 40 s burst: ~4 MB of traffic may be paid at once.
	now := time.Now()
	eng, err := budget.New(budget.Config{
		Budget:      big.NewInt(36e14), // 10^12 per second over an hour
		PeriodStart: now.Add(-time.Second), PeriodEnd: now.Add(time.Hour - time.Second),
		ClaimCost: claimCost, Burst: 40 * time.Second, ClaimWindow: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	payer := payhop.Payer(w.issuer, payhop.ClientTerms{Face: face, WindowBytes: 1e6, Budget: eng, App: "test"})
	c, err := hop.Build(ctx, []hop.HopInfo{w.node.Info}, hop.BuildConfig{Payer: payer})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const total = 64 << 20
	dctx, dcancel := context.WithTimeout(ctx, 8*time.Second)
	defer dcancel()
	start := time.Now()
	n, derr := downloadCtx(dctx, c, w.dst, total)
	el := time.Since(start)
	st := eng.Status(time.Now())
	t.Logf("downloaded %d of %d bytes in %v (%v); %d tickets worth %v issued", n, total, el.Round(time.Millisecond), derr, st.Tickets, st.Issued)
	if n >= total {
		t.Fatal("the budget did not hold the download back")
	}
	// What was issued stays within the burst plus the rate since the start
	// plus one payment's worth (the last one admitted).
	limit := new(big.Int).Add(big.NewInt(4e13), new(big.Int).Mul(big.NewInt(1e12), big.NewInt(int64(el.Seconds())+2)))
	limit.Add(limit, payhop.BytesWorth(2e6, price))
	if st.Issued.Cmp(limit) > 0 {
		t.Fatalf("issued %v, more than the throttle allows (%v)", st.Issued, limit)
	}
	if st.Tickets == 0 {
		t.Fatal("no ticket recorded in the budget engine")
	}
	// Paid traffic is what the node carried before it held the client back:
	// at least the burst's worth.
	if got := payhop.Meter(w.payees[0]).Bytes(); got < 3e6 {
		t.Fatalf("node carried only %d bytes", got)
	}
}

// downloadCtx is download that gives up when ctx ends.
func downloadCtx(ctx context.Context, c *hop.Circuit, dst string, n int64) (int64, error) {
	conn, err := c.Dial(ctx, "tcp", dst)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	go func() { <-ctx.Done(); conn.Close() }()
	return testutil.Download(conn, n)
}
