package api

import (
	"sync"
	"time"
)

// EventType says which payload field of an Event is set.
type EventType string

// The event types.
const (
	// EventState: the Status changed (State is set). Also the first event
	// of every stream.
	EventState EventType = "state"
	// EventThroughput: traffic counters, about once a second while
	// connected (Throughput is set).
	EventThroughput EventType = "throughput"
	// EventSpend: tickets were issued or won (Spend is set).
	EventSpend EventType = "spend"
	// EventCircuit: a circuit was built or replaced (Circuit is set).
	EventCircuit EventType = "circuit"
	// EventLog: a line of the daemon's log meant for the user (Log is set).
	EventLog EventType = "log"
	// EventChain: an on-chain action of the wallet, before it is sent and
	// after it is mined (Chain is set).
	EventChain EventType = "chain"
)

// Event is one line of GET /v1/events. Exactly the payload field named by
// Type is set.
type Event struct {
	Type EventType `json:"type"`
	Time time.Time `json:"time"`

	State      *Status      `json:"state,omitempty"`
	Throughput *Throughput  `json:"throughput,omitempty"`
	Spend      *Spend       `json:"spend,omitempty"`
	Circuit    *Circuit     `json:"circuit,omitempty"`
	Log        *LogLine     `json:"log,omitempty"`
	Chain      *ChainAction `json:"chain,omitempty"`
}

// ChainAction is the payload of "chain" events: one transaction of the
// wallet on a per-hop lottery account.
type ChainAction struct {
	// Action is "transfer" (coin from the wallet to a hop funder for a
	// deposit and its gas, or a hop funder's leftover back), "deposit"
	// (into the hop's lottery account), "warn" (funds announced for
	// withdrawal) or "withdraw" (warned funds back to the wallet).
	Action string `json:"action"`
	// Phase is "sending" before the transaction goes out and "done" once
	// it is mined (Gas then set) or "failed" (Error set).
	Phase  string `json:"phase"`
	Hop    int    `json:"hop"`
	Epoch  uint64 `json:"epoch"`
	Signer string `json:"signer"`
	Amount Amount `json:"amount"`
	Gas    uint64 `json:"gas,omitempty"`
	// UnlockAt is when warned funds can be withdrawn.
	UnlockAt time.Time `json:"unlock_at,omitzero"`
	Error    string    `json:"error,omitempty"`
	// Tx is the transaction's hash, when known.
	Tx string `json:"tx,omitempty"`
	// From and To are a transfer's addresses.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// Throughput is the payload of "throughput" events: the counters and
// rates of Status (bytes, bytes per second).
type Throughput struct {
	BytesUp   uint64 `json:"bytes_up"`
	BytesDown uint64 `json:"bytes_down"`
	RateUp    uint64 `json:"rate_up"`
	RateDown  uint64 `json:"rate_down"`
}

// Spend is the payload of "spend" events: what changed since the previous
// one for one hop, and the period's total after it.
type Spend struct {
	// Hop is the hop index ("0" is the entry) and Node its address.
	Hop  int    `json:"hop"`
	Node string `json:"node"`
	// App is the application the traffic belonged to, when known.
	App string `json:"app,omitempty"`
	// Issued is the expected value of the tickets issued; Won the face
	// value of winners paid on chain.
	Issued Amount `json:"issued"`
	Won    Amount `json:"won"`
	// PeriodSpent is the budget period's actual spend so far.
	PeriodSpent Amount   `json:"period_spent"`
	Currency    Currency `json:"currency"`
}

// LogLine is the payload of "log" events.
type LogLine struct {
	// Level is "debug", "info", "warn" or "error".
	Level   string `json:"level"`
	Message string `json:"message"`
}

// Feed fans events out to subscribers and never blocks the publisher:
// each subscriber has a buffered channel, and one whose buffer is full
// when an event arrives is dropped (its channel closed). A Backend can
// implement Subscribe with it. It is safe for concurrent use.
type Feed struct {
	buf int

	mu     sync.Mutex
	subs   map[chan Event]struct{} // guarded by mu
	closed bool                    // guarded by mu
}

// NewFeed returns a Feed whose subscribers buffer up to buffer events
// (at least 1).
func NewFeed(buffer int) *Feed {
	return &Feed{buf: max(buffer, 1), subs: make(map[chan Event]struct{})}
}

// Publish delivers ev to every subscriber with room for it, and drops the
// others.
func (f *Feed) Publish(ev Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- ev:
		default:
			delete(f.subs, ch)
			close(ch)
		}
	}
}

// Subscribe returns a channel of the events published from now on and a
// cancel func that closes it; calling cancel more than once is harmless.
// The channel is also closed when the subscriber falls behind or the Feed
// is closed.
func (f *Feed) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, f.buf)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		close(ch)
		return ch, func() {}
	}
	f.subs[ch] = struct{}{}
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.subs[ch]; ok {
			delete(f.subs, ch)
			close(ch)
		}
	}
}

// Subscribers returns the number of current subscribers.
func (f *Feed) Subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// Close closes every subscriber's channel; later subscribers get a closed
// channel.
func (f *Feed) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for ch := range f.subs {
		delete(f.subs, ch)
		close(ch)
	}
}
