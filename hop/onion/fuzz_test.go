package onion

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzDecodeCell(f *testing.F) {
	hs := bytes.Repeat([]byte{9}, MinHandshakeLen)
	f.Add(mustBody(Cell{0, LinkPadding, make([]byte, BodySize(512))}.Encode()))
	f.Add(mustBody(Cell{1, LinkCreate, mustBody(Create{HType: HandshakeNK, Handshake: hs}.Encode(512))}.Encode()))
	f.Add(mustBody(Cell{2, LinkCreated, mustBody(Created{Handshake: hs}.Encode(512))}.Encode()))
	f.Add(mustBody(Cell{3, LinkDestroy, mustBody(Destroy{Reason: ReasonTimeout}.Encode(512))}.Encode()))
	f.Add(mustBody(Cell{4, LinkRelay, bytes.Repeat([]byte{0x5a}, BodySize(512))}.Encode()))
	f.Add(mustBody(validExtend().Encode()))
	f.Add(mustBody(Pay{Ticket: []byte("t")}.Encode()))
	f.Add(Sendme{}.Encode())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		c, err := DecodeCell(b)
		if !bytes.Equal(in, b) {
			t.Fatal("DecodeCell modified its input")
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
		} else {
			out, err := c.Encode()
			if err != nil || !bytes.Equal(out, b) {
				t.Fatalf("re-encoding a decoded cell: %v", err)
			}
			switch c.Cmd {
			case LinkCreate:
				x, _ := DecodeCreate(c.Body)
				if again, err := x.Encode(len(b)); err != nil || !bytes.Equal(again, c.Body) {
					t.Fatalf("CREATE not canonical: %v", err)
				}
			case LinkCreated:
				x, _ := DecodeCreated(c.Body)
				if again, err := x.Encode(len(b)); err != nil || !bytes.Equal(again, c.Body) {
					t.Fatalf("CREATED not canonical: %v", err)
				}
			case LinkDestroy:
				x, _ := DecodeDestroy(c.Body)
				if again, err := x.Encode(len(b)); err != nil || !bytes.Equal(again, c.Body) {
					t.Fatalf("DESTROY not canonical: %v", err)
				}
			}
		}
		// The same bytes as relay payloads.
		if e, err := DecodeExtend(b); err == nil {
			if again, err := e.Encode(); err != nil || !bytes.Equal(again, b) {
				t.Fatalf("EXTEND not canonical: %v", err)
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatal(err)
		}
		if e, err := DecodeExtended(b); err == nil {
			if again, err := e.Encode(); err != nil || !bytes.Equal(again, b) {
				t.Fatalf("EXTENDED not canonical: %v", err)
			}
		}
		if p, err := DecodePay(b); err == nil {
			if again, err := p.Encode(); err != nil || !bytes.Equal(again, b) {
				t.Fatalf("PAY not canonical: %v", err)
			}
		}
		if p, err := DecodePaid(b); err == nil {
			if again, err := p.Encode(); err != nil || !bytes.Equal(again, b) {
				t.Fatalf("PAID not canonical: %v", err)
			}
		}
		if s, err := DecodeSendme(b); err == nil && !bytes.Equal(s.Encode(), b) {
			t.Fatal("SENDME not canonical")
		}
		if r, err := DecodeReason(b); err == nil && !bytes.Equal(EncodeReason(r), b) {
			t.Fatal("reason not canonical")
		}
	})
}

// fuzzKey is a fixed node key, so that seed messages stay valid.
func fuzzNode(tb testing.TB) testNode { return newTestNodes(tb, 1)[0] }

func FuzzHandshake(f *testing.F) {
	n := fuzzNode(f)
	for _, p := range [][]byte{nil, []byte("v1"), make([]byte, MaxHandshakePayload)} {
		_, msg, err := ClientHandshake(n.addr, n.key.Public, MinCellSize, p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(msg)
	}
	f.Add(make([]byte, MinHandshakeLen))
	f.Fuzz(func(t *testing.T, msg []byte) {
		// The node reading an arbitrary first message.
		resp, payload, err := NodeHandshake(n.addr, n.key, MinCellSize, msg)
		if err != nil {
			if !errors.Is(err, ErrHandshake) {
				t.Fatalf("error %v does not wrap ErrHandshake", err)
			}
		} else {
			if len(payload) != len(msg)-MinHandshakeLen {
				t.Fatalf("payload of %d bytes from a %d-byte message", len(payload), len(msg))
			}
			if _, h, err := resp.Reply(payload); err != nil || h == nil {
				t.Fatalf("reply: %v", err)
			}
		}
		// The client reading an arbitrary reply.
		ini, _, err := ClientHandshake(n.addr, n.key.Public, MinCellSize, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := ini.Finish(msg); !errors.Is(err, ErrHandshake) {
			t.Fatalf("client accepted a reply it could not have been sent: %v", err)
		}
	})
}

func FuzzOpen(f *testing.F) {
	c, hops := keyedCircuit(f, 3, MinCellSize, 99)
	for k := range 3 {
		b, _ := hops[k].Originate(RelayData, []byte("seed"))
		f.Add(backwardAll(f, hops, b, k), uint8(0))
	}
	f.Add(make([]byte, BodySize(MinCellSize)), uint8(0))
	b, _ := c.Seal(0, RelayPay, []byte("x"))
	f.Add(b, uint8(3))
	f.Add([]byte{byte(RelayData), 0, 1, 'a'}, uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		c, hops := keyedCircuit(t, 3, MinCellSize, 99)
		if mode&1 == 0 {
			// An arbitrary body from the link.
			hop, cmd, payload, err := c.Open(bytes.Clone(data))
			switch {
			case err == nil:
				// Only possible for the seeds, which are genuine.
				if hop < 0 || hop > 2 || !cmd.valid() || len(payload) > c.MaxPayload() {
					t.Fatalf("accepted hop %d %v with %d bytes", hop, cmd, len(payload))
				}
			case len(data) != BodySize(MinCellSize):
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("wrong-length body: %v", err)
				}
			case !errors.Is(err, ErrAuth) && !errors.Is(err, ErrMalformed):
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		// An arbitrary plaintext, authenticated by a (broken) hop: the
		// client must attribute it and parse it strictly.
		from := int(mode>>1) % 3
		body := make([]byte, BodySize(MinCellSize))
		copy(body[TagLen:], data)
		originateRaw(hops[from], body)
		body = backwardAll(t, hops, body, from)
		hop, cmd, payload, err := c.Open(body)
		if hop != from {
			t.Fatalf("cell from hop %d attributed to %d (%v)", from, hop, err)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("authenticated cell: %v", err)
			}
			return
		}
		// Accepted plaintexts are canonical.
		want := make([]byte, BodySize(MinCellSize))
		if err := writePlain(want, cmd, payload); err != nil {
			t.Fatal(err)
		}
		plain := make([]byte, BodySize(MinCellSize))
		copy(plain[TagLen:], data)
		if !bytes.Equal(want[TagLen:], plain[TagLen:]) {
			t.Fatal("accepted a non-canonical plaintext")
		}
	})
}

// FuzzDatagram feeds arbitrary bodies to the datagram lane's decoders,
// the client's OpenDatagram and a hop's ForwardDatagram: only the genuine
// seeds may be accepted, anything else is refused with ErrDatagramAuth,
// ErrReplay or ErrMalformed, and a refused cell leaves the circuit good.
func FuzzDatagram(f *testing.F) {
	c, hops := keyedCircuit(f, 3, MinCellSize, 98)
	for k := range 3 {
		body := make([]byte, BodySize(MinCellSize))
		if err := hops[k].OriginateDatagramInto(body, RelayData, []byte("seed")); err != nil {
			f.Fatal(err)
		}
		for j := k - 1; j >= 0; j-- {
			body, _ = hops[j].BackwardDatagram(body)
		}
		f.Add(body, false)
	}
	for k := range 3 {
		body := make([]byte, BodySize(MinCellSize))
		if err := c.SealDatagramInto(body, k, RelayData, []byte("seed")); err != nil {
			f.Fatal(err)
		}
		f.Add(body, true)
	}
	f.Add(make([]byte, BodySize(MinCellSize)), false)
	f.Add([]byte{1, 2, 3}, true)
	f.Fuzz(func(t *testing.T, data []byte, forward bool) {
		c, hops := keyedCircuit(t, 3, MinCellSize, 98)
		check := func(err error) {
			t.Helper()
			switch {
			case err == nil:
			case len(data) != BodySize(MinCellSize):
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("wrong-length body: %v", err)
				}
			case !errors.Is(err, ErrDatagramAuth) && !errors.Is(err, ErrReplay) && !errors.Is(err, ErrMalformed):
				t.Fatalf("unexpected error %v", err)
			}
		}
		if forward {
			body := bytes.Clone(data)
			for j, h := range hops {
				mine, cmd, payload, next, err := h.ForwardDatagram(body)
				check(err)
				if err != nil {
					break
				}
				if mine {
					if !cmd.valid() || len(payload) > MaxDatagramPayload(MinCellSize) {
						t.Fatalf("hop %d accepted %v with %d bytes", j, cmd, len(payload))
					}
					break
				}
				body = next
			}
		} else {
			hop, cmd, payload, err := c.OpenDatagram(bytes.Clone(data))
			check(err)
			if err == nil && (hop < 0 || hop > 2 || !cmd.valid() || len(payload) > MaxDatagramPayload(MinCellSize)) {
				t.Fatalf("accepted hop %d %v with %d bytes", hop, cmd, len(payload))
			}
		}
		// Whatever came before, genuine cells still pass both ways (with
		// counters past those of the seeds).
		c.dgN = 1000
		for _, h := range hops {
			h.dgBwdN = 1000
		}
		body := make([]byte, BodySize(MinCellSize))
		if err := c.SealDatagramInto(body, 2, RelayData, []byte("after")); err != nil {
			t.Fatal(err)
		}
		if j, p, err := forwardDatagram(hops, body); err != nil || j != 2 || string(p) != "after" {
			t.Fatalf("genuine forward cell after fuzz input: hop %d %q %v", j, p, err)
		}
		back := originateDatagram(t, hops, 2, []byte("back"))
		if hop, _, p, err := c.OpenDatagram(back); err != nil || hop != 2 || string(p) != "back" {
			t.Fatalf("genuine backward cell after fuzz input: hop %d %q %v", hop, p, err)
		}
		if b, err := c.Seal(2, RelayPing, nil); err != nil {
			t.Fatal(err)
		} else if j, err := forwardAll(hops, b); err != nil || j != 2 {
			t.Fatalf("relay cell after fuzz input: hop %d %v", j, err)
		}
	})
}
