package onion

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

func TestHandshake(t *testing.T) {
	nodes := newTestNodes(t, 2)
	a := nodes[0]
	ini, msg, err := ClientHandshake(a.addr, a.key.Public, DefaultCellSize, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if len(msg) != MinHandshakeLen+5 {
		t.Fatalf("message of %d bytes", len(msg))
	}
	resp, got, err := NodeHandshake(a.addr, a.key, DefaultCellSize, msg)
	if err != nil || string(got) != "hello" {
		t.Fatalf("node: %q, %v", got, err)
	}
	reply, hop, err := resp.Reply([]byte("offer"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := resp.Reply(nil); err == nil {
		t.Fatal("second Reply succeeded")
	}
	keys, got, err := ini.Finish(reply)
	if err != nil || string(got) != "offer" {
		t.Fatalf("client: %q, %v", got, err)
	}
	if _, _, err := ini.Finish(reply); err == nil {
		t.Fatal("second Finish succeeded")
	}
	if keys.CellSize() != DefaultCellSize || hop.CellSize() != DefaultCellSize {
		t.Fatal("cell size lost")
	}
	c, _ := NewClientCircuit(DefaultCellSize)
	if err := c.AddHop(keys); err != nil {
		t.Fatal(err)
	}
	body, _ := c.Seal(0, RelayData, []byte("through"))
	if mine, _, p, _, err := hop.Forward(body); !mine || err != nil || string(p) != "through" {
		t.Fatalf("keys differ: mine=%v %v", mine, err)
	}
}

func TestHandshakeFailures(t *testing.T) {
	nodes := newTestNodes(t, 2)
	a, b := nodes[0], nodes[1]
	const size = DefaultCellSize
	fresh := func() (*Initiator, []byte) {
		ini, msg, err := ClientHandshake(a.addr, a.key.Public, size, []byte("hi"))
		if err != nil {
			t.Fatal(err)
		}
		return ini, msg
	}
	_, msg := fresh()

	t.Run("wrong static key", func(t *testing.T) {
		_, m, err := ClientHandshake(a.addr, b.key.Public, size, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := NodeHandshake(a.addr, a.key, size, m); !errors.Is(err, ErrHandshake) {
			t.Fatalf("got %v, want ErrHandshake", err)
		}
	})
	t.Run("replayed to another node", func(t *testing.T) {
		if _, _, err := NodeHandshake(b.addr, b.key, size, msg); !errors.Is(err, ErrHandshake) {
			t.Fatalf("got %v, want ErrHandshake", err)
		}
	})
	t.Run("other address, same key", func(t *testing.T) {
		if _, _, err := NodeHandshake(b.addr, a.key, size, msg); !errors.Is(err, ErrHandshake) {
			t.Fatalf("got %v, want ErrHandshake", err)
		}
	})
	t.Run("other cell size", func(t *testing.T) {
		if _, _, err := NodeHandshake(a.addr, a.key, MinCellSize, msg); !errors.Is(err, ErrHandshake) {
			t.Fatalf("got %v, want ErrHandshake", err)
		}
	})
	t.Run("tampered message", func(t *testing.T) {
		for i := range msg {
			m := bytes.Clone(msg)
			m[i] ^= 0x10
			if _, _, err := NodeHandshake(a.addr, a.key, size, m); !errors.Is(err, ErrHandshake) {
				t.Fatalf("byte %d: got %v, want ErrHandshake", i, err)
			}
		}
		for _, m := range [][]byte{nil, msg[:MinHandshakeLen-1], append(bytes.Clone(msg), 0), make([]byte, MaxHandshakeLen+1)} {
			if _, _, err := NodeHandshake(a.addr, a.key, size, m); !errors.Is(err, ErrHandshake) {
				t.Fatalf("%d bytes: got %v, want ErrHandshake", len(m), err)
			}
		}
	})
	t.Run("low-order ephemeral", func(t *testing.T) {
		m := bytes.Clone(msg)
		clear(m[:32])
		if _, _, err := NodeHandshake(a.addr, a.key, size, m); !errors.Is(err, ErrHandshake) {
			t.Fatalf("got %v, want ErrHandshake", err)
		}
	})
	t.Run("tampered reply", func(t *testing.T) {
		_, m := fresh()
		resp, _, err := NodeHandshake(a.addr, a.key, size, m)
		if err != nil {
			t.Fatal(err)
		}
		reply, _, err := resp.Reply([]byte("offer"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range reply {
			r := bytes.Clone(reply)
			r[i] ^= 0x01
			ini, _ := fresh()
			if _, _, err := ini.Finish(r); !errors.Is(err, ErrHandshake) {
				t.Fatalf("byte %d: got %v, want ErrHandshake", i, err)
			}
		}
	})
	t.Run("reply to another client", func(t *testing.T) {
		_, m := fresh()
		resp, _, err := NodeHandshake(a.addr, a.key, size, m)
		if err != nil {
			t.Fatal(err)
		}
		reply, _, err := resp.Reply(nil)
		if err != nil {
			t.Fatal(err)
		}
		ini, _ := fresh()
		if _, _, err := ini.Finish(reply); !errors.Is(err, ErrHandshake) {
			t.Fatalf("got %v, want ErrHandshake", err)
		}
	})
	t.Run("reply by another node", func(t *testing.T) {
		ini, _ := fresh()
		_, m, _ := ClientHandshake(b.addr, b.key.Public, size, nil)
		resp, _, err := NodeHandshake(b.addr, b.key, size, m)
		if err != nil {
			t.Fatal(err)
		}
		reply, _, _ := resp.Reply(nil)
		if _, _, err := ini.Finish(reply); !errors.Is(err, ErrHandshake) {
			t.Fatalf("got %v, want ErrHandshake", err)
		}
	})
	t.Run("bad reply length", func(t *testing.T) {
		for _, n := range []int{0, MinHandshakeLen - 1, MaxHandshakeLen + 1} {
			ini, _ := fresh()
			if _, _, err := ini.Finish(make([]byte, n)); !errors.Is(err, ErrHandshake) {
				t.Fatalf("%d bytes: got %v, want ErrHandshake", n, err)
			}
		}
	})
	t.Run("arguments", func(t *testing.T) {
		if _, _, err := ClientHandshake(a.addr, a.key.Public, 1000, nil); err == nil {
			t.Error("cell size 1000 accepted")
		}
		if _, _, err := ClientHandshake(a.addr, a.key.Public, size, make([]byte, MaxHandshakePayload+1)); err == nil {
			t.Error("oversized payload accepted")
		}
		if _, _, err := ClientHandshake(a.addr, [32]byte{}, size, nil); !errors.Is(err, ErrHandshake) {
			t.Errorf("zero node key: %v, want ErrHandshake", err)
		}
		if _, _, err := NodeHandshake(a.addr, a.key, 3, msg); err == nil || errors.Is(err, ErrHandshake) {
			t.Errorf("cell size 3: %v", err)
		}
		_, m, err := ClientHandshake(a.addr, a.key.Public, size, make([]byte, MaxHandshakePayload))
		if err != nil || len(m) != MaxHandshakeLen {
			t.Fatalf("largest payload: %d bytes, %v", len(m), err)
		}
		resp, _, err := NodeHandshake(a.addr, a.key, size, m)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := resp.Reply(make([]byte, MaxHandshakePayload+1)); err == nil {
			t.Error("oversized reply payload accepted")
		}
	})
}

func TestKeyPair(t *testing.T) {
	k1, err := GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if k1.Public == k2.Public {
		t.Fatal("two generated keys are equal")
	}
	k3, err := KeyPairFromPrivate(k1.Private)
	if err != nil || k3 != k1 {
		t.Fatalf("KeyPairFromPrivate differs: %v", err)
	}
	if _, err := GenerateKeyPair(bytes.NewReader(make([]byte, 5))); err == nil {
		t.Fatal("short random source accepted")
	}
}
