package ticket

import (
	"fmt"
	"math/big"
	"sync"
)

// MeterState is what a node should do with a client's traffic.
type MeterState uint8

// Meter states.
const (
	MeterOK       MeterState = iota // paid up, or behind by less than the window
	MeterThrottle                   // behind by more than the window: slow it down
	MeterDrop                       // behind past the debt limit: cut it off
)

func (s MeterState) String() string {
	switch s {
	case MeterOK:
		return "ok"
	case MeterThrottle:
		return "throttle"
	case MeterDrop:
		return "drop"
	}
	return fmt.Sprintf("meter(%d)", uint8(s))
}

var gb = big.NewInt(1_000_000_000)

// Meter keeps the credit between one client and one node: bytes carried at
// a price per GB (10^9 bytes) against the expected value of tickets paid.
// Both ends run one: the client to know how much to pay ahead (Due), the node
// to know when to throttle or drop (State). Amounts are exact: bytes are
// priced in units of 10^-9 of the token's smallest unit internally.
type Meter struct {
	price  *big.Int // per GB
	window *big.Int // prepaid credit the client keeps ahead
	limit  *big.Int // debt beyond which the node drops the client

	mu    sync.Mutex
	owed  *big.Int // bytes × price; guarded by mu
	paid  *big.Int // credit × 10^9; guarded by mu
	bytes uint64   // guarded by mu
}

// NewMeter returns a meter for pricePerGB with a credit window and a debt
// limit (limit ≥ window), all in the token's smallest unit.
func NewMeter(pricePerGB, window, debtLimit *big.Int) *Meter {
	if debtLimit.Cmp(window) < 0 {
		debtLimit = window
	}
	return &Meter{
		price: new(big.Int).Set(pricePerGB), window: new(big.Int).Set(window), limit: new(big.Int).Set(debtLimit),
		owed: new(big.Int), paid: new(big.Int),
	}
}

// Carry records n bytes carried for the client.
func (m *Meter) Carry(n int) {
	if n <= 0 {
		return
	}
	m.mu.Lock()
	m.bytes += uint64(n)
	m.owed.Add(m.owed, new(big.Int).Mul(big.NewInt(int64(n)), m.price))
	m.mu.Unlock()
}

// Credit records credit paid by the client (a ticket's credited value).
func (m *Meter) Credit(amount *big.Int) {
	m.mu.Lock()
	m.paid.Add(m.paid, new(big.Int).Mul(amount, gb))
	m.mu.Unlock()
}

// Balance is credit paid minus bytes owed, rounded toward zero, in the
// token's smallest unit; negative means the client is behind.
func (m *Meter) Balance() *big.Int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.balanceLocked()
}

func (m *Meter) balanceLocked() *big.Int {
	b := new(big.Int).Sub(m.paid, m.owed)
	return b.Quo(b, gb)
}

// Bytes is the total carried.
func (m *Meter) Bytes() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bytes
}

// State says whether the node should serve, throttle or drop the client.
func (m *Meter) State() MeterState {
	m.mu.Lock()
	defer m.mu.Unlock()
	debt := m.balanceLocked()
	debt.Neg(debt)
	switch {
	case debt.Cmp(m.limit) > 0:
		return MeterDrop
	case debt.Cmp(m.window) > 0:
		return MeterThrottle
	}
	return MeterOK
}

// Due is what the client should pay now to be a full window ahead again;
// zero while it is more than half a window ahead, so tickets go out in
// batches rather than per packet.
func (m *Meter) Due() *big.Int {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.balanceLocked()
	half := new(big.Int).Rsh(m.window, 1)
	if b.Cmp(half) > 0 {
		return new(big.Int)
	}
	return b.Sub(m.window, b)
}
