package daemon

import (
	"context"
	"math/big"
	"path/filepath"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/wallet/chain"
)

// wins follows what the tickets actually cost: the Lottery's Won events
// paid from the client's accounts (every hop position's, of every epoch
// not yet reclaimed). Each is attributed to the hop, node and
// profile of the ticket (remembered at issue by digest) and recorded as
// spend in the budget engine, which is what "spent" means. The block to
// resume from is kept in the state directory, so a win is counted once
// across restarts; a winner issued before a restart is still counted, as
// spend of an unknown hop.
type wins struct {
	path string

	mu     sync.Mutex
	issued map[common.Hash]issuedTicket
	state  winsState
}

type issuedTicket struct {
	hop  int
	node common.Address
	app  string
	at   time.Time
}

type winsState struct {
	// Next is the first block not searched yet; 0 before the first poll.
	Next uint64 `json:"next_block"`
}

// issuedRetention is how long a ticket's attribution is kept: its validity
// plus time for the node to claim it.
const issuedRetention = 3 * time.Hour

func newWins(stateDir string) (*wins, error) {
	w := &wins{path: filepath.Join(stateDir, "wins.json"), issued: map[common.Hash]issuedTicket{}}
	if err := loadJSON(w.path, &w.state); err != nil {
		return nil, err
	}
	return w, nil
}

// remember records an issued ticket's attribution.
func (w *wins) remember(n *contracts.Network, t *contracts.Signed, hop int, node common.Address, app string) {
	id, err := t.Ticket.Digest(n.ChainID, n.Addresses.Lottery)
	if err != nil {
		return
	}
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.issued[id] = issuedTicket{hop: hop, node: node, app: app, at: now}
	if len(w.issued)%1024 == 0 {
		for k, v := range w.issued {
			if now.Sub(v.at) > issuedRetention {
				delete(w.issued, k)
			}
		}
	}
}

// poll records the wins since the last poll.
func (d *Daemon) pollWins(ctx context.Context) {
	cl, err := d.chainClient(ctx)
	if err != nil {
		return
	}
	w := d.wins
	w.mu.Lock()
	next := w.state.Next
	w.mu.Unlock()
	if next == 0 {
		return // not started (see start)
	}
	evs, last, err := cl.WonFrom(ctx, next, d.pay.followed()...)
	for _, ev := range evs {
		w.mu.Lock()
		it, known := w.issued[ev.Ticket]
		w.mu.Unlock()
		if !known {
			it = issuedTicket{app: "earlier"}
		}
		if rerr := d.pay.engine.RecordProfileWin(ev.Amount, it.hop, it.node, it.app); rerr != nil {
			d.cfg.Logf("budget: record win: %v", rerr)
		}
		st := d.pay.engine.Status(d.pay.budgetNow())
		d.feed.Publish(api.Event{Type: api.EventSpend, Time: time.Now(), Spend: &api.Spend{
			Hop: it.hop, Node: it.node.Hex(), App: it.app, Issued: api.NewAmount(new(big.Int)), Won: api.NewAmount(ev.Amount),
			PeriodSpent: api.NewAmount(st.Spent), Currency: d.currency()}})
	}
	if err != nil && len(evs) == 0 && last < next {
		return
	}
	w.mu.Lock()
	w.state.Next = last + 1
	st := w.state
	w.mu.Unlock()
	if err := saveJSON(w.path, st); err != nil {
		d.cfg.Logf("wins: %v", err)
	}
}

// start fixes the first block to follow on the very first connect: no
// ticket was issued before it.
func (d *Daemon) startWins(ctx context.Context, cl *chain.Client) error {
	w := d.wins
	w.mu.Lock()
	next := w.state.Next
	w.mu.Unlock()
	if next != 0 {
		return nil
	}
	_, last, err := cl.WonFrom(ctx, ^uint64(0), d.pay.followed()...)
	if err != nil {
		return err
	}
	w.mu.Lock()
	if w.state.Next == 0 {
		w.state.Next = last + 1
	}
	st := w.state
	w.mu.Unlock()
	return saveJSON(w.path, st)
}
