package onion

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

// testNode is a node's identity as the client finds it in the registry.
type testNode struct {
	addr Address
	key  KeyPair
	url  string
	fp   []byte
}

// newTestNodes makes n nodes with deterministic keys.
func newTestNodes(tb testing.TB, n int) []testNode {
	tb.Helper()
	nodes := make([]testNode, n)
	for i := range nodes {
		seed := sha256.Sum256([]byte(fmt.Sprintf("node %d", i)))
		kp, err := KeyPairFromPrivate(seed)
		if err != nil {
			tb.Fatal(err)
		}
		fp := sha256.Sum256([]byte(fmt.Sprintf("cert %d", i)))
		nodes[i] = testNode{key: kp, url: fmt.Sprintf("https://node%d.example:8443/signal", i), fp: fp[:]}
		copy(nodes[i].addr[:], seed[:20])
	}
	return nodes
}

func mustEncode(tb testing.TB, c Cell) []byte {
	tb.Helper()
	b, err := c.Encode()
	if err != nil {
		tb.Fatalf("encode %v cell: %v", c.Cmd, err)
	}
	return b
}

// overLink encodes a cell as the previous peer would and decodes it as the
// next one does, returning the decoded cell.
func overLink(tb testing.TB, circ uint32, cmd LinkCmd, body []byte) Cell {
	tb.Helper()
	c, err := DecodeCell(mustEncode(tb, Cell{CircID: circ, Cmd: cmd, Body: body}))
	if err != nil {
		tb.Fatalf("decode %v cell: %v", cmd, err)
	}
	if c.CircID != circ || c.Cmd != cmd || !bytes.Equal(c.Body, body) {
		tb.Fatalf("cell changed over the link")
	}
	return c
}

// buildCircuit builds a circuit through nodes by telescoping, with every
// message going through the cell encoders and decoders as on the wire.
func buildCircuit(tb testing.TB, nodes []testNode, size int) (*ClientCircuit, []*HopState) {
	tb.Helper()
	c, err := NewClientCircuit(size)
	if err != nil {
		tb.Fatal(err)
	}
	hello := func(k int) []byte { return []byte(fmt.Sprintf("v1 cell=%d hop=%d", size, k)) }
	offer := func(k int) []byte { return []byte(fmt.Sprintf("commit-%d price-%d", k, 100+k)) }

	// Hop 0: CREATE and CREATED on the client's link.
	ini, msg, err := ClientHandshake(nodes[0].addr, nodes[0].key.Public, size, hello(0))
	if err != nil {
		tb.Fatal(err)
	}
	body, err := Create{HType: HandshakeNK, Handshake: msg}.Encode(size)
	if err != nil {
		tb.Fatal(err)
	}
	cell := overLink(tb, 0x80000001, LinkCreate, body)
	create, err := DecodeCreate(cell.Body)
	if err != nil {
		tb.Fatal(err)
	}
	resp, got, err := NodeHandshake(nodes[0].addr, nodes[0].key, size, create.Handshake)
	if err != nil {
		tb.Fatal(err)
	}
	if !bytes.Equal(got, hello(0)) {
		tb.Fatalf("node 0 got payload %q", got)
	}
	reply, h0, err := resp.Reply(offer(0))
	if err != nil {
		tb.Fatal(err)
	}
	body, err = Created{Handshake: reply}.Encode(size)
	if err != nil {
		tb.Fatal(err)
	}
	created, err := DecodeCreated(overLink(tb, 0x80000001, LinkCreated, body).Body)
	if err != nil {
		tb.Fatal(err)
	}
	keys, got, err := ini.Finish(created.Handshake)
	if err != nil {
		tb.Fatal(err)
	}
	if !bytes.Equal(got, offer(0)) {
		tb.Fatalf("client got payload %q from node 0", got)
	}
	if err := c.AddHop(keys); err != nil {
		tb.Fatal(err)
	}
	hops := []*HopState{h0}

	// Hops 1..: EXTEND through the circuit, CREATE from the last hop,
	// EXTENDED back.
	for k := 1; k < len(nodes); k++ {
		ini, msg, err := ClientHandshake(nodes[k].addr, nodes[k].key.Public, size, hello(k))
		if err != nil {
			tb.Fatal(err)
		}
		ext, err := Extend{Node: nodes[k].addr, URL: nodes[k].url, Fingerprint: nodes[k].fp, HType: HandshakeNK, Handshake: msg}.Encode()
		if err != nil {
			tb.Fatal(err)
		}
		body, err := c.Seal(k-1, RelayExtend, ext)
		if err != nil {
			tb.Fatal(err)
		}
		cmd, payload := deliverForward(tb, hops, body, k-1, LinkRelayEarly)
		if cmd != RelayExtend {
			tb.Fatalf("hop %d got %v, want EXTEND", k-1, cmd)
		}
		e, err := DecodeExtend(payload)
		if err != nil {
			tb.Fatal(err)
		}
		if e.Node != nodes[k].addr || e.URL != nodes[k].url || !bytes.Equal(e.Fingerprint, nodes[k].fp) {
			tb.Fatalf("hop %d got EXTEND to %v %q", k-1, e.Node, e.URL)
		}
		// Hop k-1 relays the handshake to node k in a CREATE.
		body, err = Create{HType: e.HType, Handshake: e.Handshake}.Encode(size)
		if err != nil {
			tb.Fatal(err)
		}
		create, err := DecodeCreate(overLink(tb, uint32(0x100+k), LinkCreate, body).Body)
		if err != nil {
			tb.Fatal(err)
		}
		resp, got, err := NodeHandshake(nodes[k].addr, nodes[k].key, size, create.Handshake)
		if err != nil {
			tb.Fatal(err)
		}
		if !bytes.Equal(got, hello(k)) {
			tb.Fatalf("node %d got payload %q", k, got)
		}
		reply, hk, err := resp.Reply(offer(k))
		if err != nil {
			tb.Fatal(err)
		}
		body, err = Created{Handshake: reply}.Encode(size)
		if err != nil {
			tb.Fatal(err)
		}
		created, err := DecodeCreated(overLink(tb, uint32(0x100+k), LinkCreated, body).Body)
		if err != nil {
			tb.Fatal(err)
		}
		hops[k-1].SetNext(true)
		ed, err := Extended{Handshake: created.Handshake}.Encode()
		if err != nil {
			tb.Fatal(err)
		}
		back, err := hops[k-1].Originate(RelayExtended, ed)
		if err != nil {
			tb.Fatal(err)
		}
		from, cmd, payload, err := deliverBackward(tb, c, hops, back, k-1)
		if err != nil || from != k-1 || cmd != RelayExtended {
			tb.Fatalf("client got %v from hop %d (%v), want EXTENDED from %d", cmd, from, err, k-1)
		}
		x, err := DecodeExtended(payload)
		if err != nil {
			tb.Fatal(err)
		}
		keys, got, err := ini.Finish(x.Handshake)
		if err != nil {
			tb.Fatal(err)
		}
		if !bytes.Equal(got, offer(k)) {
			tb.Fatalf("client got payload %q from node %d", got, k)
		}
		if err := c.AddHop(keys); err != nil {
			tb.Fatal(err)
		}
		hops = append(hops, hk)
	}
	return c, hops
}

// deliverForward carries a forward body from the client through hops until
// one recognizes it, checking that it is target and that no other hop does.
func deliverForward(tb testing.TB, hops []*HopState, body []byte, target int, cmd LinkCmd) (RelayCmd, []byte) {
	tb.Helper()
	for j, h := range hops {
		cell := overLink(tb, uint32(0x200+j), cmd, body)
		mine, rc, payload, next, err := h.Forward(cell.Body)
		if err != nil {
			tb.Fatalf("hop %d: %v", j, err)
		}
		if mine != (j == target) {
			tb.Fatalf("hop %d: mine=%v for a cell to hop %d", j, mine, target)
		}
		if mine {
			return rc, payload
		}
		if next == nil {
			tb.Fatalf("hop %d: no next body", j)
		}
		body = next
	}
	tb.Fatalf("no hop recognized a cell for hop %d", target)
	return 0, nil
}

// deliverBackward carries a body originated at hop from back to the client.
func deliverBackward(tb testing.TB, c *ClientCircuit, hops []*HopState, body []byte, from int) (int, RelayCmd, []byte, error) {
	tb.Helper()
	for j := from - 1; j >= 0; j-- {
		var err error
		if body, err = hops[j].Backward(overLink(tb, uint32(0x300+j), LinkRelay, body).Body); err != nil {
			tb.Fatalf("hop %d backward: %v", j, err)
		}
	}
	return c.Open(overLink(tb, 0x80000001, LinkRelay, body).Body)
}

// keyedCircuit makes an n-hop circuit straight from derived keys, without
// handshakes (cheap, for tests that need many fresh circuits).
func keyedCircuit(tb testing.TB, n, size int, seed uint64) (*ClientCircuit, []*HopState) {
	tb.Helper()
	c, err := NewClientCircuit(size)
	if err != nil {
		tb.Fatal(err)
	}
	hops := make([]*HopState, n)
	for i := range hops {
		secret := binary.BigEndian.AppendUint64(nil, seed)
		secret = binary.BigEndian.AppendUint64(secret, uint64(i))
		kc, err := deriveKeys(secret, nil, size)
		if err != nil {
			tb.Fatal(err)
		}
		kn, err := deriveKeys(secret, nil, size)
		if err != nil {
			tb.Fatal(err)
		}
		if err := c.AddHop(kc); err != nil {
			tb.Fatal(err)
		}
		hops[i] = newHopState(kn)
		hops[i].SetNext(i < n-1)
	}
	return c, hops
}

// forwardAll passes body through hops, returning the first hop that
// recognizes it (or -1) and the first error.
func forwardAll(hops []*HopState, body []byte) (int, error) {
	for j, h := range hops {
		mine, _, _, next, err := h.Forward(body)
		if err != nil {
			return j, err
		}
		if mine {
			return j, nil
		}
		body = next
	}
	return -1, errors.New("fell off the end")
}

// backwardAll adds the layers of hops from-1..0 to body.
func backwardAll(tb testing.TB, hops []*HopState, body []byte, from int) []byte {
	tb.Helper()
	for j := from - 1; j >= 0; j-- {
		var err error
		if body, err = hops[j].Backward(body); err != nil {
			tb.Fatalf("hop %d backward: %v", j, err)
		}
	}
	return body
}
