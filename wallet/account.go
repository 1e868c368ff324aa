package wallet

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"
)

// Account is a lottery account, (token, funder, signer), as read from the
// chain at Block. Amounts are in the token's smallest unit.
type Account struct {
	Token  common.Address // 0 = native coin
	Funder common.Address
	Signer common.Address

	Balance *big.Int
	Escrow  *big.Int
	Warned  *big.Int // announced withdrawal, taken from balance first
	Unlock  uint64   // unix time the warned amount can leave; 0 = none

	Block uint64 // block number the state was read at
}

// Usable returns the balance and escrow that still back tickets: warned
// funds count as gone, taken from the balance first, as withdraw takes them.
func (a *Account) Usable() (balance, escrow *big.Int) {
	balance = new(big.Int).Set(orZero(a.Balance))
	escrow = new(big.Int).Set(orZero(a.Escrow))
	w := new(big.Int).Set(orZero(a.Warned))
	if w.Cmp(balance) <= 0 {
		return balance.Sub(balance, w), escrow
	}
	w.Sub(w, balance)
	balance.SetInt64(0)
	if w.Cmp(escrow) >= 0 {
		return balance, escrow.SetInt64(0)
	}
	return balance, escrow.Sub(escrow, w)
}

// MaxFace is the largest face value a ticket from this account may carry:
// min(usable balance, usable escrow / 2). Half the escrow must stay at stake
// so a payer who front-runs a winner with a withdrawal of the balance loses
// more escrow than the ticket was worth.
func (a *Account) MaxFace() *big.Int {
	b, e := a.Usable()
	e.Rsh(e, 1)
	if e.Cmp(b) < 0 {
		return e
	}
	return b
}

func orZero(x *big.Int) *big.Int {
	if x == nil {
		return new(big.Int)
	}
	return x
}
