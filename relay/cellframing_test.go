package relay_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/relay"
)

// TestNodeCellFraming talks to a node directly: it reads every cell of a
// message of several cells, and drops a circuit whose message holds part
// of a cell.
func TestNodeCellFraming(t *testing.T) {
	n, err := hoptest.Start(true, relay.NodeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lk, err := link.Dial(ctx, n.Info.URL, n.Info.Pin, link.DialConfig{UDPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	ch, err := lk.Open(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()

	// CREATE, alone in the channel's first message; CREATED back.
	const size, circID = onion.DefaultCellSize, 0x80000001
	init, msg, err := onion.ClientHandshake(n.Info.Address, n.Info.NoiseKey, size, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := onion.Create{HType: onion.HandshakeNK, Handshake: msg}.Encode(size)
	if err != nil {
		t.Fatal(err)
	}
	create, err := onion.Cell{CircID: circID, Cmd: onion.LinkCreate, Body: body}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Write(create); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, link.MaxMessageSize)
	m, err := ch.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	cell, err := onion.DecodeCell(buf[:m])
	if err != nil || cell.Cmd != onion.LinkCreated {
		t.Fatalf("answer to CREATE: %v %v", cell.Cmd, err)
	}
	created, err := onion.DecodeCreated(cell.Body)
	if err != nil {
		t.Fatal(err)
	}
	keys, _, err := init.Finish(created.Handshake)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := onion.NewClientCircuit(size)
	if err != nil {
		t.Fatal(err)
	}
	if err := cc.AddHop(keys); err != nil {
		t.Fatal(err)
	}

	// Three relay cells in one message: the node recognizes all three.
	var three []byte
	for i := range 3 {
		cell := make([]byte, size)
		if err := onion.PutHeader(cell, circID, onion.LinkRelay); err != nil {
			t.Fatal(err)
		}
		if err := cc.SealInto(cell[onion.HeaderLen:], 0, onion.RelayPadding, []byte(fmt.Sprint("not a padding request ", i))); err != nil {
			t.Fatal(err)
		}
		three = append(three, cell...)
	}
	if _, err := ch.Write(three); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got [][]byte
		for _, s := range n.Seen() {
			if s.Cmd == onion.RelayPadding {
				got = append(got, s.Payload)
			}
		}
		if len(got) == 3 {
			for i, p := range got {
				if !bytes.Equal(p, []byte(fmt.Sprint("not a padding request ", i))) {
					t.Fatalf("cell %d of the message: payload %q", i, p)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node recognized %d of 3 cells sent in one message", len(got))
		}
		time.Sleep(10 * time.Millisecond)
	}

	// A cell and a half: the node drops the circuit and closes the channel.
	if _, err := ch.Write(make([]byte, size+size/2)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := ch.Read(buf)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("read after a partial cell: %v, want the channel closed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the node kept a circuit that sent part of a cell")
	}
}
