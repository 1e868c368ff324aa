package wallet

import (
	"math/big"
	"testing"
)

func TestMaxFace(t *testing.T) {
	for _, tc := range []struct {
		balance, escrow, warned int64
		want                    int64
	}{
		{100, 100, 0, 50},
		{10, 100, 0, 10},
		{100, 100, 60, 40}, // warned leaves the balance first
		{100, 100, 150, 0}, // the balance is gone, then some escrow
		{100, 200, 20, 80},
		{100, 100, 300, 0},
		{0, 100, 0, 0},
	} {
		a := Account{Balance: big.NewInt(tc.balance), Escrow: big.NewInt(tc.escrow), Warned: big.NewInt(tc.warned)}
		if got := a.MaxFace(); got.Int64() != tc.want {
			t.Errorf("MaxFace(balance %d, escrow %d, warned %d) = %v, want %d", tc.balance, tc.escrow, tc.warned, got, tc.want)
		}
	}
}
