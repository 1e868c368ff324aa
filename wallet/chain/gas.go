package chain

import (
	"context"
	"math/big"

	"github.com/ethereum/go-ethereum"
)

// GasHistoryBlocks is how many recent blocks GasPriceCeiling looks at: the
// most an eth_feeHistory request may span (1024 blocks: 3.4 hours at 12 s
// a block, 17 minutes on a devnet sealing one a second).
const GasHistoryBlocks = 1024

// GasPriceCeiling is the highest gas price of the recent past: the
// current suggestion, or the highest base fee of the last
// GasHistoryBlocks blocks plus the current tip if that is more. A client
// bounds the claim cost a node announces by it, since a node's figure is
// taken from the gas price of some moment before (the base fee of an idle
// chain falls by up to 12.5 % a block). Endpoints without eth_feeHistory
// give the current suggestion.
func (c *Client) GasPriceCeiling(ctx context.Context) (*big.Int, error) {
	var price *big.Int
	if err := c.do(ctx, "gas price", c.attempts(), func(ctx context.Context) (err error) {
		price, err = c.b.SuggestGasPrice(ctx)
		return err
	}); err != nil {
		return nil, err
	}
	fh, ok := c.b.(ethereum.FeeHistoryReader)
	if !ok {
		return price, nil
	}
	var hist *ethereum.FeeHistory
	if err := c.do(ctx, "fee history", c.attempts(), func(ctx context.Context) (err error) {
		hist, err = fh.FeeHistory(ctx, GasHistoryBlocks, nil, []float64{})
		return err
	}); err != nil {
		// Some endpoints do not serve fee history: the suggestion alone.
		c.logf("fee history: %v; the gas price ceiling is the current price", err)
		return price, nil
	}
	var maxBase *big.Int
	for _, b := range hist.BaseFee {
		if b != nil && (maxBase == nil || b.Cmp(maxBase) > 0) {
			maxBase = b
		}
	}
	if maxBase == nil {
		return price, nil
	}
	var tip *big.Int
	if err := c.do(ctx, "tip", c.attempts(), func(ctx context.Context) (err error) {
		tip, err = c.b.SuggestGasTipCap(ctx)
		return err
	}); err != nil {
		tip = new(big.Int)
	}
	if hi := new(big.Int).Add(maxBase, tip); hi.Cmp(price) > 0 {
		return hi, nil
	}
	return price, nil
}
