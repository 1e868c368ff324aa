package main

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/pexia-network/pexia/hop/onion"
)

// onionSuite measures what one onion layer costs a relay per cell (a
// transit cell: its forward layer removed, not recognized, passed on), at
// the smallest and the default cell size, on one goroutine (median of 7
// batches of 5,000 cells).
func onionSuite(res Results) error {
	for _, size := range []int{onion.MinCellSize, onion.DefaultCellSize} {
		hop, err := transitHop(size)
		if err != nil {
			return err
		}
		body := make([]byte, onion.BodySize(size))
		// A warm-up batch, then the median of 7 batches.
		const n = 5000
		var batches []float64
		for i := range 8 {
			start := time.Now()
			for range n {
				mine, _, _, next, err := hop.Forward(body)
				if err != nil || mine || next == nil {
					return fmt.Errorf("onion %d: transit cell not passed on (%v)", size, err)
				}
			}
			if i > 0 {
				batches = append(batches, time.Since(start).Seconds()/n*1e6)
			}
		}
		res.setRounds(fmt.Sprintf("onion.forward_%d_us", size), batches, "µs")
	}
	return nil
}

// transitHop returns the state of the first hop of a two-hop circuit,
// keyed by a real handshake.
func transitHop(size int) (*onion.HopState, error) {
	key, err := onion.GenerateKeyPair(rand.Reader)
	if err != nil {
		return nil, err
	}
	var node onion.Address
	ini, msg, err := onion.ClientHandshake(node, key.Public, size, nil)
	if err != nil {
		return nil, err
	}
	resp, _, err := onion.NodeHandshake(node, key, size, msg)
	if err != nil {
		return nil, err
	}
	reply, hop, err := resp.Reply(nil)
	if err != nil {
		return nil, err
	}
	if _, _, err := ini.Finish(reply); err != nil {
		return nil, err
	}
	hop.SetNext(true)
	return hop, nil
}
