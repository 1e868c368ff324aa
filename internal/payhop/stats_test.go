package payhop

import (
	"errors"
	"fmt"
	"testing"

	"github.com/pexia-network/pexia/wallet/ticket"
)

func TestTicketStats(t *testing.T) {
	var s TicketStats
	s.record(ticket.Receipt{}, nil)
	s.record(ticket.Receipt{Win: true}, nil)
	s.record(ticket.Receipt{}, fmt.Errorf("%w: nonce 3 <= 7", ticket.ErrReplayed))
	s.record(ticket.Receipt{}, fmt.Errorf("%w: face 1 < 2", ticket.ErrFaceTooLow))
	s.record(ticket.Receipt{}, fmt.Errorf("ticket receiver: %w", ticket.ErrChain))
	s.record(ticket.Receipt{}, errors.New("ticket receiver: store winner: disk full"))
	s.refused(RefusedMalformed)
	got := s.Snapshot()
	if got.Accepted != 2 || got.Winners != 1 {
		t.Errorf("accepted %d winners %d, want 2 and 1", got.Accepted, got.Winners)
	}
	want := map[RefusedReason]uint64{RefusedReplayed: 1, RefusedFaceTooLow: 1, RefusedChain: 1, RefusedOther: 1, RefusedMalformed: 1}
	if len(got.Refused) != int(numRefused) {
		t.Errorf("snapshot has %d reasons, want all %d", len(got.Refused), numRefused)
	}
	for r, n := range got.Refused {
		if n != want[r] {
			t.Errorf("refused %v: %d, want %d", r, n, want[r])
		}
	}
	var nilStats *TicketStats
	nilStats.record(ticket.Receipt{}, nil) // counts nothing, does not panic
	if nilStats.Snapshot().Accepted != 0 {
		t.Error("nil stats counted")
	}
}
