package onion

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// sealDatagram seals a forward datagram cell for hop.
func sealDatagram(tb testing.TB, c *ClientCircuit, hop int, payload []byte) []byte {
	tb.Helper()
	body := make([]byte, BodySize(c.CellSize()))
	if err := c.SealDatagramInto(body, hop, RelayData, payload); err != nil {
		tb.Fatal(err)
	}
	return body
}

// forwardDatagram passes a forward datagram cell through hops until one
// recognizes it, returning that hop, the payload and the first error.
func forwardDatagram(hops []*HopState, body []byte) (int, []byte, error) {
	body = bytes.Clone(body)
	for j, h := range hops {
		mine, _, payload, next, err := h.ForwardDatagram(body)
		if err != nil {
			return j, nil, err
		}
		if mine {
			return j, payload, nil
		}
		body = next
	}
	return -1, nil, errors.New("fell off the end")
}

// originateDatagram makes a backward datagram cell at hop from and adds
// the layers of the hops before it.
func originateDatagram(tb testing.TB, hops []*HopState, from int, payload []byte) []byte {
	tb.Helper()
	body := make([]byte, BodySize(hops[from].CellSize()))
	if err := hops[from].OriginateDatagramInto(body, RelayData, payload); err != nil {
		tb.Fatal(err)
	}
	for j := from - 1; j >= 0; j-- {
		var err error
		if body, err = hops[j].BackwardDatagram(body); err != nil {
			tb.Fatalf("hop %d: %v", j, err)
		}
	}
	return body
}

// TestDatagramRoundTrip: datagram cells reach the hop they are sealed for,
// both ways, for every circuit length and cell size, and in any order.
func TestDatagramRoundTrip(t *testing.T) {
	for _, size := range []int{MinCellSize, DefaultCellSize, MaxCellSize} {
		for n := 1; n <= MaxHops; n++ {
			t.Run(fmt.Sprintf("%d/%dhops", size, n), func(t *testing.T) {
				c, hops := keyedCircuit(t, n, size, uint64(size*10+n))
				rng := rand.New(rand.NewPCG(uint64(n), uint64(size)))
				var cells [][]byte
				var want [][]byte
				for i := range 20 {
					p := make([]byte, rng.IntN(MaxDatagramPayload(size)+1))
					for k := range p {
						p[k] = byte(rng.Uint32())
					}
					want = append(want, p)
					cells = append(cells, sealDatagram(t, c, n-1, p))
					_ = i
				}
				// Delivered in a shuffled order.
				order := rng.Perm(len(cells))
				for _, i := range order {
					j, got, err := forwardDatagram(hops, cells[i])
					if err != nil || j != n-1 || !bytes.Equal(got, want[i]) {
						t.Fatalf("forward cell %d: hop %d, err %v, payload equal %v", i, j, err, bytes.Equal(got, want[i]))
					}
				}
				// A cell for a middle hop too.
				if n > 1 {
					j, got, err := forwardDatagram(hops, sealDatagram(t, c, 0, []byte("first")))
					if err != nil || j != 0 || string(got) != "first" {
						t.Fatalf("forward to hop 0: hop %d, %q, %v", j, got, err)
					}
				}
				var back [][]byte
				for i := range 20 {
					back = append(back, originateDatagram(t, hops, n-1, fmt.Appendf(nil, "back %d", i)))
				}
				for _, i := range rng.Perm(len(back)) {
					hop, cmd, p, err := c.OpenDatagram(back[i])
					if err != nil || hop != n-1 || cmd != RelayData || string(p) != fmt.Sprintf("back %d", i) {
						t.Fatalf("backward cell %d: hop %d %v %q %v", i, hop, cmd, p, err)
					}
				}
				// The reliable lane is untouched by all this.
				body, err := c.Seal(n-1, RelayPing, []byte("still in order"))
				if err != nil {
					t.Fatal(err)
				}
				if j, err := forwardAll(hops, body); err != nil || j != n-1 {
					t.Fatalf("relay cell after datagrams: hop %d, %v", j, err)
				}
			})
		}
	}
}

// TestDatagramReplayWindow: at a hop (forward) and at the client
// (backward), a datagram cell is accepted once, in any order within the
// window; a replay, a cell older than the window, and a forged or changed
// cell are refused, and none of them hurts the circuit.
func TestDatagramReplayWindow(t *testing.T) {
	c, hops := keyedCircuit(t, 3, DefaultCellSize, 7)
	var cells [][]byte
	for i := range replayWindowSize + 200 {
		cells = append(cells, sealDatagram(t, c, 2, fmt.Appendf(nil, "d%d", i)))
	}
	deliver := func(i int) error {
		_, p, err := forwardDatagram(hops, cells[i])
		if err == nil && string(p) != fmt.Sprintf("d%d", i) {
			t.Fatalf("cell %d delivered %q", i, p)
		}
		return err
	}
	// Reordered: 10 before 5 before 0.
	for _, i := range []int{10, 5, 0} {
		if err := deliver(i); err != nil {
			t.Fatalf("reordered cell %d: %v", i, err)
		}
	}
	// Replayed.
	if err := deliver(5); !errors.Is(err, ErrReplay) {
		t.Fatalf("replayed cell: %v, want ErrReplay", err)
	}
	// The window moves on; a cell just inside it still passes once, one
	// older than the window does not.
	last := replayWindowSize + 150
	if err := deliver(last); err != nil {
		t.Fatal(err)
	}
	inside := last - replayWindowSize + 1
	if err := deliver(inside); err != nil {
		t.Fatalf("cell %d inside the window (highest %d): %v", inside, last, err)
	}
	if err := deliver(inside); !errors.Is(err, ErrReplay) {
		t.Fatalf("cell %d twice: %v, want ErrReplay", inside, err)
	}
	if err := deliver(1); !errors.Is(err, ErrReplay) {
		t.Fatalf("cell 1, older than the window: %v, want ErrReplay", err)
	}
	// Forged: a changed nonce slot is refused at the first hop; a changed
	// onion region passes the relays and is refused by the exit.
	forged := bytes.Clone(cells[last+1])
	forged[3] ^= 1
	if _, _, err := forwardDatagram(hops, forged); !errors.Is(err, ErrDatagramAuth) {
		t.Fatalf("changed nonce slot: %v, want ErrDatagramAuth", err)
	}
	changed := bytes.Clone(cells[last+2])
	changed[DatagramStackLen+40] ^= 1
	if j, _, err := forwardDatagram(hops, changed); !errors.Is(err, ErrDatagramAuth) || j != 2 {
		t.Fatalf("changed region: hop %d, %v; want ErrDatagramAuth at hop 2", j, err)
	}
	random := make([]byte, BodySize(DefaultCellSize))
	for k := range random {
		random[k] = byte(k * 7)
	}
	if _, _, err := forwardDatagram(hops, random); !errors.Is(err, ErrDatagramAuth) {
		t.Fatalf("random cell: %v, want ErrDatagramAuth", err)
	}
	// The circuit lives on: the next cells pass, datagram and relay alike.
	if err := deliver(last + 3); err != nil {
		t.Fatalf("after the refused cells: %v", err)
	}
	body, err := c.Seal(2, RelayPing, nil)
	if err != nil {
		t.Fatal(err)
	}
	if j, err := forwardAll(hops, body); err != nil || j != 2 {
		t.Fatalf("relay cell after refused datagrams: hop %d, %v", j, err)
	}

	// Backward, at the client.
	var back [][]byte
	for i := range replayWindowSize + 10 {
		back = append(back, originateDatagram(t, hops, 2, fmt.Appendf(nil, "b%d", i)))
	}
	open := func(i int) error {
		_, _, p, err := c.OpenDatagram(bytes.Clone(back[i]))
		if err == nil && string(p) != fmt.Sprintf("b%d", i) {
			t.Fatalf("backward cell %d opened as %q", i, p)
		}
		return err
	}
	for _, i := range []int{3, 1, 2} {
		if err := open(i); err != nil {
			t.Fatalf("reordered backward cell %d: %v", i, err)
		}
	}
	if err := open(2); !errors.Is(err, ErrReplay) {
		t.Fatalf("replayed backward cell: %v, want ErrReplay", err)
	}
	if err := open(replayWindowSize + 9); err != nil {
		t.Fatal(err)
	}
	if err := open(0); !errors.Is(err, ErrReplay) {
		t.Fatalf("backward cell older than the window: %v, want ErrReplay", err)
	}
	bad := bytes.Clone(back[replayWindowSize+5])
	bad[DatagramStackLen+100] ^= 0x80
	if _, _, _, err := c.OpenDatagram(bad); !errors.Is(err, ErrDatagramAuth) {
		t.Fatalf("changed backward cell: %v, want ErrDatagramAuth", err)
	}
	// A refused cell spends no counter: the genuine one still opens.
	if err := open(replayWindowSize + 5); err != nil {
		t.Fatalf("genuine cell after a changed copy: %v", err)
	}
}

// TestDatagramSlotsUnlinkable: the nonce stack a cell carries differs on
// every link, and no 16 bytes of one link's stack appear in another's, so
// hops cannot match a cell by its stack; the last hop's stack is
// uniformly random after its slot whatever the circuit's length.
func TestDatagramSlotsUnlinkable(t *testing.T) {
	c, hops := keyedCircuit(t, MaxHops, DefaultCellSize, 11)
	body := sealDatagram(t, c, MaxHops-1, []byte("x"))
	var stacks [][]byte
	cur := bytes.Clone(body)
	for j, h := range hops {
		stacks = append(stacks, bytes.Clone(cur[:DatagramStackLen]))
		mine, _, _, next, err := h.ForwardDatagram(cur)
		if err != nil {
			t.Fatalf("hop %d: %v", j, err)
		}
		if mine {
			break
		}
		cur = next
	}
	if len(stacks) != MaxHops {
		t.Fatalf("cell crossed %d links, want %d", len(stacks), MaxHops)
	}
	for a := range stacks {
		for b := range stacks {
			if a == b {
				continue
			}
			for i := 0; i+nonceSlotLen <= DatagramStackLen; i += nonceSlotLen {
				if bytes.Contains(stacks[b], stacks[a][i:i+nonceSlotLen]) {
					t.Fatalf("bytes %d..%d of link %d's stack appear on link %d", i, i+nonceSlotLen, a, b)
				}
			}
		}
	}
}

// TestReplayWindowFarJump: a counter far ahead of the window clears it,
// and everything behind the new window is refused.
func TestReplayWindowFarJump(t *testing.T) {
	var w replayWindow
	for _, n := range []uint64{0, 1, 63, 64, 65} {
		if !w.fresh(n) {
			t.Fatalf("%d refused", n)
		}
		w.accept(n)
	}
	if w.fresh(64) {
		t.Fatal("64 accepted twice")
	}
	w.accept(1 << 40)
	for _, n := range []uint64{65, 66, 1<<40 - replayWindowSize} {
		if w.fresh(n) {
			t.Fatalf("%d accepted after the jump to 2^40", n)
		}
	}
	if !w.fresh(1<<40 - replayWindowSize + 1) {
		t.Fatal("oldest counter inside the window refused")
	}
	if !w.fresh(1<<40 - 1) {
		t.Fatal("2^40-1 refused")
	}
}
