package onion

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// rawCell builds cell bytes directly, bypassing the encoders.
func rawCell(size int, circ uint32, cmd byte, body ...byte) []byte {
	b := make([]byte, size)
	binary.BigEndian.PutUint32(b, circ)
	b[4] = cmd
	copy(b[HeaderLen:], body)
	return b
}

func withByte(b []byte, i int, v byte) []byte {
	b = bytes.Clone(b)
	b[i] = v
	return b
}

func TestDecodeCellValid(t *testing.T) {
	hs := make([]byte, MinHandshakeLen)
	for _, size := range []int{512, 1024, 2048, 4096, 8192, 16384} {
		create, err := Create{HType: HandshakeNK, Handshake: hs}.Encode(size)
		if err != nil {
			t.Fatal(err)
		}
		created, err := Created{Handshake: hs}.Encode(size)
		if err != nil {
			t.Fatal(err)
		}
		destroy, err := Destroy{Reason: ReasonUnpaid}.Encode(size)
		if err != nil {
			t.Fatal(err)
		}
		relay := bytes.Repeat([]byte{0xa5}, BodySize(size))
		for _, c := range []Cell{
			{0, LinkPadding, make([]byte, BodySize(size))},
			{7, LinkCreate, create},
			{0xffffffff, LinkCreated, created},
			{1, LinkRelay, relay},
			{1 << 31, LinkRelayEarly, relay},
			{9, LinkDestroy, destroy},
		} {
			b := mustEncode(t, c)
			if len(b) != size {
				t.Fatalf("%v cell of %d bytes, want %d", c.Cmd, len(b), size)
			}
			got, err := DecodeCell(b)
			if err != nil {
				t.Fatalf("%v: %v", c.Cmd, err)
			}
			if got.CircID != c.CircID || got.Cmd != c.Cmd || !bytes.Equal(got.Body, c.Body) {
				t.Fatalf("%v: round trip changed the cell", c.Cmd)
			}
			if err := PutHeader(b, 42, LinkRelay); err != nil {
				t.Fatal(err)
			}
			if got, err := DecodeCell(b); c.Cmd == LinkRelay && (err != nil || got.CircID != 42) {
				t.Fatalf("PutHeader: %v", err)
			}
		}
	}
	if d, err := DecodeDestroy(mustEncode(t, Cell{3, LinkDestroy, mustBody(Destroy{ReasonTimeout}.Encode(512))})[HeaderLen:]); err != nil || d.Reason != ReasonTimeout {
		t.Fatalf("destroy: %v %v", d, err)
	}
}

func mustBody(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestDecodeCellMalformed(t *testing.T) {
	hs := bytes.Repeat([]byte{1}, MinHandshakeLen)
	createBody := mustBody(Create{HType: HandshakeNK, Handshake: hs}.Encode(512))
	createdBody := mustBody(Created{Handshake: hs}.Encode(512))
	create := rawCell(512, 5, byte(LinkCreate), createBody...)
	created := rawCell(512, 5, byte(LinkCreated), createdBody...)
	tests := []struct {
		name string
		cell []byte
	}{
		{"empty", nil},
		{"header only", make([]byte, HeaderLen)},
		{"511 bytes", make([]byte, 511)},
		{"513 bytes", make([]byte, 513)},
		{"768 bytes", make([]byte, 768)},
		{"4095 bytes", make([]byte, 4095)},
		{"32768 bytes", make([]byte, 32768)},
		{"256 bytes", make([]byte, 256)},
		{"unknown command 7", rawCell(512, 1, 7)},
		{"datagram on circuit 0", rawCell(512, 0, byte(LinkDatagram))},
		{"unknown command 255", rawCell(512, 1, 255)},
		{"padding on a circuit", rawCell(512, 1, byte(LinkPadding))},
		{"padding with a body", rawCell(512, 0, byte(LinkPadding), 0, 0, 1)},
		{"relay on circuit 0", rawCell(512, 0, byte(LinkRelay))},
		{"relay early on circuit 0", rawCell(512, 0, byte(LinkRelayEarly))},
		{"create on circuit 0", withByte(create, 3, 0)},
		{"create unknown htype", withByte(create, HeaderLen+1, 2)},
		{"create htype 0", withByte(create, HeaderLen+1, 0)},
		{"create hlen 0", withByte(create, HeaderLen+3, 0)},
		{"create hlen short", withByte(create, HeaderLen+3, MinHandshakeLen-1)},
		{"create hlen long", withByte(withByte(create, HeaderLen+2, 0x01), HeaderLen+3, 0x31)},
		{"create hlen past body", withByte(create, HeaderLen+2, 0xff)},
		{"create nonzero padding", withByte(create, 511, 1)},
		{"create nonzero padding after hdata", withByte(create, HeaderLen+4+MinHandshakeLen, 1)},
		{"created hlen 0", withByte(created, HeaderLen+1, 0)},
		{"created hlen past body", withByte(created, HeaderLen, 0xff)},
		{"created nonzero padding", withByte(created, 511, 1)},
		{"created on circuit 0", withByte(created, 3, 0)},
		{"destroy unknown reason", rawCell(512, 1, byte(LinkDestroy), 200)},
		{"destroy nonzero padding", rawCell(512, 1, byte(LinkDestroy), 1, 0, 0, 1)},
		{"destroy on circuit 0", rawCell(512, 0, byte(LinkDestroy))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := DecodeCell(tt.cell)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %+v, %v; want ErrMalformed", c.Cmd, err)
			}
			if c.Body != nil {
				t.Fatal("body returned with an error")
			}
		})
	}
}

func TestEncodeCellRejects(t *testing.T) {
	for _, c := range []Cell{
		{1, LinkRelay, make([]byte, 100)},
		{1, LinkRelay, nil},
		{0, LinkRelay, make([]byte, BodySize(512))},
		{1, LinkPadding, make([]byte, BodySize(512))},
		{1, 9, make([]byte, BodySize(512))},
		{1, LinkCreate, make([]byte, BodySize(512))},
	} {
		if _, err := c.Encode(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%v on %d with %d bytes: %v, want ErrMalformed", c.Cmd, c.CircID, len(c.Body), err)
		}
	}
	b := make([]byte, 512)
	for _, tc := range []struct {
		circ uint32
		cmd  LinkCmd
	}{{0, LinkRelay}, {1, LinkPadding}, {1, 7}, {0, LinkDatagram}} {
		if err := PutHeader(b, tc.circ, tc.cmd); err == nil {
			t.Errorf("PutHeader(%d, %v) succeeded", tc.circ, tc.cmd)
		}
	}
	if err := PutHeader(make([]byte, 100), 1, LinkRelay); err == nil {
		t.Error("PutHeader on 100 bytes succeeded")
	}
	for _, size := range []int{0, 256, 511, 1000, 32768} {
		if _, err := (Destroy{}).Encode(size); err == nil {
			t.Errorf("Destroy.Encode(%d) succeeded", size)
		}
		if _, err := (Create{HType: HandshakeNK, Handshake: make([]byte, MinHandshakeLen)}).Encode(size); err == nil {
			t.Errorf("Create.Encode(%d) succeeded", size)
		}
		if _, err := (Created{Handshake: make([]byte, MinHandshakeLen)}).Encode(size); err == nil {
			t.Errorf("Created.Encode(%d) succeeded", size)
		}
	}
	if _, err := (Destroy{Reason: 99}).Encode(512); err == nil {
		t.Error("unknown reason encoded")
	}
	if _, err := (Create{HType: 2, Handshake: make([]byte, MinHandshakeLen)}).Encode(512); err == nil {
		t.Error("unknown htype encoded")
	}
	if _, err := (Created{Handshake: make([]byte, MaxHandshakeLen+1)}).Encode(512); err == nil {
		t.Error("oversized handshake encoded")
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{LinkRelayEarly.String(), "RELAY_EARLY"},
		{LinkCmd(77).String(), "LinkCmd(77)"},
		{RelayPaid.String(), "PAID"},
		{RelayCmd(0).String(), "RelayCmd(0)"},
		{ReasonUnpaid.String(), "unpaid"},
		{Reason(200).String(), "Reason(200)"},
		{Address{0xab, 19: 1}.String(), "0xab00000000000000000000000000000000000001"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestValidCellSize(t *testing.T) {
	valid := map[int]bool{512: true, 1024: true, 2048: true, 4096: true, 8192: true, 16384: true}
	for n := -1; n <= 40000; n++ {
		if ValidCellSize(n) != valid[n] {
			t.Fatalf("ValidCellSize(%d) = %v", n, !valid[n])
		}
	}
	if !ValidCellSize(DefaultCellSize) {
		t.Fatal("default cell size invalid")
	}
	if MaxPayload(512) != 488 || MaxPayload(4096) != 4072 || MaxPayload(16384) != 16360 {
		t.Fatal("MaxPayload changed")
	}
}

func validExtend() Extend {
	return Extend{
		Node:        Address{1, 2, 3, 19: 20},
		URL:         "https://relay.example:8443/pexia/signal",
		Fingerprint: bytes.Repeat([]byte{0xfe}, 32),
		HType:       HandshakeNK,
		Handshake:   bytes.Repeat([]byte{7}, MinHandshakeLen+10),
	}
}

func TestExtend(t *testing.T) {
	e := validExtend()
	p, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeExtend(p)
	if err != nil {
		t.Fatal(err)
	}
	if got.Node != e.Node || got.URL != e.URL || !bytes.Equal(got.Fingerprint, e.Fingerprint) || got.HType != e.HType || !bytes.Equal(got.Handshake, e.Handshake) {
		t.Fatalf("round trip: %+v", got)
	}
	// Fits in the smallest cell with a long URL and a full fingerprint.
	e.URL = strings.Repeat("u", 120)
	e.Fingerprint = make([]byte, 64)
	e.Handshake = make([]byte, MinHandshakeLen+128)
	if p, err := e.Encode(); err != nil || len(p) > MaxPayload(MinCellSize) {
		t.Fatalf("EXTEND of %d bytes does not fit a %d-byte cell: %v", len(p), MinCellSize, err)
	}
	noFP := validExtend()
	noFP.Fingerprint = nil
	if p, err := noFP.Encode(); err != nil {
		t.Fatal(err)
	} else if got, err := DecodeExtend(p); err != nil || len(got.Fingerprint) != 0 {
		t.Fatalf("empty fingerprint: %v", err)
	}

	for _, bad := range []func(*Extend){
		func(e *Extend) { e.URL = "" },
		func(e *Extend) { e.URL = strings.Repeat("a", MaxURLLen+1) },
		func(e *Extend) { e.URL = "https://a b" },
		func(e *Extend) { e.URL = "https://é" },
		func(e *Extend) { e.URL = "https://a\x7f" },
		func(e *Extend) { e.Fingerprint = make([]byte, MaxFingerprintLen+1) },
		func(e *Extend) { e.HType = 0 },
		func(e *Extend) { e.Handshake = nil },
		func(e *Extend) { e.Handshake = make([]byte, MaxHandshakeLen+1) },
	} {
		e := validExtend()
		bad(&e)
		if _, err := e.Encode(); err == nil {
			t.Errorf("encoded bad EXTEND %+v", e)
		}
	}
}

func TestDecodeExtendMalformed(t *testing.T) {
	p, err := validExtend().Encode()
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(p) {
		if _, err := DecodeExtend(p[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("prefix of %d bytes: %v, want ErrMalformed", n, err)
		}
	}
	urlLen := 20
	fpLen := 21 + int(p[urlLen])
	htype := fpLen + 1 + int(p[fpLen])
	tests := []struct {
		name string
		p    []byte
	}{
		{"trailing byte", append(bytes.Clone(p), 0)},
		{"url length 0", withByte(p, urlLen, 0)},
		{"url space", withByte(p, urlLen+3, ' ')},
		{"url control", withByte(p, urlLen+1, '\n')},
		{"url high", withByte(p, urlLen+1, 0x80)},
		{"fingerprint too long", withByte(p, fpLen, MaxFingerprintLen+1)},
		{"fingerprint past end", withByte(p, fpLen, 0xff)},
		{"unknown htype", withByte(p, htype+1, 9)},
		{"hlen short", withByte(p, htype+3, 1)},
		{"hlen past end", withByte(p, htype+2, 0xff)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeExtend(tt.p); !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}

func TestSmallPayloads(t *testing.T) {
	hs := bytes.Repeat([]byte{3}, MinHandshakeLen)
	ed, err := Extended{Handshake: hs}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if x, err := DecodeExtended(ed); err != nil || !bytes.Equal(x.Handshake, hs) {
		t.Fatalf("EXTENDED: %v", err)
	}
	pay, err := Pay{Ticket: []byte("ticket")}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if x, err := DecodePay(pay); err != nil || string(x.Ticket) != "ticket" {
		t.Fatalf("PAY: %v", err)
	}
	paid, err := Paid{}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if x, err := DecodePaid(paid); err != nil || len(x.Receipt) != 0 {
		t.Fatalf("PAID: %v", err)
	}
	s := Sendme{Digest: Digest{1, 2, 15: 3}}
	if x, err := DecodeSendme(s.Encode()); err != nil || x != s {
		t.Fatalf("SENDME: %v", err)
	}
	st := Sendme{Digest: Digest{4, 15: 5}, Arrived: 1<<40 + 3}
	if x, err := DecodeSendme(st.Encode()); err != nil || x != st {
		t.Fatalf("SENDME with arrival time: %+v, %v", x, err)
	}
	if r, err := DecodeReason(EncodeReason(ReasonFinished)); err != nil || r != ReasonFinished {
		t.Fatalf("reason: %v", err)
	}
	if _, err := (Pay{}).Encode(); err == nil {
		t.Error("empty PAY encoded")
	}
	if _, err := (Pay{Ticket: make([]byte, 1<<16)}).Encode(); err == nil {
		t.Error("oversized PAY encoded")
	}
	if _, err := (Paid{Receipt: make([]byte, 1<<16)}).Encode(); err == nil {
		t.Error("oversized PAID encoded")
	}
	if _, err := (Extended{}).Encode(); err == nil {
		t.Error("empty EXTENDED encoded")
	}

	tests := []struct {
		name   string
		decode func([]byte) error
		p      []byte
	}{
		{"EXTENDED empty", func(b []byte) error { _, err := DecodeExtended(b); return err }, nil},
		{"EXTENDED trailing", func(b []byte) error { _, err := DecodeExtended(b); return err }, append(bytes.Clone(ed), 0)},
		{"EXTENDED short", func(b []byte) error { _, err := DecodeExtended(b); return err }, ed[:len(ed)-1]},
		{"EXTENDED hlen small", func(b []byte) error { _, err := DecodeExtended(b); return err }, []byte{0, 1, 9}},
		{"PAY empty", func(b []byte) error { _, err := DecodePay(b); return err }, nil},
		{"PAY zero ticket", func(b []byte) error { _, err := DecodePay(b); return err }, []byte{0, 0}},
		{"PAY trailing", func(b []byte) error { _, err := DecodePay(b); return err }, append(bytes.Clone(pay), 1)},
		{"PAY one length byte", func(b []byte) error { _, err := DecodePay(b); return err }, []byte{0}},
		{"PAID short", func(b []byte) error { _, err := DecodePaid(b); return err }, []byte{0, 5, 1}},
		{"PAID trailing", func(b []byte) error { _, err := DecodePaid(b); return err }, []byte{0, 0, 0}},
		{"SENDME empty", func(b []byte) error { _, err := DecodeSendme(b); return err }, nil},
		{"SENDME version 2", func(b []byte) error { _, err := DecodeSendme(b); return err }, withByte(s.Encode(), 0, 2)},
		{"SENDME short", func(b []byte) error { _, err := DecodeSendme(b); return err }, s.Encode()[:16]},
		{"SENDME arrived 0", func(b []byte) error { _, err := DecodeSendme(b); return err }, append(s.Encode(), 0, 0, 0, 0, 0, 0, 0, 0)},
		{"SENDME arrival short", func(b []byte) error { _, err := DecodeSendme(b); return err }, st.Encode()[:24]},
		{"SENDME trailing", func(b []byte) error { _, err := DecodeSendme(b); return err }, append(st.Encode(), 1)},
		{"reason empty", func(b []byte) error { _, err := DecodeReason(b); return err }, nil},
		{"reason unknown", func(b []byte) error { _, err := DecodeReason(b); return err }, []byte{99}},
		{"reason long", func(b []byte) error { _, err := DecodeReason(b); return err }, []byte{1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.decode(tt.p); !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}
