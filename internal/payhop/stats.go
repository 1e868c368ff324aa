package payhop

import (
	"errors"
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
	refusedN [numRefused]atomic.Uint64
}

// TicketSnapshot is a copy of the counters.
type TicketSnapshot struct {
	Accepted uint64 // tickets verified and credited
	Winners  uint64 // accepted tickets that won and were stored for claiming
	// Refused has an entry for every reason, zero or not.
	Refused map[RefusedReason]uint64
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
	if s != nil {
		out.Accepted, out.Winners = s.accepted.Load(), s.winners.Load()
	}
	return out
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
