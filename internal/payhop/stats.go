package payhop

import (
	"errors"
	"math"
	"math/big"
	"sync"
	"sync/atomic"

	"github.com/pexia-network/pexia/wallet/ticket"
)

// RefusedReason says why a node refused a ticket; it is the metric label of
// the refusal.
type RefusedReason uint8

// Refusal reasons: one per wallet/ticket error, plus a payment that did not
// decode and anything else.
const (
	RefusedMalformed      RefusedReason = iota // the PAY blob did not decode
	RefusedBadSignature                        // ticket.ErrBadSignature
	RefusedReplayed                            // ticket.ErrReplayed
	RefusedExpired                             // ticket.ErrExpired
	RefusedWrongRecipient                      // ticket.ErrWrongRecipient
	RefusedUnderfunded                         // ticket.ErrUnderfunded
	RefusedFaceTooLow                          // ticket.ErrFaceTooLow
	RefusedChain                               // ticket.ErrChain: the funder's account could not be read
	RefusedOther                               // anything else, such as a failure to store a winner
	numRefused
)

var refusedNames = [numRefused]string{"malformed", "bad_signature", "replayed", "expired", "wrong_recipient", "underfunded", "face_too_low", "chain_unavailable", "other"}

// String returns the reason's metric label.
func (r RefusedReason) String() string {
	if r < numRefused {
		return refusedNames[r]
	}
	return "unknown"
}

var refusedErrs = []struct {
	err    error
	reason RefusedReason
}{
	{ticket.ErrBadSignature, RefusedBadSignature},
	{ticket.ErrReplayed, RefusedReplayed},
	{ticket.ErrExpired, RefusedExpired},
	{ticket.ErrWrongRecipient, RefusedWrongRecipient},
	{ticket.ErrUnderfunded, RefusedUnderfunded},
	{ticket.ErrFaceTooLow, RefusedFaceTooLow},
	{ticket.ErrChain, RefusedChain},
}

// TicketStats counts the tickets a node's payee sessions handle. The zero
// value is ready; a nil *TicketStats counts nothing. Safe for concurrent
// use.
type TicketStats struct {
	accepted atomic.Uint64
	winners  atomic.Uint64
	carried  atomic.Uint64
	refusedN [numRefused]atomic.Uint64

	mu       sync.Mutex
	revenue  Revenue // the amounts of Revenue; guarded by mu
	variance float64 // Σ p(1−p)F² of accepted tickets; guarded by mu
}

// Revenue is what a node was paid for its traffic, for comparing what it
// carried at its price with what its tickets won. Amounts are in the
// token's smallest unit.
type Revenue struct {
	// CarriedBytes is the traffic the node metered for payment.
	CarriedBytes uint64
	// ExpectedValue is Σ p·F of the tickets accepted, Credited the same
	// net of each circuit's announced claim cost, Σ p·(F − C): what the
	// meters credited against the traffic.
	ExpectedValue, Credited *big.Int
	// Won is the face value of the winners stored, ClaimCosts the claim
	// cost announced with each of them: Won − ClaimCosts is what the node
	// keeps after claiming.
	Won, ClaimCosts *big.Int
	// WonSD is the standard deviation of Won predicted by the tickets
	// accepted: √Σ p(1−p)F², in the smallest unit.
	WonSD float64
}

// Due is what the carried bytes cost at pricePerGB (per 10^9 bytes).
func (r Revenue) Due(pricePerGB *big.Int) *big.Int {
	d := new(big.Int).Mul(new(big.Int).SetUint64(r.CarriedBytes), pricePerGB)
	return d.Quo(d, big.NewInt(1_000_000_000))
}

// TicketSnapshot is a copy of the counters.
type TicketSnapshot struct {
	Accepted uint64 // tickets verified and credited
	Winners  uint64 // accepted tickets that won and were stored for claiming
	// Refused has an entry for every reason, zero or not.
	Refused map[RefusedReason]uint64
	Revenue Revenue
}

// Snapshot copies the counters.
func (s *TicketStats) Snapshot() TicketSnapshot {
	out := TicketSnapshot{Refused: map[RefusedReason]uint64{}}
	for r := range numRefused {
		out.Refused[r] = 0
		if s != nil {
			out.Refused[r] = s.refusedN[r].Load()
		}
	}
	out.Revenue = Revenue{ExpectedValue: new(big.Int), Credited: new(big.Int), Won: new(big.Int), ClaimCosts: new(big.Int)}
	if s != nil {
		out.Accepted, out.Winners = s.accepted.Load(), s.winners.Load()
		s.mu.Lock()
		for _, x := range [][2]*big.Int{{out.Revenue.ExpectedValue, s.revenue.ExpectedValue}, {out.Revenue.Credited, s.revenue.Credited},
			{out.Revenue.Won, s.revenue.Won}, {out.Revenue.ClaimCosts, s.revenue.ClaimCosts}} {
			if x[1] != nil {
				x[0].Set(x[1])
			}
		}
		out.Revenue.WonSD = math.Sqrt(s.variance)
		s.mu.Unlock()
		out.Revenue.CarriedBytes = s.carried.Load()
	}
	return out
}

// carry counts n bytes metered for payment.
func (s *TicketStats) carry(n int) {
	if s != nil && n > 0 {
		s.carried.Add(uint64(n))
	}
}

// paid counts an accepted ticket of face value face and win probability
// p, worth ev (credit net of the claim cost cost); win if it won.
func (s *TicketStats) paid(face, ev, credit, cost *big.Int, p float64, win bool) {
	if s == nil {
		return
	}
	f, _ := new(big.Float).SetInt(face).Float64()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &s.revenue
	if r.ExpectedValue == nil {
		r.ExpectedValue, r.Credited, r.Won, r.ClaimCosts = new(big.Int), new(big.Int), new(big.Int), new(big.Int)
	}
	r.ExpectedValue.Add(r.ExpectedValue, ev)
	r.Credited.Add(r.Credited, credit)
	s.variance += p * (1 - p) * f * f
	if win {
		r.Won.Add(r.Won, face)
		if cost != nil {
			r.ClaimCosts.Add(r.ClaimCosts, cost)
		}
	}
}

func (s *TicketStats) refused(r RefusedReason) {
	if s != nil {
		s.refusedN[r].Add(1)
	}
}

// record counts the outcome of ticket.Receiver.Accept.
func (s *TicketStats) record(rc ticket.Receipt, err error) {
	if s == nil {
		return
	}
	if err == nil {
		s.accepted.Add(1)
		if rc.Win {
			s.winners.Add(1)
		}
		return
	}
	for _, e := range refusedErrs {
		if errors.Is(err, e.err) {
			s.refused(e.reason)
			return
		}
	}
	s.refused(RefusedOther)
}
