package onion

import (
	"fmt"
	"testing"
)

var benchSizes = []int{MinCellSize, DefaultCellSize, MaxCellSize}

// BenchmarkSeal measures the client's cost of one forward cell to the last
// hop of a 1-, 3- or 5-hop circuit (one layer per hop).
func BenchmarkSeal(b *testing.B) {
	for _, size := range benchSizes {
		for _, n := range []int{1, 3, 5} {
			b.Run(fmt.Sprintf("size=%d/hops=%d", size, n), func(b *testing.B) {
				c, _ := keyedCircuit(b, n, size, 1)
				body := make([]byte, BodySize(size))
				payload := make([]byte, MaxPayload(size))
				b.SetBytes(int64(len(payload)))
				b.ReportAllocs()
				for b.Loop() {
					if err := c.SealInto(body, n-1, RelayData, payload); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkForward measures a relay's cost of one transit cell (one layer
// removed, not recognized, passed on).
func BenchmarkForward(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			_, hops := keyedCircuit(b, 2, size, 2)
			body := make([]byte, BodySize(size))
			b.SetBytes(int64(MaxPayload(size)))
			b.ReportAllocs()
			for b.Loop() {
				mine, _, _, next, err := hops[0].Forward(body)
				if mine || err != nil || next == nil {
					b.Fatal("transit cell not passed on", err)
				}
			}
		})
	}
}

// BenchmarkBackward measures a relay's cost of one backward cell.
func BenchmarkBackward(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			_, hops := keyedCircuit(b, 2, size, 3)
			body := make([]byte, BodySize(size))
			b.SetBytes(int64(MaxPayload(size)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := hops[0].Backward(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRoundTrip5 is one cell each way across 5 hops: Seal, 5 Forward;
// Originate, 4 Backward, Open.
func BenchmarkRoundTrip5(b *testing.B) {
	c, hops := keyedCircuit(b, 5, DefaultCellSize, 4)
	body := make([]byte, BodySize(DefaultCellSize))
	payload := make([]byte, MaxPayload(DefaultCellSize))
	b.SetBytes(int64(2 * len(payload)))
	for b.Loop() {
		if err := c.SealInto(body, 4, RelayData, payload); err != nil {
			b.Fatal(err)
		}
		if j, err := forwardAll(hops, body); err != nil || j != 4 {
			b.Fatal(j, err)
		}
		if err := hops[4].OriginateInto(body, RelayData, payload); err != nil {
			b.Fatal(err)
		}
		for j := 3; j >= 0; j-- {
			hops[j].Backward(body)
		}
		if hop, _, _, err := c.Open(body); err != nil || hop != 4 {
			b.Fatal(hop, err)
		}
	}
}

// BenchmarkHandshake is one complete handshake, both sides.
func BenchmarkHandshake(b *testing.B) {
	n := fuzzNode(b)
	for b.Loop() {
		ini, msg, err := ClientHandshake(n.addr, n.key.Public, DefaultCellSize, []byte("v1"))
		if err != nil {
			b.Fatal(err)
		}
		resp, _, err := NodeHandshake(n.addr, n.key, DefaultCellSize, msg)
		if err != nil {
			b.Fatal(err)
		}
		reply, _, err := resp.Reply([]byte("offer"))
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := ini.Finish(reply); err != nil {
			b.Fatal(err)
		}
	}
}
