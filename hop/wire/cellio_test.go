package wire

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/hop/onion"
)

// msgChannel is a link.Channel that hands out queued messages and records
// written ones.
type msgChannel struct {
	in      [][]byte
	written [][]byte
}

func (c *msgChannel) Read(p []byte) (int, error) {
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.in[0])
	c.in = c.in[1:]
	return n, nil
}

func (c *msgChannel) Write(p []byte) (int, error) {
	c.written = append(c.written, append([]byte(nil), p...))
	return len(p), nil
}

func (c *msgChannel) Close() error  { return nil }
func (c *msgChannel) Label() string { return "test" }

var _ link.Channel = (*msgChannel)(nil)

// testCells returns n cells of size bytes, each filled with its index.
func testCells(n, size int) [][]byte {
	cells := make([][]byte, n)
	for i := range cells {
		cells[i] = bytes.Repeat([]byte{byte(i + 1)}, size)
	}
	return cells
}

func TestCellReaderSplitsMessages(t *testing.T) {
	const size = 512
	cells := testCells(4+link.MaxMessageSize/size, size)
	ch := &msgChannel{in: [][]byte{
		cells[0],                    // one cell
		bytes.Join(cells[1:4], nil), // three
		bytes.Join(cells[4:4+link.MaxMessageSize/size], nil), // a full message
	}}
	idle := 0
	var idleAt []int // cells returned when idle was called
	got := 0
	r := NewCellReader(ch, size, make([]byte, link.MaxMessageSize))
	r.Idle = func() error {
		idle++
		idleAt = append(idleAt, got)
		return nil
	}
	for {
		cell, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(cell, cells[got]) {
			t.Fatalf("cell %d: got %x..., want %x...", got, cell[:4], cells[got][:4])
		}
		if len(cell) != size || cap(cell) != size {
			t.Fatalf("cell %d: len %d cap %d, want %d", got, len(cell), cap(cell), size)
		}
		got++
	}
	if want := 4 + link.MaxMessageSize/size; got != want {
		t.Fatalf("read %d cells, want %d", got, want)
	}
	// Idle before each read: the first, after 1, after 4, and before EOF.
	if want := []int{0, 1, 4, got}; !slices.Equal(idleAt, want) {
		t.Fatalf("idle called after %v cells, want %v", idleAt, want)
	}
}

func TestCellReaderRefusesPartialCells(t *testing.T) {
	const size = 1024
	for _, n := range []int{0, 1, size - 1, size + 1, 3*size - 5} {
		r := NewCellReader(&msgChannel{in: [][]byte{make([]byte, n)}}, size, make([]byte, link.MaxMessageSize))
		if _, err := r.Next(); !errors.Is(err, onion.ErrMalformed) {
			t.Errorf("%d-byte message: %v, want ErrMalformed", n, err)
		}
	}
}

func TestCellReaderIdleError(t *testing.T) {
	errStop := errors.New("stop")
	r := NewCellReader(&msgChannel{in: [][]byte{make([]byte, 512)}}, 512, make([]byte, link.MaxMessageSize))
	r.Idle = func() error { return errStop }
	if _, err := r.Next(); !errors.Is(err, errStop) {
		t.Fatalf("next: %v, want the idle error", err)
	}
}

func TestCellWriterGroupsCells(t *testing.T) {
	for _, size := range []int{onion.MinCellSize, onion.DefaultCellSize, onion.MaxCellSize} {
		per := link.MaxMessageSize / size
		var pool sync.Pool
		ch := &msgChannel{}
		w := NewCellWriter(ch, size, &pool)
		// 2.5 messages' worth: the writer sends a full message as soon as
		// the next cell does not fit, and the rest when flushed.
		n := 2*per + per/2
		for i := range n {
			cell, err := w.Next(uint32(i+1), onion.LinkRelay)
			if err != nil {
				t.Fatal(err)
			}
			if len(cell) != size {
				t.Fatalf("cell of %d bytes, want %d", len(cell), size)
			}
			for j := onion.HeaderLen; j < size; j++ {
				cell[j] = byte(i)
			}
		}
		if len(ch.written) != 2 {
			t.Fatalf("size %d: %d messages written before flush, want 2", size, len(ch.written))
		}
		if !w.Pending() {
			t.Fatal("no cells pending before flush")
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if w.Pending() || w.buf != nil {
			t.Fatal("flush kept cells or the buffer")
		}
		if err := w.Flush(); err != nil || len(ch.written) != 3 {
			t.Fatalf("flush with nothing waiting wrote a message (%v)", err)
		}
		i := 0
		for k, msg := range ch.written {
			if len(msg)%size != 0 || len(msg) > link.MaxMessageSize {
				t.Fatalf("message %d of %d bytes", k, len(msg))
			}
			for off := 0; off < len(msg); off += size {
				c, err := onion.DecodeCell(msg[off : off+size])
				if err != nil {
					t.Fatal(err)
				}
				if c.CircID != uint32(i+1) || c.Cmd != onion.LinkRelay || c.Body[0] != byte(i) {
					t.Fatalf("cell %d: circuit %d %v %d", i, c.CircID, c.Cmd, c.Body[0])
				}
				i++
			}
		}
		if i != n {
			t.Fatalf("size %d: %d cells written, want %d", size, i, n)
		}
	}
}

func TestCellWriterUndo(t *testing.T) {
	ch := &msgChannel{}
	w := NewCellWriter(ch, 512, nil)
	if _, err := w.Next(1, onion.LinkRelay); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Next(2, onion.LinkRelay); err != nil {
		t.Fatal(err)
	}
	w.Undo()
	if _, err := w.Next(0, onion.LinkRelay); err == nil {
		t.Fatal("a RELAY cell on circuit 0 was accepted")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(ch.written) != 1 || len(ch.written[0]) != 512 {
		t.Fatalf("wrote %d messages, want one of one cell", len(ch.written))
	}
}
