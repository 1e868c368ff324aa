package budget

import (
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	berrors "go.etcd.io/bbolt/errors"
)

var (
	nodeA = common.HexToAddress("0xaAaAaAaaAaAaAaaAaAAAAAAAAaaaAaAaAaaAaaAa")
	nodeB = common.HexToAddress("0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB")
	nodeC = common.HexToAddress("0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC")
)

// Spend recorded, the file closed and reopened: a new engine resumes the
// period's spend and throttle, and the totals per hop, node, app and day
// add up.
func TestLedgerSurvivesRestart(t *testing.T) {
	l, path := openLedger(t)
	clk := newFakeClock(march.Add(36 * time.Hour)) // March 2, 12:00
	cfg := Config{Budget: tokens(10), ClaimCost: bi(1e14), Clock: clk.Now, Ledger: l}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ev, face := bi(5e13), tokens(0.002)
	type rec struct {
		hop  int
		node common.Address
		app  string
		n    int // tickets
		wins int
	}
	recs := []rec{
		{0, nodeA, "browser", 30, 1},
		{1, nodeB, "browser", 30, 2},
		{2, nodeC, "browser", 30, 0},
		{0, nodeA, "video", 100, 4},
		{1, nodeB, "video", 100, 3},
		{2, nodeC, "video", 100, 6},
		{0, nodeA, "", 5, 0},
	}
	for i, r := range recs {
		if i == 3 {
			clk.Set(march.Add(60 * 24 * time.Hour / 24)) // March 3, 12:00
		}
		for j := 0; j < r.n; j++ {
			if err := e.RecordIssued(ev, face, r.hop, r.node, r.app); err != nil {
				t.Fatal(err)
			}
		}
		for j := 0; j < r.wins; j++ {
			if err := e.RecordWin(face, r.hop, r.node, r.app); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Unflushed issued tickets are written by Flush.
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	before := e.Status(clk.Now())
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l2, err := OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	cfg.Ledger = l2
	clk.Advance(time.Hour)
	e2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	after := e2.Status(clk.Now())
	if after.Spent.Cmp(before.Spent) != 0 || after.Issued.Cmp(before.Issued) != 0 || after.Tickets != before.Tickets || after.Wins != before.Wins {
		t.Fatalf("resumed %v spent, %v issued, %d/%d; was %v, %v, %d/%d",
			after.Spent, after.Issued, after.Tickets, after.Wins, before.Spent, before.Issued, before.Tickets, before.Wins)
	}
	if want := new(big.Int).Mul(face, bi(16)); after.Spent.Cmp(want) != 0 {
		t.Errorf("spent %v, want 16 faces %v", after.Spent, want)
	}

	type tot struct {
		key           string
		spentFaces    int64
		tickets, wins uint64
	}
	check := func(by string, want []tot) {
		t.Helper()
		got, err := l2.Totals(by)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("by %s: %d rows, want %d: %+v", by, len(got), len(want), got)
		}
		for i, w := range want {
			g := got[i]
			wantIssued := new(big.Int).Mul(ev, new(big.Int).SetUint64(w.tickets))
			if g.Key != w.key || g.Spent.Cmp(new(big.Int).Mul(face, bi(w.spentFaces))) != 0 ||
				g.Issued.Cmp(wantIssued) != 0 || g.Tickets != w.tickets || g.Wins != w.wins {
				t.Errorf("by %s row %d: %s spent %v issued %v %d tickets %d wins; want %+v", by, i, g.Key, g.Spent, g.Issued, g.Tickets, g.Wins, w)
			}
		}
	}
	// Sorted by actual spend, largest first; ties by issued, then key.
	check(ByHop, []tot{{"2", 6, 130, 6}, {"0", 5, 135, 5}, {"1", 5, 130, 5}})
	check(ByNode, []tot{{nodeC.Hex(), 6, 130, 6}, {nodeA.Hex(), 5, 135, 5}, {nodeB.Hex(), 5, 130, 5}})
	check(ByApp, []tot{{"video", 13, 300, 13}, {"browser", 3, 90, 3}, {"", 0, 5, 0}})
	check(ByDay, []tot{{"2026-03-02", 3, 90, 3}, {"2026-03-03", 13, 305, 13}})

	if _, err := l2.Totals("color"); err == nil {
		t.Error("unknown breakdown accepted")
	}
	ps, err := l2.TotalsFor(after.Period, ByApp)
	if err != nil || len(ps) != 3 {
		t.Errorf("TotalsFor: %v %v", ps, err)
	}
}

// The throttle's bucket survives a restart: restarting does not grant a
// fresh burst.
func TestLedgerResumesThrottle(t *testing.T) {
	l, path := openLedger(t)
	clk := newFakeClock(march)
	cfg := Config{Budget: tokens(10), ClaimCost: bi(1e14), Clock: clk.Now, Ledger: l}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := e.Params(webQuote, richAccount())
	if err != nil {
		t.Fatal(err)
	}
	for e.Allow(clk.Now(), tp) {
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l2, err := OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	cfg.Ledger = l2
	e2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if e2.Allow(clk.Now(), tp) {
		t.Error("a restart refilled the throttle")
	}
	if d, err := e2.Delay(clk.Now(), tp); err != nil || d <= 0 || d > time.Minute {
		t.Errorf("delay after restart %v %v", d, err)
	}
}

// A closed ledger makes writes fail with an error, never a panic; the
// spend still counts in memory, so the budget still holds.
func TestLedgerClosedErrors(t *testing.T) {
	l, path := openLedger(t)
	clk := newFakeClock(march)
	cfg := Config{Budget: tokens(10), ClaimCost: bi(1e14), Clock: clk.Now, Ledger: l}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	err = e.RecordWin(tokens(1), 0, nodeA, "x")
	if !errors.Is(err, berrors.ErrDatabaseNotOpen) {
		t.Fatalf("RecordWin on a closed ledger: %v", err)
	}
	t.Log(err)
	if st := e.Status(clk.Now()); st.Spent.Cmp(tokens(1)) != 0 {
		t.Errorf("spend lost from memory: %v", st.Spent)
	}
	if err := e.Flush(); err == nil {
		t.Error("Flush on a closed ledger succeeded")
	}
	if _, err := l.Totals(ByHop); err == nil {
		t.Error("Totals on a closed ledger succeeded")
	}
	if _, _, err := l.Current(); err == nil {
		t.Error("Current on a closed ledger succeeded")
	}
	// A new period cannot be loaded: the engine fails closed.
	if e.Allow(time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC), TicketParams{Face: bi(1), ExpectedValue: bi(1)}) {
		t.Error("allowed a ticket in a period it could not load")
	}
	if _, err := New(cfg); err == nil {
		t.Error("New on a closed ledger succeeded")
	}
	if _, err := OpenLedger(path + "/no/such/dir"); err == nil {
		t.Error("opened a ledger under a file")
	}
}
