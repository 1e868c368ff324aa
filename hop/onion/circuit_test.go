package onion

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

func TestFiveHopRoundTrip(t *testing.T) {
	nodes := newTestNodes(t, MaxHops)
	for _, size := range []int{MinCellSize, DefaultCellSize, MaxCellSize} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			c, hops := buildCircuit(t, nodes, size)
			if c.Len() != MaxHops {
				t.Fatalf("circuit has %d hops, want %d", c.Len(), MaxHops)
			}
			rng := rand.New(rand.NewPCG(1, uint64(size)))
			seen := make(map[Digest]bool)
			for i := range 400 {
				k := rng.IntN(len(hops))
				n := rng.IntN(c.MaxPayload() + 1)
				if i < 2 {
					n = []int{0, c.MaxPayload()}[i]
				}
				want := make([]byte, n)
				for i := range want {
					want[i] = byte(rng.Uint32())
				}
				if rng.IntN(2) == 0 {
					body, err := c.Seal(k, RelayData, want)
					if err != nil {
						t.Fatal(err)
					}
					cmd, got := deliverForward(t, hops, body, k, LinkRelay)
					if cmd != RelayData || !bytes.Equal(got, want) {
						t.Fatalf("cell %d: hop %d got %v with %d bytes, want DATA with %d", i, k, cmd, len(got), n)
					}
					d := c.SentDigest()
					if hops[k].ReceivedDigest() != d || seen[d] {
						t.Fatalf("cell %d: digest not shared or repeated", i)
					}
					seen[d] = true
				} else {
					body, err := hops[k].Originate(RelayData, want)
					if err != nil {
						t.Fatal(err)
					}
					from, cmd, got, err := deliverBackward(t, c, hops, body, k)
					if err != nil {
						t.Fatalf("cell %d from hop %d: %v", i, k, err)
					}
					if from != k || cmd != RelayData || !bytes.Equal(got, want) {
						t.Fatalf("cell %d: client got %v with %d bytes from hop %d, want DATA with %d from %d", i, cmd, len(got), from, n, k)
					}
					d := hops[k].SentDigest()
					if c.ReceivedDigest() != d || seen[d] {
						t.Fatalf("cell %d: digest not shared or repeated", i)
					}
					seen[d] = true
				}
			}
		})
	}
}

func TestEveryRelayCommand(t *testing.T) {
	c, hops := keyedCircuit(t, 3, MinCellSize, 7)
	for cmd := RelayData; cmd <= RelayPong; cmd++ {
		body, err := c.Seal(2, cmd, []byte(cmd.String()))
		if err != nil {
			t.Fatal(err)
		}
		got, payload := deliverForward(t, hops, body, 2, LinkRelay)
		if got != cmd || string(payload) != cmd.String() {
			t.Fatalf("got %v %q, want %v", got, payload, cmd)
		}
	}
	for _, cmd := range []RelayCmd{0, RelayPong + 1, 255} {
		if _, err := c.Seal(0, cmd, nil); err == nil {
			t.Errorf("Seal accepted relay command %d", cmd)
		}
		if _, err := hops[0].Originate(cmd, nil); err == nil {
			t.Errorf("Originate accepted relay command %d", cmd)
		}
	}
}

func TestSealArguments(t *testing.T) {
	c, hops := keyedCircuit(t, 2, MinCellSize, 8)
	if _, err := c.Seal(2, RelayData, nil); err == nil {
		t.Error("Seal for hop 2 of 2 succeeded")
	}
	if _, err := c.Seal(-1, RelayData, nil); err == nil {
		t.Error("Seal for hop -1 succeeded")
	}
	if _, err := c.Seal(0, RelayData, make([]byte, c.MaxPayload()+1)); err == nil {
		t.Error("Seal accepted an oversized payload")
	}
	if _, err := hops[1].Originate(RelayData, make([]byte, hops[1].MaxPayload()+1)); err == nil {
		t.Error("Originate accepted an oversized payload")
	}
	if err := c.SealInto(make([]byte, 10), 0, RelayData, nil); err == nil {
		t.Error("SealInto accepted a short body")
	}
	for _, n := range []int{0, BodySize(MinCellSize) - 1, BodySize(MinCellSize) + 1} {
		if _, _, _, _, err := hops[0].Forward(make([]byte, n)); !errors.Is(err, ErrMalformed) {
			t.Errorf("Forward of %d bytes: %v, want ErrMalformed", n, err)
		}
		if _, _, _, err := c.Open(make([]byte, n)); !errors.Is(err, ErrMalformed) {
			t.Errorf("Open of %d bytes: %v, want ErrMalformed", n, err)
		}
		if _, err := hops[0].Backward(make([]byte, n)); !errors.Is(err, ErrMalformed) {
			t.Errorf("Backward of %d bytes: %v, want ErrMalformed", n, err)
		}
	}
	// Wrong-size bodies consume no counter: the circuit still works.
	body, err := c.Seal(1, RelayData, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	deliverForward(t, hops, body, 1, LinkRelay)
	other, err := NewClientCircuit(DefaultCellSize)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := deriveKeys([]byte("k"), nil, MinCellSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.AddHop(keys); err == nil {
		t.Error("AddHop accepted keys for another cell size")
	}
	if _, err := NewClientCircuit(1000); err == nil {
		t.Error("NewClientCircuit accepted cell size 1000")
	}
}

func TestAddHopLimits(t *testing.T) {
	c, _ := keyedCircuit(t, MaxHops, MinCellSize, 9)
	keys, err := deriveKeys([]byte("sixth"), nil, MinCellSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddHop(keys); err == nil {
		t.Fatal("AddHop accepted a sixth hop")
	}
	if err := c.Truncate(4); err != nil {
		t.Fatal(err)
	}
	if err := c.AddHop(keys); err != nil {
		t.Fatal(err)
	}
	if err := c.Truncate(4); err != nil {
		t.Fatal(err)
	}
	if err := c.AddHop(keys); err == nil {
		t.Fatal("AddHop accepted the same keys twice")
	}
	if err := c.Truncate(6); err == nil {
		t.Fatal("Truncate(6) of 4 hops succeeded")
	}
}

func TestTruncate(t *testing.T) {
	c, hops := keyedCircuit(t, 4, MinCellSize, 10)
	body, err := c.Seal(1, RelayTruncate, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cmd, _ := deliverForward(t, hops, body, 1, LinkRelay); cmd != RelayTruncate {
		t.Fatalf("got %v", cmd)
	}
	hops[1].SetNext(false)
	back, err := hops[1].Originate(RelayTruncated, EncodeReason(ReasonRequested))
	if err != nil {
		t.Fatal(err)
	}
	from, cmd, payload, err := deliverBackward(t, c, hops, back, 1)
	if err != nil || from != 1 || cmd != RelayTruncated {
		t.Fatalf("got %v from %d: %v", cmd, from, err)
	}
	if r, err := DecodeReason(payload); err != nil || r != ReasonRequested {
		t.Fatalf("reason %v, %v", r, err)
	}
	if err := c.Truncate(from + 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Seal(2, RelayData, nil); err == nil {
		t.Fatal("Seal for a truncated hop succeeded")
	}
	// Hop 1 is now last: a cell for a later hop (here: sealed by a
	// circuit that still has one) is refused.
	ghost, ghostHops := keyedCircuit(t, 4, MinCellSize, 10)
	for range 2 { // bring counters level with the real circuit
		b, _ := ghost.Seal(1, RelayPadding, nil)
		forwardAll(ghostHops, b)
	}
	b, _ := ghost.Seal(2, RelayData, nil)
	if _, err := forwardAll(hops[:2], b); !errors.Is(err, ErrAuth) {
		t.Fatalf("last hop forwarded an unrecognized cell: %v", err)
	}
}

// TestTamper flips one bit at every body position (all of them for small
// cells, a sample for large ones), forward and backward, and checks that no
// hop recognizes the cell and the last hop or the client fails.
func TestTamper(t *testing.T) {
	for _, size := range []int{MinCellSize, DefaultCellSize} {
		positions := make([]int, 0, BodySize(size))
		for i := range BodySize(size) {
			if size == MinCellSize || i < 64 || i%61 == 0 || i >= BodySize(size)-64 {
				positions = append(positions, i)
			}
		}
		for _, target := range []int{0, 2, 4} {
			t.Run(fmt.Sprintf("size=%d/hop=%d", size, target), func(t *testing.T) {
				for _, i := range positions {
					seed := uint64(size*10 + target)
					// Forward: tamper on the link after hop `at`.
					c, hops := keyedCircuit(t, 5, size, seed)
					body, err := c.Seal(target, RelayData, []byte("attack at dawn"))
					if err != nil {
						t.Fatal(err)
					}
					at := i % (target + 1) // tamper before hop `at`
					for j := range at {
						if _, _, _, body, err = hops[j].Forward(body); err != nil || body == nil {
							t.Fatalf("hop %d: %v", j, err)
						}
					}
					body[i] ^= 1 << (i % 8)
					for j := at; j < len(hops); j++ {
						mine, _, _, next, err := hops[j].Forward(body)
						if mine {
							t.Fatalf("byte %d: hop %d recognized a tampered cell", i, j)
						}
						if j == len(hops)-1 {
							if !errors.Is(err, ErrAuth) {
								t.Fatalf("byte %d: last hop: %v, want ErrAuth", i, err)
							}
						} else if err != nil {
							t.Fatalf("byte %d: hop %d: %v", i, j, err)
						}
						body = next
					}
					// Backward: tamper on the link before hop `at`.
					c, hops = keyedCircuit(t, 5, size, seed)
					body, err = hops[target].Originate(RelayData, []byte("retreat"))
					if err != nil {
						t.Fatal(err)
					}
					for j := target - 1; j >= at; j-- {
						body, _ = hops[j].Backward(body)
					}
					body[i] ^= 1 << (i % 8)
					body = backwardAll(t, hops, body, at)
					if hop, _, _, err := c.Open(body); !errors.Is(err, ErrAuth) {
						t.Fatalf("byte %d: client: hop %d, %v, want ErrAuth", i, hop, err)
					}
				}
			})
		}
	}
}

func TestReplayAndReorder(t *testing.T) {
	t.Run("forward replay", func(t *testing.T) {
		c, hops := keyedCircuit(t, 3, MinCellSize, 20)
		for _, target := range []int{0, 1, 2} {
			b, _ := c.Seal(target, RelayData, []byte("pay me twice"))
			replay := bytes.Clone(b)
			if j, err := forwardAll(hops, b); err != nil || j != target {
				t.Fatalf("hop %d: %v", j, err)
			}
			if j, err := forwardAll(hops, replay); !errors.Is(err, ErrAuth) || j != 2 {
				t.Fatalf("replay to hop %d: stopped at %d: %v, want ErrAuth at the last hop", target, j, err)
			}
			c, hops = keyedCircuit(t, 3, MinCellSize, 20)
		}
	})
	t.Run("forward reorder", func(t *testing.T) {
		for _, target := range []int{0, 1, 2} {
			c, hops := keyedCircuit(t, 3, MinCellSize, 21)
			b1, _ := c.Seal(target, RelayData, []byte("first"))
			b2, _ := c.Seal(target, RelayData, []byte("second"))
			if _, err := forwardAll(hops, b2); !errors.Is(err, ErrAuth) {
				t.Fatalf("hop %d: reordered cell: %v, want ErrAuth", target, err)
			}
			if _, err := forwardAll(hops, b1); !errors.Is(err, ErrAuth) {
				t.Fatalf("hop %d: circuit still works after ErrAuth: %v", target, err)
			}
		}
	})
	t.Run("forward drop", func(t *testing.T) {
		c, hops := keyedCircuit(t, 3, MinCellSize, 22)
		c.Seal(2, RelayData, []byte("lost"))
		b, _ := c.Seal(2, RelayData, []byte("next"))
		if _, err := forwardAll(hops, b); !errors.Is(err, ErrAuth) {
			t.Fatalf("cell after a dropped one: %v, want ErrAuth", err)
		}
	})
	t.Run("backward replay", func(t *testing.T) {
		for _, from := range []int{0, 1, 2} {
			c, hops := keyedCircuit(t, 3, MinCellSize, 23)
			b, _ := hops[from].Originate(RelayData, []byte("once"))
			b = backwardAll(t, hops, b, from)
			replay := bytes.Clone(b)
			if hop, _, _, err := c.Open(b); err != nil || hop != from {
				t.Fatalf("hop %d: %v", hop, err)
			}
			if _, _, _, err := c.Open(replay); !errors.Is(err, ErrAuth) {
				t.Fatalf("replay from hop %d: %v, want ErrAuth", from, err)
			}
		}
	})
	t.Run("backward reorder", func(t *testing.T) {
		for _, from := range []int{0, 1, 2} {
			c, hops := keyedCircuit(t, 3, MinCellSize, 24)
			b1, _ := hops[from].Originate(RelayData, []byte("first"))
			b1 = backwardAll(t, hops, b1, from)
			b2, _ := hops[from].Originate(RelayData, []byte("second"))
			b2 = backwardAll(t, hops, b2, from)
			if _, _, _, err := c.Open(b2); !errors.Is(err, ErrAuth) {
				t.Fatalf("reordered cell from hop %d: %v, want ErrAuth", from, err)
			}
			if _, _, _, err := c.Open(b1); !errors.Is(err, ErrAuth) {
				t.Fatalf("circuit still works after ErrAuth: %v", err)
			}
			if _, err := c.Seal(0, RelayData, nil); !errors.Is(err, ErrAuth) {
				t.Fatalf("Seal after ErrAuth: %v", err)
			}
		}
	})
	t.Run("other circuit", func(t *testing.T) {
		c1, hops1 := keyedCircuit(t, 2, MinCellSize, 25)
		_, hops2 := keyedCircuit(t, 2, MinCellSize, 26)
		b, _ := c1.Seal(1, RelayData, []byte("elsewhere"))
		if _, err := forwardAll(hops2, b); !errors.Is(err, ErrAuth) {
			t.Fatalf("cell for another circuit: %v, want ErrAuth", err)
		}
		_, hops3 := keyedCircuit(t, 2, MinCellSize, 27)
		b, _ = hops3[1].Originate(RelayData, nil)
		b = backwardAll(t, hops3, b, 1)
		if _, _, _, err := c1.Open(b); !errors.Is(err, ErrAuth) {
			t.Fatalf("backward cell from another circuit: %v, want ErrAuth", err)
		}
		if _, err := c1.Seal(1, RelayData, nil); !errors.Is(err, ErrAuth) {
			t.Fatalf("Seal after ErrAuth: %v", err)
		}
		// c1's own hops saw none of this and would still accept c1's
		// cells: only c1 is dead.
		if hops1[1].broken.Load() || hops1[0].broken.Load() {
			t.Fatal("c1's hops broken by another circuit's cells")
		}
	})
}

// sealRaw seals an arbitrary plaintext body (relay header included) for hop
// k, as a broken or hostile client would.
func sealRaw(c *ClientCircuit, k int, body []byte) {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	for j := k; j >= 0; j-- {
		h := c.hops[j]
		h.fwd.seal(body, h.fwdN, j == k, &c.sendScratch)
		h.fwdN++
	}
}

// originateRaw seals an arbitrary plaintext body at a hop.
func originateRaw(h *HopState, body []byte) {
	h.bwdMu.Lock()
	defer h.bwdMu.Unlock()
	h.bwd.seal(body, h.bwdN, true, &h.bwdScratch)
	h.bwdN++
}

func TestAuthenticatedButMalformed(t *testing.T) {
	plain := func(cmd byte, n uint16, tail byte) []byte {
		b := make([]byte, BodySize(MinCellSize))
		b[TagLen] = cmd
		b[TagLen+1], b[TagLen+2] = byte(n>>8), byte(n)
		b[len(b)-1] = tail
		return b
	}
	tests := []struct {
		name string
		body []byte
	}{
		{"command 0", plain(0, 0, 0)},
		{"command 13", plain(13, 0, 0)},
		{"command 255", plain(255, 0, 0)},
		{"length past body", plain(byte(RelayData), uint16(MaxPayload(MinCellSize)+1), 0)},
		{"length 65535", plain(byte(RelayData), 0xffff, 0)},
		{"nonzero padding", plain(byte(RelayData), 3, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, hops := keyedCircuit(t, 2, MinCellSize, 30)
			b := bytes.Clone(tt.body)
			sealRaw(c, 1, b)
			_, _, _, _, err := hops[0].Forward(b)
			if err != nil {
				t.Fatal(err)
			}
			mine, _, _, _, err := hops[1].Forward(b)
			if !mine || !errors.Is(err, ErrMalformed) {
				t.Fatalf("forward: mine=%v %v, want ErrMalformed", mine, err)
			}
			b = bytes.Clone(tt.body)
			originateRaw(hops[1], b)
			b = backwardAll(t, hops, b, 1)
			hop, _, _, err := c.Open(b)
			if hop != 1 || !errors.Is(err, ErrMalformed) {
				t.Fatalf("backward: hop %d %v, want ErrMalformed from hop 1", hop, err)
			}
		})
	}
}

// TestConcurrentDirections runs the forward and backward paths of one
// circuit at once (for the race detector).
func TestConcurrentDirections(t *testing.T) {
	c, hops := keyedCircuit(t, 3, MinCellSize, 40)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() {
		for i := range 300 {
			k := i % 3
			b, err := c.Seal(k, RelayData, []byte{byte(i)})
			if err != nil {
				errs <- err
				return
			}
			if j, err := forwardAll(hops, b); err != nil || j != k {
				errs <- fmt.Errorf("forward %d: hop %d: %v", i, j, err)
				return
			}
			_ = hops[k].ReceivedDigest()
		}
	})
	wg.Go(func() {
		for i := range 300 {
			k := (i + 1) % 3
			b, err := hops[k].Originate(RelayData, []byte{byte(i)})
			if err != nil {
				errs <- err
				return
			}
			for j := k - 1; j >= 0; j-- {
				if b, err = hops[j].Backward(b); err != nil {
					errs <- err
					return
				}
			}
			hop, _, p, err := c.Open(b)
			if err != nil || hop != k || p[0] != byte(i) {
				errs <- fmt.Errorf("backward %d: hop %d: %v", i, hop, err)
				return
			}
			_ = c.ReceivedDigest()
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
