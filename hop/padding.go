package hop

import (
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/hop/wire"
)

// Padding ("bandwidth burning"): with BuildConfig.PaddingRate set, the
// circuit carries exactly that many cells per second in each direction,
// whatever the traffic: the client sends its cells on a fixed schedule,
// filling every slot that has no data with a PADDING cell sealed for the
// exit, and asks the exit (with a PADDING cell whose payload names the
// rate) to do the same towards the client. Every relay sees a constant,
// uniform stream of cells, so the timing and volume of the user's traffic
// are hidden from them and from anyone watching the links; the price is
// that the circuit's throughput is capped at the rate and that idle time
// costs as much as busy time: every padding cell is carried, metered and
// paid by every hop like any other (see budget.PaddingCost). The schedule
// is wire.Padder, shared with the exit (package relay).

// MaxPaddingRate bounds BuildConfig.PaddingRate, and the padding rate a
// client may ask of an exit, in cells per second (8 MiB/s of 4 KiB cells).
const MaxPaddingRate = wire.MaxPaddingRate

// clientPadder is the schedule of the client side of c; set before any
// goroutine of c runs.
func (c *Circuit) clientPadder(rate int) *wire.Padder {
	last := len(c.hops) - 1
	return wire.NewPadder(rate, func() error {
		return c.send(last, onion.LinkRelay, onion.RelayPadding, nil)
	})
}

// startPadding asks the exit to pad too and starts filling empty slots.
func (c *Circuit) startPadding(rate int) error {
	last := len(c.hops) - 1
	if err := c.send(last, onion.LinkRelay, onion.RelayPadding, wire.PaddingRequest(rate)); err != nil {
		return err
	}
	go c.pad.Run(c.done)
	return nil
}
