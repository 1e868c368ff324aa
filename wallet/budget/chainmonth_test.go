package budget_test

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/chaintest"
	"github.com/pexia-network/pexia/wallet/budget"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/ticket"
)

// TestSimulatedMonthOnChain runs a time-compressed month end to end on the
// real Lottery contract in an in-process EVM: the budget engine throttles
// and sets ticket parameters, an Issuer signs real tickets for a three-hop
// circuit, each hop's Receiver verifies them and stores winners, Redeemers
// claim winners on chain in batches, and the client learns its actual spend
// from the contract's Won events for its account. Demand is bursty and
// at least 1.5 times what the budget buys.
//
// The month must end with the money the contract paid out of the account
// within ±1 % of the budget, and never above budget + one face value.
func TestSimulatedMonthOnChain(t *testing.T) {
	if testing.Short() {
		t.Skip("a month of tickets on the EVM takes a while; skipped with -short")
	}
	ctx := context.Background()
	c := chaintest.New(t)
	net := &contracts.Network{Name: "sim", ChainID: c.ChainID, RPC: "http://127.0.0.1:1", Addresses: c.Addrs}
	cl, err := chain.New(net, c.Client, chain.Options{Mine: func() { c.Sim.Commit() }, ReceiptPoll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	const funderIdx = 1
	unit := contracts.Ether(1)
	budgetAmt := contracts.Ether(10)
	claimCost := big.NewInt(25e13) // nodes' MinFace: 20 × = 0.005 tokens
	signerKey, _ := crypto.HexToECDSA("5555555555555555555555555555555555555555555555555555555555555555")
	signer := crypto.PubkeyToAddress(signerKey.PublicKey)
	c.Tx(funderIdx, c.Addrs.Lottery, c.Lot.PackDeposit(signer, contracts.Ether(1)), contracts.Ether(12)) // balance 11, escrow 1
	acctKey := contracts.AccountKey(common.Address{}, c.Addr(funderIdx), signer)

	start := time.Unix(int64(c.Now()), 0).UTC()
	end := start.Add(30 * 24 * time.Hour)
	now := start
	clock := func() time.Time { return now }
	lot := ticket.Lottery{ChainID: c.ChainID, Address: c.Addrs.Lottery}
	accounts := ticket.ChainAccounts{Client: cl}

	ledger, err := budget.OpenLedger(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.Close()
	eng, err := budget.New(budget.Config{Budget: budgetAmt, PeriodStart: start, PeriodEnd: end, ClaimCost: claimCost, Clock: clock, Ledger: ledger})
	if err != nil {
		t.Fatal(err)
	}
	issuer := ticket.NewIssuer(lot, c.Addr(funderIdx), signerKey, accounts)
	issuer.SetClock(clock)

	// Three hops, each a node with its own key, store, receiver and redeemer.
	type hop struct {
		addr   common.Address
		key    *ecdsa.PrivateKey
		recv   *ticket.Receiver
		red    *ticket.Redeemer
		commit common.Hash
	}
	var hops []*hop
	for i := 0; i < 3; i++ {
		h := &hop{key: c.Keys[2+i], addr: c.Addr(2 + i)}
		store, err := ticket.OpenStore(filepath.Join(t.TempDir(), fmt.Sprintf("node%d.db", i)))
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		h.recv, err = ticket.NewReceiver(ticket.ReceiverConfig{Lottery: lot, Recipient: h.addr, Accounts: accounts, Store: store,
			MinFace: new(big.Int).Mul(claimCost, big.NewInt(20)), ClaimCost: func() *big.Int { return claimCost }, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		h.red = ticket.NewRedeemer(ticket.RedeemerConfig{Store: store, Receiver: h.recv, Now: clock, BatchSize: 64,
			Claimer: ticket.ChainClaimer{Client: cl, Key: h.key}, ClaimCost: func() *big.Int { return claimCost }})
		h.commit = h.recv.Commit()
		hops = append(hops, h)
	}
	const chunk = 16 << 20 // bytes each hop is paid for by one ticket
	quotes := []budget.HopQuote{
		{Hop: 0, PricePerGB: contracts.Ether(1), BytesPerTicket: chunk},
		{Hop: 1, PricePerGB: contracts.Ether(1), BytesPerTicket: chunk},
		{Hop: 2, PricePerGB: contracts.Ether(3), BytesPerTicket: chunk},
	}
	for i := range quotes {
		quotes[i].PricePerGB.Div(quotes[i].PricePerGB, big.NewInt(100)) // 0.01, 0.01, 0.03 tokens/GB
	}

	// What the client issued, to attribute winners to hop and application.
	type issued struct {
		hop int
		app string
	}
	byID := map[common.Hash]issued{}
	spent := new(big.Int)
	maxFace := new(big.Int)
	lastBlock := uint64(0)
	wins := 0
	lotc := c.Lot.Instance(c.Client, c.Addrs.Lottery)
	// collect learns winners paid from the account since the last call.
	collect := func() {
		head, err := c.Client.BlockNumber(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if head <= lastBlock {
			return
		}
		it, err := bind.FilterEvents(lotc, &bind.FilterOpts{Start: lastBlock + 1, End: &head, Context: ctx}, c.Lot.UnpackWonEvent, nil, []any{acctKey})
		if err != nil {
			t.Fatal(err)
		}
		for it.Next() {
			e := it.Value()
			is, ok := byID[e.Ticket]
			if !ok {
				t.Fatalf("paid ticket %x was never issued", e.Ticket)
			}
			spent.Add(spent, e.Amount)
			wins++
			if err := eng.RecordWin(e.Amount, is.hop, hops[is.hop].addr, is.app); err != nil {
				t.Fatal(err)
			}
		}
		if err := it.Error(); err != nil {
			t.Fatal(err)
		}
		it.Close()
		lastBlock = head
	}
	redeem := func(force bool) {
		for _, h := range hops {
			if _, err := h.red.RedeemOnce(ctx, force); err != nil {
				t.Fatal(err)
			}
		}
		collect()
		if err := cl.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}

	var params []budget.TicketParams
	refresh := func() {
		acct, _, err := cl.Account(ctx, common.Address{}, c.Addr(funderIdx), signer)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := eng.CircuitParams(quotes, acct)
		if err != nil {
			params = nil
			return
		}
		params = ps
	}

	rng := rand.New(rand.NewPCG(11, 2026))
	const step = 10 * time.Second
	var rate, owed, demand float64
	var app string
	tickets, next := 0, 0
	for ; now.Before(end); now = now.Add(step) {
		el := now.Sub(start)
		if el%(10*time.Minute) == 0 {
			redeem(false)
			// The next 10 minutes: asleep 01:00–08:00 and away days 10–12;
			// otherwise a video burst one slot in ten, browsing half the time.
			h, day, r := now.Hour(), int(el/(24*time.Hour)), rng.Float64()
			switch {
			case h >= 1 && h < 8, day >= 9 && day <= 11:
				rate, app = 0, ""
			case r < 0.1:
				rate, app = (0.5+4*rng.Float64())*1e6, "video"
			case r < 0.6:
				rate, app = 30e3, "browser"
			default:
				rate, app = 0, ""
			}
		}
		if el%time.Hour == 0 {
			refresh()
		}
		owed += rate * step.Seconds()
		demand += rate * step.Seconds()
		for params != nil && owed >= chunk {
			tp := params[next]
			if !eng.Allow(now, tp) {
				break
			}
			h := hops[tp.Hop]
			s, err := issuer.Issue(ctx, h.addr, h.commit, tp.Face, tp.Ratio, time.Hour)
			if err != nil {
				t.Fatalf("%v: issue: %v", now, err)
			}
			rc, err := h.recv.Accept(ctx, signer, s)
			if err != nil {
				t.Fatalf("%v: hop %d refused a ticket: %v", now, tp.Hop, err)
			}
			h.commit = rc.Commit
			id, _ := s.Digest(lot.ChainID, lot.Address)
			byID[id] = issued{tp.Hop, app}
			if err := eng.RecordIssued(tp.ExpectedValue, tp.Face, tp.Hop, h.addr, app); err != nil {
				t.Fatal(err)
			}
			if tp.Face.Cmp(maxFace) > 0 {
				maxFace.Set(tp.Face)
			}
			tickets++
			if next++; next == len(params) {
				next = 0
				owed -= chunk
			}
		}
		if owed > 64*chunk {
			owed = 64 * chunk // a user does not queue hours of unmet demand
		}
	}
	// The month is over: nodes claim what is left.
	now = now.Add(time.Minute)
	redeem(true)

	// What left the account on chain is what the client was told it spent.
	out, err := c.Lot.UnpackAccount(c.Call(c.Addrs.Lottery, c.Lot.PackAccount(common.Address{}, c.Addr(funderIdx), signer)))
	if err != nil {
		t.Fatal(err)
	}
	onChain := new(big.Int).Sub(contracts.Ether(11), out.Balance)
	if onChain.Cmp(spent) != 0 || out.Escrow.Cmp(contracts.Ether(1)) != 0 {
		t.Fatalf("account paid %v (escrow %v), Won events say %v", onChain, out.Escrow, spent)
	}
	earned := new(big.Int)
	for _, h := range hops {
		e, _ := c.Lot.UnpackEarnings(c.Call(c.Addrs.Lottery, c.Lot.PackEarnings(common.Address{}, h.addr)))
		earned.Add(earned, e)
	}
	if earned.Cmp(spent) != 0 {
		t.Fatalf("nodes earned %v, account paid %v", earned, spent)
	}
	st := eng.Status(now)
	if st.Spent.Cmp(spent) != 0 {
		t.Fatalf("engine believes it spent %v, chain says %v", st.Spent, spent)
	}
	byHop, err := ledger.TotalsFor(budget.Period{Start: start, End: end}, budget.ByHop)
	if err != nil {
		t.Fatal(err)
	}
	sumHops := new(big.Int)
	for _, tot := range byHop {
		sumHops.Add(sumHops, tot.Spent)
	}
	if sumHops.Cmp(spent) != 0 {
		t.Fatalf("ledger per hop sums to %v, spent %v", sumHops, spent)
	}

	f := func(x *big.Int) float64 { v, _ := new(big.Rat).SetFrac(x, unit).Float64(); return v }
	t.Logf("demand %.0f GB; %d tickets, %d winners paid on chain; spent %.4f of %.4f tokens (%+.2f %%), max face %.4f",
		demand/1e9, tickets, wins, f(spent), f(budgetAmt), 100*(f(spent)/f(budgetAmt)-1), f(maxFace))
	// The circuit costs 0.05 token/GB, so the budget buys 200 GB; the
	// month's demand must be at least 1.5 times that. (It is about 440 GB,
	// a little more or less with the hour the test starts at, which shifts
	// the nights.)
	if bought := f(budgetAmt) / 0.05 * 1e9; demand < 1.5*bought {
		t.Fatalf("demand %.0f GB is not 1.5 times the %.0f GB the budget buys", demand/1e9, bought/1e9)
	}
	limit := new(big.Int).Add(budgetAmt, maxFace)
	if spent.Cmp(limit) > 0 {
		t.Fatalf("spent %v, above budget + one face %v", spent, limit)
	}
	// Runs land within 0.1 % (the winners are random: each node's reveals
	// are); spend never passes the budget by more than a face (0.05 %).
	if dev := f(spent)/f(budgetAmt) - 1; dev < -0.01 || dev > 0.01 {
		t.Fatalf("spent %.4f tokens, %.2f %% off the budget (want within ±1 %%)", f(spent), 100*dev)
	}
}
