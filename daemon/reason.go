package daemon

import (
	"errors"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/wallet/budget"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/dir"
	"github.com/pexia-network/pexia/wallet/hopacct"
)

// reasonOf classifies a connection failure for api.Status.Reason, so a
// client can say how to get out of it without reading the message.
func reasonOf(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, budget.ErrBudgetExhausted), errors.Is(err, budget.ErrPriceAboveBudget), errors.Is(err, budget.ErrPeriodEnded):
		return api.ReasonBudgetExhausted
	case errors.Is(err, hopacct.ErrWalletShort), errors.Is(err, budget.ErrUnderfunded), errors.Is(err, budget.ErrDepletionRisk):
		return api.ReasonNoFunds
	case errors.Is(err, dir.ErrNoNode):
		return api.ReasonNoNodes
	case errors.Is(err, chain.ErrUnavailable):
		return api.ReasonChainUnreachable
	}
	return ""
}
