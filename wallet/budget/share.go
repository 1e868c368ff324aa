package budget

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// Unattributed is the application label of expected value no application
// has carried bytes for yet: a ticket whose window carried nothing (the
// prepayment of a new circuit) waits under it until the next window that
// carries bytes takes it over (Issue.Held).
const Unattributed = ""

// Share is one application's part of a ticket's window: the bytes it
// carried on the circuit the ticket paid for.
type Share struct {
	App   string
	Bytes uint64
}

// Split divides amount among shares in proportion to their bytes, in
// integers: each gets ⌊amount·bytes/total⌋, and the units left over go one
// each to the largest remainders, ties to the smaller label. Shares with
// the same label are merged first. The parts add up to amount exactly.
// With no bytes at all the whole amount goes to Unattributed. The result
// is sorted by label.
func Split(amount *big.Int, shares []Share) []Part {
	merged := map[string]uint64{}
	var total uint64
	for _, s := range shares {
		if s.Bytes == 0 {
			continue
		}
		merged[s.App] += s.Bytes
		total += s.Bytes
	}
	if total == 0 || amount.Sign() == 0 {
		if amount.Sign() == 0 && total > 0 {
			out := make([]Part, 0, len(merged))
			for app := range merged {
				out = append(out, Part{App: app, Amount: new(big.Int)})
			}
			sort.Slice(out, func(i, j int) bool { return out[i].App < out[j].App })
			return out
		}
		return []Part{{App: Unattributed, Amount: new(big.Int).Set(amount)}}
	}
	out := make([]Part, 0, len(merged))
	rems := make([]*big.Int, 0, len(merged))
	left := new(big.Int).Set(amount)
	tot := new(big.Int).SetUint64(total)
	for app, b := range merged {
		q, r := new(big.Int).QuoRem(new(big.Int).Mul(amount, new(big.Int).SetUint64(b)), tot, new(big.Int))
		out = append(out, Part{App: app, Amount: q})
		rems = append(rems, r)
		left.Sub(left, q)
	}
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool {
		if c := rems[idx[a]].Cmp(rems[idx[b]]); c != 0 {
			return c > 0
		}
		return out[idx[a]].App < out[idx[b]].App
	})
	// left < len(out): each floor lost less than one unit.
	for i := 0; left.Sign() > 0; i++ {
		out[idx[i]].Amount.Add(out[idx[i]].Amount, big.NewInt(1))
		left.Sub(left, big.NewInt(1))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].App < out[j].App })
	return out
}

// Part is an application's part of an amount.
type Part struct {
	App    string
	Amount *big.Int
}

// Issue is a ticket issued, for RecordIssuedShared.
type Issue struct {
	ExpectedValue, Face *big.Int
	Hop                 int
	Node                common.Address
	// Profile is the circuit profile the ticket's circuit serves.
	Profile string
	// Shares are the bytes each application carried on the circuit in the
	// window the ticket pays for; the expected value is split among them
	// (Split). Without bytes it waits under Unattributed.
	Shares []Share
	// Held is expected value recorded earlier under Unattributed for this
	// circuit's hop (windows that carried nothing) that this window's
	// shares take over. Nil or zero if none.
	Held *big.Int
}

// RecordIssuedShared records a ticket like RecordIssued, attributing its
// expected value (and Held) to applications by the bytes each carried in
// its window, and the whole to its profile. The applications' parts add
// up exactly to the expected value recorded, so the ByApp breakdown adds
// up to the period's issued total.
func (e *Engine) RecordIssuedShared(is Issue) error {
	ev, face := is.ExpectedValue, is.Face
	if ev == nil || ev.Sign() < 0 || face == nil || face.Sign() <= 0 || is.Hop < 0 || uint64(is.Hop) > math.MaxUint32 ||
		(is.Held != nil && is.Held.Sign() < 0) {
		return fmt.Errorf("%w: record issued: expected value %v, face %v, hop %d, held %v", ErrInvalidQuote, ev, face, is.Hop, is.Held)
	}
	now := e.cfg.Clock()
	e.mu.Lock()
	defer e.mu.Unlock()
	rollErr := e.rollLocked(now)
	b := e.issueLocked(now, ev, face)
	one := &record{Issued: ev, Tickets: 1}
	for _, k := range []recKey{
		{ByHop, string(hopKey(is.Hop))},
		{ByNode, string(is.Node[:])},
		{ByDay, e.day(now)},
		{ByProfile, string(appKey(is.Profile))},
	} {
		b.addTo(k, one)
	}
	amount := new(big.Int).Set(ev)
	var held *big.Int
	if is.Held != nil && is.Held.Sign() > 0 {
		held = is.Held
		amount.Add(amount, held)
	}
	parts := Split(amount, is.Shares)
	if held != nil && !(len(parts) == 1 && parts[0].App == Unattributed) {
		b.addTo(recKey{ByApp, string(appKey(Unattributed))}, &record{Issued: new(big.Int).Neg(held)})
	} else if held != nil {
		// Still nothing carried: what was held stays where it is.
		parts[0].Amount.Sub(parts[0].Amount, held)
	}
	for _, p := range parts {
		b.addTo(recKey{ByApp, string(appKey(p.App))}, &record{Issued: p.Amount, Tickets: 1})
	}
	var err error
	if now.Sub(e.lastFlush) >= e.cfg.FlushInterval {
		err = e.flushLocked(now)
	}
	return errors.Join(rollErr, err)
}

// issueLocked counts a ticket in the engine and the batch's totals.
func (e *Engine) issueLocked(now time.Time, ev, face *big.Int) *batch {
	e.issued.Add(e.issued, ev)
	e.faceSum.Add(e.faceSum, face)
	e.tickets++
	if e.firstIssue.IsZero() {
		e.firstIssue = now
	}
	b := e.batchLocked()
	b.issued.Add(b.issued, ev)
	b.faceSum.Add(b.faceSum, face)
	b.tickets++
	if b.firstIssue.IsZero() {
		b.firstIssue = now
	}
	return b
}

// RecordProfileWin records a winning ticket like RecordWin, under its
// hop, node, day and profile but under no application: a winner is the
// lottery's draw, not a price of bytes, so an application's spend is its
// share of expected value (RecordIssuedShared).
func (e *Engine) RecordProfileWin(amount *big.Int, hop int, node common.Address, profile string) error {
	return e.recordWin(amount, hop, node, ByProfile, profile)
}

// RecordTraffic adds t to application app's and profile's traffic in the
// current period (profile empty for flows that used no circuit: direct
// and blocked ones). t's Rule and Action, if set, become the ones shown.
// It is written with the next ledger write (within FlushInterval, or
// Flush).
func (e *Engine) RecordTraffic(app, profile string, t Traffic) error {
	now := e.cfg.Clock()
	e.mu.Lock()
	defer e.mu.Unlock()
	rollErr := e.rollLocked(now)
	b := e.batchLocked()
	d := &record{Up: t.Up, Down: t.Down, Flows: t.Flows, Blocked: t.Blocked, Rule: t.Rule, Action: t.Action}
	b.addTo(recKey{ByApp, string(appKey(app))}, d)
	if profile != "" {
		b.addTo(recKey{ByProfile, string(appKey(profile))}, &record{Up: t.Up, Down: t.Down, Flows: t.Flows})
	}
	var err error
	if now.Sub(e.lastFlush) >= e.cfg.FlushInterval {
		err = e.flushLocked(now)
	}
	return errors.Join(rollErr, err)
}
