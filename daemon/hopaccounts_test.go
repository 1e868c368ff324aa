package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/chaintest"
	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/internal/payhop"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/relay"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/hopacct"
	"github.com/pexia-network/pexia/wallet/ticket"
)

// seenBy records, at one node, the funder and signer of every ticket it
// accepted, the signer recovered from the ticket's signature, by the
// generation of the circuit that carried it (a circuit's last payments may
// arrive after the test moved on).
type seenBy struct {
	lot ticket.Lottery
	gen atomic.Int64

	mu      sync.Mutex
	funders map[int64]map[common.Address]int
	signers map[int64]map[common.Address]int
}

type recordingPayee struct {
	relay.PayeeSession
	s   *seenBy
	gen int64
}

func (r recordingPayee) Accept(ctx context.Context, blob []byte) ([32]byte, error) {
	next, err := r.PayeeSession.Accept(ctx, blob)
	if err != nil {
		return next, err
	}
	var pm struct{ Ticket *contracts.Signed }
	if json.Unmarshal(blob, &pm) == nil && pm.Ticket != nil {
		if signer, _, err := pm.Ticket.Signer(r.s.lot.ChainID, r.s.lot.Address); err == nil {
			r.s.mu.Lock()
			if r.s.funders[r.gen] == nil {
				r.s.funders[r.gen], r.s.signers[r.gen] = map[common.Address]int{}, map[common.Address]int{}
			}
			r.s.funders[r.gen][pm.Ticket.Funder]++
			r.s.signers[r.gen][signer]++
			r.s.mu.Unlock()
		}
	}
	return next, nil
}

// of returns what the node saw on circuits of generation gen.
func (s *seenBy) of(gen int64) (funders, signers map[common.Address]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.funders[gen]), maps.Clone(s.signers[gen])
}

// paidNodes starts a relay, a relay and an exit on loopback, each paid
// into its own ticket receiver and recording what it sees.
func paidNodes(t *testing.T, c *chaintest.Chain, cl *chain.Client) ([]hop.HopInfo, []*seenBy) {
	lot := ticket.Lottery{ChainID: c.ChainID, Address: c.Addrs.Lottery}
	var infos []hop.HopInfo
	var seen []*seenBy
	for i := range 3 {
		store, err := ticket.OpenStore(filepath.Join(t.TempDir(), "node.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		addr := c.Addr(2 + i)
		recv, err := ticket.NewReceiver(ticket.ReceiverConfig{Lottery: lot, Recipient: addr, Accounts: ticket.ChainAccounts{Client: cl},
			Store: store, ClaimCost: func() *big.Int { return big.NewInt(1e12) }, Grace: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		window := big.NewInt(1e14)
		mk := payhop.Payee(recv, payhop.NodeTerms{PricePerGB: big.NewInt(1e16), ClaimCost: big.NewInt(1e12), Window: window, DebtLimit: new(big.Int).Mul(window, big.NewInt(4))})
		s := &seenBy{lot: lot, funders: map[int64]map[common.Address]int{}, signers: map[int64]map[common.Address]int{}}
		n, err := hoptest.Start(i == 2, relay.NodeConfig{Address: onion.Address(addr), Payee: func() relay.PayeeSession {
			return recordingPayee{mk(), s, s.gen.Load()}
		}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(n.Close)
		infos = append(infos, n.Info)
		seen = append(seen, s)
	}
	return infos, seen
}

// sinkDownload fetches n bytes from a loopback [testutil.Source] through c.
func sinkDownload(t *testing.T, ctx context.Context, c *hop.Circuit, n int64) {
	conn, err := c.Dial(ctx, "tcp", testutil.Source(t, "127.0.0.1:0").Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got, err := testutil.Download(conn, n); err != nil || got != n {
		t.Fatalf("downloaded %d of %d bytes: %v", got, n, err)
	}
}

// circuitSeen builds a paid 3-hop circuit, downloads through it and
// returns the funders and signers each hop received tickets from.
func circuitSeen(t *testing.T, p *payments, n *contracts.Network, cl *chain.Client, infos []hop.HopInfo, seen []*seenBy) (funders, signers []map[common.Address]int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var gen int64
	for _, s := range seen {
		gen = s.gen.Add(1)
	}
	c, err := hop.Build(ctx, infos, hop.BuildConfig{Payer: p.payer(n, cl, "test", nil, nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	sinkDownload(t, ctx, c, 2<<20)
	c.Close()
	for k, s := range seen {
		f, sg := s.of(gen)
		if len(f) == 0 || len(sg) == 0 {
			t.Fatalf("hop %d received no ticket", k)
		}
		funders, signers = append(funders, f), append(signers, sg)
	}
	return funders, signers
}

// distinct fails unless no address was seen at two hops.
func distinct(t *testing.T, what string, seen []map[common.Address]int) {
	t.Helper()
	at := map[common.Address]int{}
	for k, m := range seen {
		for a := range m {
			if j, ok := at[a]; ok {
				t.Fatalf("hops %d and %d both received tickets from %s %s", j, k, what, a)
			}
			at[a] = k
		}
	}
}

// TestHopsSeeDistinctAccounts builds a real paid 3-hop circuit (WebRTC
// links, onion layers, tickets verified against a real in-process EVM) and
// records at every node the funder and signer of the tickets it accepts:
// no two hops see the same funder or signer, no hop sees the master
// funder, the deposits on chain come from the per-hop funders, and after a
// rotation every hop sees new addresses while the old accounts stay listed
// in the wallet until their money is back with the master.
func TestHopsSeeDistinctAccounts(t *testing.T) {
	c := chaintest.New(t)
	n := &contracts.Network{Name: "t", ChainID: c.ChainID, RPC: "http://127.0.0.1:1", Addresses: c.Addrs}
	cl, err := chain.New(n, c.Client, chain.Options{Mine: func() { c.Sim.Commit() }, ReceiptPoll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	infos, seen := paidNodes(t, c, cl)

	master := c.Keys[1]
	face := big.NewInt(1e15)
	p, err := openPayments(master, face, contracts.Ether(1_000_000), time.Local, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	var clock atomic.Pointer[time.Time]
	now := time.Now()
	clock.Store(&now)
	p.now = func() time.Time { return *clock.Load() }
	logf := func(f string, a ...any) { t.Logf(f, a...) }

	ctx := context.Background()
	masterBefore, _ := cl.Balance(ctx, common.Address{}, p.funder)
	if err := p.fund(ctx, cl, 3, logf); err != nil {
		t.Fatal(err)
	}
	funders, signers := circuitSeen(t, p, n, cl, infos, seen)
	t.Logf("epoch %d: funders seen per hop %v, signers %v", p.sched.Epoch(now), keysOf(funders), keysOf(signers))
	distinct(t, "funder", funders)
	distinct(t, "signer", signers)
	for k := range funders {
		if funders[k][p.funder] != 0 {
			t.Fatalf("hop %d received tickets funded by the master %s", k, p.funder)
		}
	}

	// The deposits came from the hop funders: the Lottery keys an account
	// by the address that deposited, and only the hop funders' accounts
	// hold money; the master's own account holds none.
	e0 := p.sched.Epoch(now)
	want := new(big.Int).Mul(face, big.NewInt(hopacct.HighFaces))
	for pos := range 3 {
		k, err := p.account(pos, e0)
		if err != nil {
			t.Fatal(err)
		}
		if funders[pos][k.Funder] == 0 || signers[pos][k.Signer] == 0 {
			t.Fatalf("hop %d saw %v / %v, not its account %s / %s", pos, keysOf(funders[pos:pos+1]), keysOf(signers[pos:pos+1]), k.Funder, k.Signer)
		}
		a, _, err := cl.Account(ctx, common.Address{}, k.Funder, k.Signer)
		if err != nil || a.Balance.Cmp(want) != 0 || a.Escrow.Cmp(new(big.Int).Mul(face, big.NewInt(hopacct.EscrowFaces))) != 0 {
			t.Fatalf("hop %d account (funder %s): balance %v escrow %v (%v), want balance %v", pos, k.Funder, a.Balance, a.Escrow, err, want)
		}
		if a, _, err := cl.Account(ctx, common.Address{}, p.funder, k.Signer); err != nil || a.Balance.Sign() != 0 {
			t.Fatalf("the master deposited for hop %d's signer: %v (%v)", pos, a.Balance, err)
		}
	}
	if a, _, err := cl.Account(ctx, common.Address{}, p.legacy.Funder, p.legacy.Signer); err != nil || a.Balance.Sign() != 0 {
		t.Fatalf("the master's own account holds %v (%v)", a.Balance, err)
	}

	// Rotation: a week later every hop is paid from new addresses.
	later := p.sched.End(e0).Add(time.Minute)
	clock.Store(&later)
	e1 := p.sched.Epoch(later)
	// Until the new epoch's accounts are funded, circuits keep paying from
	// the old ones rather than failing.
	waiting, _ := circuitSeen(t, p, n, cl, infos, seen)
	for k := range waiting {
		if len(waiting[k]) != 1 || waiting[k][keysFor(t, p, k, e0).Funder] == 0 {
			t.Fatalf("before the new epoch is funded hop %d saw funders %v", k, keysOf(waiting[k:k+1]))
		}
	}
	if err := p.fund(ctx, cl, 3, logf); err != nil {
		t.Fatal(err)
	}
	funders1, signers1 := circuitSeen(t, p, n, cl, infos, seen)
	t.Logf("epoch %d: funders seen per hop %v, signers %v", e1, keysOf(funders1), keysOf(signers1))
	distinct(t, "funder", funders1)
	distinct(t, "signer", signers1)
	distinct(t, "funder (across the rotation)", append(funders, funders1...))
	distinct(t, "signer (across the rotation)", append(signers, signers1...))

	// The wallet shows the rotation, the current accounts and the retired
	// ones with their money.
	d := &Daemon{pay: p, cl: cl}
	w, err := d.Wallet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if w.Epoch != e1 || !w.NextRotation.Equal(p.sched.End(e1)) || len(w.Signers) != 6 {
		t.Fatalf("wallet: epoch %d next %v, %d signers; want epoch %d next %v, 6", w.Epoch, w.NextRotation, len(w.Signers), e1, p.sched.End(e1))
	}
	states := map[string]int{}
	for _, s := range w.Signers {
		states[s.State]++
		if s.Funder == p.funder.Hex() || s.Balance.IsZero() {
			t.Fatalf("wallet lists %+v", s)
		}
	}
	if states[api.AccountCurrent] != 3 || states[api.AccountRetired] != 3 {
		t.Fatalf("wallet account states %v", states)
	}

	// Once no ticket of the old epoch can win, its accounts are warned,
	// withdrawn to the master after the Lottery's delay, and leave the
	// wallet; the new epoch's stay.
	past := p.sched.End(e0).Add(hopacct.Retention + time.Minute)
	clock.Store(&past)
	p.maintain(ctx, cl, 3, logf)
	// The nodes may be claiming winners meanwhile; the simulated chain
	// moves its clock only over an empty pending block, so mine first.
	for i := 0; ; i++ {
		c.Sim.Commit()
		err := c.Sim.AdjustTime(25 * time.Hour)
		if err == nil {
			break
		}
		if i == 100 {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.Sim.Commit()
	past = past.Add(25 * time.Hour)
	clock.Store(&past)
	p.maintain(ctx, cl, 3, logf)
	for _, e := range p.book.Entries() {
		if (e.Epoch == e0) != e.Done {
			t.Fatalf("book after reclaiming: %+v", e)
		}
	}
	for pos := range 3 {
		k, _ := p.account(pos, e0)
		a, _, _ := cl.Account(ctx, common.Address{}, k.Funder, k.Signer)
		fb, _ := cl.Balance(ctx, common.Address{}, k.Funder)
		if a.Balance.Sign() != 0 || a.Escrow.Sign() != 0 {
			t.Fatalf("retired account of hop %d still holds %v + %v", pos, a.Balance, a.Escrow)
		}
		t.Logf("retired hop %d funder keeps %v wei of dust", pos, fb)
	}
	if w, err = d.Wallet(ctx); err != nil || len(w.Signers) != 3 {
		t.Fatalf("wallet after reclaiming: %d signers (%v)", len(w.Signers), err)
	}
	masterAfter, _ := cl.Balance(ctx, common.Address{}, p.funder)
	locked := new(big.Int).Add(w.Balance.Big(), w.Escrow.Big())
	spent := new(big.Int).Sub(masterBefore, masterAfter)
	spent.Sub(spent, locked)
	t.Logf("master: %v locked in the current accounts, %v spent on tickets won, gas and dust", locked, spent)
	if spent.Sign() < 0 || spent.Cmp(new(big.Int).Mul(face, big.NewInt(20))) > 0 {
		t.Fatalf("master lost %v beyond what the current accounts hold", spent)
	}
}

func keysFor(t *testing.T, p *payments, pos int, epoch uint64) *hopacct.Keys {
	t.Helper()
	k, err := p.account(pos, epoch)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func keysOf(ms []map[common.Address]int) string {
	var out []string
	for _, m := range ms {
		var as []string
		for a := range m {
			as = append(as, a.Hex()[:10])
		}
		out = append(out, fmt.Sprint(as))
	}
	return fmt.Sprint(out)
}
