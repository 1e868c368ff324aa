package daemon

import (
	"fmt"
	"testing"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/wallet/budget"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/dir"
	"github.com/pexia-network/pexia/wallet/hopacct"
)

// TestReasonOf checks that each failure a user can get out of is given
// the Reason a client explains, through the wrapping the connect adds.
func TestReasonOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{fmt.Errorf("build circuit: %w", fmt.Errorf("pick exit: %w", dir.ErrNoNode)), api.ReasonNoNodes},
		{fmt.Errorf("fund hop 1: %w: needs 2 PEX, holds 0.5", hopacct.ErrWalletShort), api.ReasonNoFunds},
		{fmt.Errorf("ticket: %w", budget.ErrUnderfunded), api.ReasonNoFunds},
		{fmt.Errorf("ticket: %w", budget.ErrBudgetExhausted), api.ReasonBudgetExhausted},
		{fmt.Errorf("plan: %w", budget.ErrPriceAboveBudget), api.ReasonBudgetExhausted},
		{fmt.Errorf("chain check: %w: dial tcp 127.0.0.1:8545: connection refused", chain.ErrUnavailable), api.ReasonChainUnreachable},
		{fmt.Errorf("hop 2 refused the circuit"), ""},
	} {
		if got := reasonOf(tc.err); got != tc.want {
			t.Errorf("reasonOf(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
