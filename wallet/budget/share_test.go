package budget

import (
	"math/big"
	"math/rand/v2"
	"testing"
	"time"
)

// Split gives each application its floor share and the units left over
// to the largest remainders, ties to the smaller label, and the parts
// always add up to the amount.
func TestSplit(t *testing.T) {
	parts := func(ps []Part) map[string]int64 {
		m := map[string]int64{}
		for _, p := range ps {
			m[p.App] = p.Amount.Int64()
		}
		return m
	}
	cases := []struct {
		amount int64
		shares []Share
		want   map[string]int64
	}{
		// 10 by 1:1:1 → 3.33 each; the one unit left goes to "a".
		{10, []Share{{"c", 5}, {"b", 5}, {"a", 5}}, map[string]int64{"a": 4, "b": 3, "c": 3}},
		// 100 by 1:2 → 33.3, 66.6: the unit goes to the larger remainder.
		{100, []Share{{"x", 1}, {"y", 2}}, map[string]int64{"x": 33, "y": 67}},
		// Same label merged.
		{7, []Share{{"x", 1}, {"x", 1}, {"y", 2}}, map[string]int64{"x": 4, "y": 3}},
		// No bytes: all unattributed.
		{9, []Share{{"x", 0}}, map[string]int64{Unattributed: 9}},
		{9, nil, map[string]int64{Unattributed: 9}},
		// Nothing to split.
		{0, []Share{{"x", 3}}, map[string]int64{"x": 0}},
	}
	for _, c := range cases {
		got := parts(Split(big.NewInt(c.amount), c.shares))
		if len(got) != len(c.want) {
			t.Errorf("Split(%d, %v) = %v, want %v", c.amount, c.shares, got, c.want)
			continue
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("Split(%d, %v) = %v, want %v", c.amount, c.shares, got, c.want)
			}
		}
	}
	// Random amounts far beyond int64 and byte counts: exact sums, and no
	// part more than one unit from its exact share.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		amount := new(big.Int).Lsh(big.NewInt(rng.Int64N(1<<40)+1), uint(rng.IntN(60)))
		shares := make([]Share, 1+rng.IntN(6))
		var total uint64
		for j := range shares {
			shares[j] = Share{App: string(rune('a' + j)), Bytes: rng.Uint64N(1 << 40)}
			total += shares[j].Bytes
		}
		ps := Split(amount, shares)
		sum := new(big.Int)
		for _, p := range ps {
			sum.Add(sum, p.Amount)
			if total == 0 {
				continue
			}
			var b uint64
			for _, s := range shares {
				if s.App == p.App {
					b = s.Bytes
				}
			}
			exact := new(big.Int).Quo(new(big.Int).Mul(amount, new(big.Int).SetUint64(b)), new(big.Int).SetUint64(total))
			if d := new(big.Int).Sub(p.Amount, exact); d.Sign() < 0 || d.Cmp(big.NewInt(1)) > 0 {
				t.Fatalf("Split(%v, %v): %s got %v, floor share %v", amount, shares, p.App, p.Amount, exact)
			}
		}
		if sum.Cmp(amount) != 0 {
			t.Fatalf("Split(%v, %v) adds up to %v", amount, shares, sum)
		}
	}
}

// Tickets shared among applications by bytes, a prepayment whose window
// carried nothing held and taken over later, and traffic recorded: the
// per-app expected value adds up exactly to the period's issued total,
// per profile too, and all of it survives closing and reopening the
// ledger.
func TestAppSpendAddsUpAndSurvives(t *testing.T) {
	l, path := openLedger(t)
	clk := newFakeClock(march.Add(36 * time.Hour))
	e, err := New(Config{Budget: tokens(10), ClaimCost: bi(1e14), Clock: clk.Now, Ledger: l})
	if err != nil {
		t.Fatal(err)
	}
	face := tokens(0.002)
	// The prepayment: no bytes yet, held.
	if err := e.RecordIssuedShared(Issue{ExpectedValue: bi(1001), Face: face, Hop: 0, Node: nodeA, Profile: "fast"}); err != nil {
		t.Fatal(err)
	}
	// The next window: browser 2 MB, curl 1 MB; it takes over the 1001 held.
	if err := e.RecordIssuedShared(Issue{ExpectedValue: bi(500), Face: face, Hop: 0, Node: nodeA, Profile: "fast",
		Shares: []Share{{"1000:/usr/bin/browser", 2e6}, {"1000:/usr/bin/curl", 1e6}}, Held: bi(1001)}); err != nil {
		t.Fatal(err)
	}
	// Another hop of another profile, only curl.
	if err := e.RecordIssuedShared(Issue{ExpectedValue: bi(77), Face: face, Hop: 1, Node: nodeB, Profile: "far",
		Shares: []Share{{"1000:/usr/bin/curl", 5}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.RecordTraffic("1000:/usr/bin/curl", "fast", Traffic{Up: 10, Down: 1e6, Flows: 2, Rule: "tunnel (default)", Action: "tunnel"}); err != nil {
		t.Fatal(err)
	}
	if err := e.RecordTraffic("0:/usr/bin/bank", "", Traffic{Up: 5, Down: 6, Flows: 1, Blocked: 3, Rule: `direct (rule 1 "bank")`, Action: "direct"}); err != nil {
		t.Fatal(err)
	}
	if err := e.RecordProfileWin(face, 0, nodeA, "fast"); err != nil {
		t.Fatal(err)
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2, err := OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	cur, ok, err := l2.Current()
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if cur.Issued.Int64() != 1578 || cur.Spent.Cmp(face) != 0 {
		t.Fatalf("period issued %v spent %v, want 1578 and %v", cur.Issued, cur.Spent, face)
	}
	apps, err := l2.Totals(ByApp)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Total{}
	sum := new(big.Int)
	for _, a := range apps {
		got[a.Key] = a
		sum.Add(sum, a.Issued)
		if a.Spent.Sign() != 0 {
			t.Errorf("app %q has actual spend %v; wins are the profile's", a.Key, a.Spent)
		}
	}
	if sum.Cmp(cur.Issued) != 0 {
		t.Fatalf("per-app expected value adds up to %v, period issued %v: %+v", sum, cur.Issued, apps)
	}
	// 1501 by 2:1 → 1000.67, 500.33: browser 1001, curl 500; curl's 77.
	if g := got["1000:/usr/bin/browser"].Issued.Int64(); g != 1001 {
		t.Errorf("browser %d, want 1001", g)
	}
	if g := got["1000:/usr/bin/curl"].Issued.Int64(); g != 577 {
		t.Errorf("curl %d, want 577", g)
	}
	if g := got[Unattributed].Issued.Int64(); g != 0 {
		t.Errorf("unattributed %d, want 0 once taken over", g)
	}
	c := got["1000:/usr/bin/curl"]
	if c.Up != 10 || c.Down != 1e6 || c.Flows != 2 || c.Action != "tunnel" {
		t.Errorf("curl traffic %+v", c.Traffic)
	}
	b := got["0:/usr/bin/bank"]
	if b.Issued.Sign() != 0 || b.Up != 5 || b.Down != 6 || b.Blocked != 3 || b.Action != "direct" || b.Rule != `direct (rule 1 "bank")` {
		t.Errorf("bank %+v issued %v", b.Traffic, b.Issued)
	}
	profiles, err := l2.Totals(ByProfile)
	if err != nil {
		t.Fatal(err)
	}
	psum := new(big.Int)
	for _, p := range profiles {
		psum.Add(psum, p.Issued)
		if p.Key == "fast" && (p.Issued.Int64() != 1501 || p.Spent.Cmp(face) != 0 || p.Down != 1e6 || p.Tickets != 2) {
			t.Errorf("profile fast: %+v", p)
		}
	}
	if psum.Cmp(cur.Issued) != 0 {
		t.Errorf("per-profile expected value adds up to %v, period issued %v", psum, cur.Issued)
	}
}
