package link

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/testutil"
)

// laneMsg is a lane message for circuit id carrying text.
func laneMsg(id uint32, text string) []byte {
	return append(binary.BigEndian.AppendUint32(nil, id), text...)
}

// TestDatagramLane: a dialed link has a datagram lane on both sides; a
// message reaches the handler of its circuit ID, either way, and one for
// an ID without a handler is dropped; an ID takes one handler.
func TestDatagramLane(t *testing.T) {
	n := newNode(t, ListenConfig{})
	client, server := connect(t, n, DialConfig{})
	if !client.HasLane() {
		t.Fatal("the dialer's link has no lane")
	}
	// The listener takes the lane before any channel opened after it (so
	// before any circuit's CREATE), but Accept may return the link first.
	testutil.WaitFor(t, "the listener's lane to open", 10*time.Second, server.lane.ready.Load)
	if !server.HasLane() {
		t.Fatal("the listener's link has no lane")
	}
	got := make(chan []byte, 16)
	handler := func(msg []byte) { got <- bytes.Clone(msg) }
	if !server.HandleLane(7, handler) || !client.HandleLane(9, handler) {
		t.Fatal("HandleLane refused a free ID")
	}
	if server.HandleLane(7, handler) {
		t.Fatal("HandleLane took an ID that has a handler")
	}
	for _, tc := range []struct {
		from *Link
		id   uint32
	}{{client, 8}, {client, 7}, {server, 9}} {
		if !tc.from.SendLane(laneMsg(tc.id, "hello"), false) {
			t.Fatalf("SendLane to %d refused", tc.id)
		}
	}
	// The lane is unordered: the two may come in either order.
	seen := map[uint32]bool{}
	for range 2 {
		select {
		case m := <-got:
			id := binary.BigEndian.Uint32(m)
			if (id != 7 && id != 9) || seen[id] || string(m[4:]) != "hello" {
				t.Fatalf("handler got %q, want circuit 7's and 9's hello once each", m)
			}
			seen[id] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("lane messages seen: %v, want circuits 7 and 9", seen)
		}
	}
	select {
	case m := <-got:
		t.Fatalf("unexpected lane message %q (circuit 8 has no handler)", m)
	default:
	}
	server.HandleLane(7, nil)
	if !server.HandleLane(7, handler) {
		t.Fatal("HandleLane refused an ID whose handler was removed")
	}
}

// TestNoDatagramLane: a dialer that offers no lane, as links before the
// lane, gets a link without one on both sides, whose channels work as
// before; SendLane drops.
func TestNoDatagramLane(t *testing.T) {
	n := newNode(t, ListenConfig{})
	client, server := connect(t, n, DialConfig{NoDatagramLane: true})
	if client.HasLane() || server.HasLane() {
		t.Fatalf("lane on the dialer %v, on the listener %v; want neither", client.HasLane(), server.HasLane())
	}
	if client.SendLane(laneMsg(1, "x"), true) {
		t.Fatal("SendLane on a link without a lane succeeded")
	}
	a, b := openPair(t, client, server, "c")
	if err := send(a, 1, 10); err != nil {
		t.Fatal(err)
	}
	if err := receive(b, 1, 10); err != nil {
		t.Fatal(err)
	}
}
