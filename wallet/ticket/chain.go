package ticket

import (
	"context"
	"crypto/ecdsa"
	"errors"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/contracts/lottery"
	"github.com/pexia-network/pexia/wallet"
	"github.com/pexia-network/pexia/wallet/chain"
)

// ChainAccounts reads lottery accounts through a chain client, which serves
// them from its event-fed cache and, while the endpoint is down, from the
// last state it saw.
type ChainAccounts struct{ Client *chain.Client }

// Account implements AccountSource.
func (a ChainAccounts) Account(ctx context.Context, token, funder, signer common.Address) (wallet.Account, error) {
	acct, _, err := a.Client.Account(ctx, token, funder, signer)
	return acct, err
}

// ChainClaimer claims winners on chain as Key's address, in Token.
type ChainClaimer struct {
	Client *chain.Client
	Key    *ecdsa.PrivateKey
	Token  common.Address
}

// Claim implements Claimer. Tickets the receipt did not account for are
// left out of the result, so the Redeemer retries them.
func (c ChainClaimer) Claim(ctx context.Context, ts []lottery.LotteryTicket) (map[common.Hash]Outcome, error) {
	res, err := c.Client.Claim(ctx, c.Key, c.Token, ts)
	if err != nil && !(errors.Is(err, chain.ErrClaimDecode) && res != nil) {
		return nil, err
	}
	out := make(map[common.Hash]Outcome, len(res.Tickets))
	for _, t := range res.Tickets {
		switch {
		case t.Paid:
			out[t.ID] = Outcome{Paid: t.Amount}
		case t.PaidBefore != nil:
			out[t.ID] = Outcome{Paid: t.PaidBefore.Amount}
		case t.Decoded:
			out[t.ID] = Outcome{Reason: t.Reason}
		}
	}
	return out, nil
}
