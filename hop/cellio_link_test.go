package hop_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/hop/onion"
)

// sizeTap records the length of every message a node reads from or writes
// to its circuit channels.
type sizeTap struct {
	mu           sync.Mutex
	read, writes []int
}

func (s *sizeTap) wrap(ch link.Channel) link.Channel { return sizedChannel{ch, s} }

func (s *sizeTap) sizes() (reads, writes []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.read...), append([]int(nil), s.writes...)
}

type sizedChannel struct {
	link.Channel
	s *sizeTap
}

func (c sizedChannel) Read(p []byte) (int, error) {
	n, err := c.Channel.Read(p)
	if n > 0 {
		c.s.mu.Lock()
		c.s.read = append(c.s.read, n)
		c.s.mu.Unlock()
	}
	return n, err
}

func (c sizedChannel) Write(p []byte) (int, error) {
	c.s.mu.Lock()
	c.s.writes = append(c.s.writes, len(p))
	c.s.mu.Unlock()
	return c.Channel.Write(p)
}

// TestCellsGroupedOnLinks moves bulk data both ways through 3 hops and
// checks what the nodes' channels carried: only whole cells, at most one
// message's worth at a time, and, under bulk load, several cells per
// message in both directions at every hop.
func TestCellsGroupedOnLinks(t *testing.T) {
	dst := sinkServer(t)
	const hops = 3
	var taps []*sizeTap
	var infos []hop.HopInfo
	for i := range hops {
		tap := &sizeTap{}
		n, err := hoptest.Start(i == hops-1, hop.NodeConfig{Tap: tap.wrap})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		taps, infos = append(taps, tap), append(infos, n.Info)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := hop.Build(ctx, infos, hop.BuildConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := transfer(ctx, c, dst, 1<<20); err != nil {
		t.Fatal(err)
	}
	c.Close()

	const size = onion.DefaultCellSize
	for k, tap := range taps {
		reads, writes := tap.sizes()
		for _, sizes := range [][]int{reads, writes} {
			for _, n := range sizes {
				if n%size != 0 || n > link.MaxMessageSize {
					t.Fatalf("hop %d: a %d-byte message", k+1, n)
				}
			}
		}
		// Every node reads from and writes to the link in both
		// directions; the exit's stream layer and every relay make
		// messages of several cells.
		if maxOf(reads) < 2*size || maxOf(writes) < 2*size {
			t.Errorf("hop %d: largest message read %d, written %d bytes: cells were not grouped", k+1, maxOf(reads), maxOf(writes))
		}
		t.Logf("hop %d: %d messages read (largest %d), %d written (largest %d)", k+1, len(reads), maxOf(reads), len(writes), maxOf(writes))
	}
}

func maxOf(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// TestNodeCellFraming talks to a node directly: it reads every cell of a
// message of several cells, and drops a circuit whose message holds part
// of a cell.
func TestNodeCellFraming(t *testing.T) {
	n, err := hoptest.Start(true, hop.NodeConfig{})
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

// TestCellSizes moves data both ways through circuits of the smallest and
// the largest cells: 128 and 4 of them to a full message.
func TestCellSizes(t *testing.T) {
	dst := sinkServer(t)
	for _, size := range []int{onion.MinCellSize, onion.MaxCellSize} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			nodes, infos, err := hoptest.Circuit(2)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				for _, n := range nodes {
					n.Close()
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c, err := hop.Build(ctx, infos, hop.BuildConfig{CellSize: size})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := transfer(ctx, c, dst, 256<<10); err != nil {
				t.Fatal(err)
			}
		})
	}
}
