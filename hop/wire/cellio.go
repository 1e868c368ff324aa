package wire

import (
	"fmt"
	"sync"

	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/hop/onion"
)

// Cells on a channel.
//
// A data-channel message carries one or more whole cells of the circuit's
// size, back to back (docs/PROTOCOL.md, 2.3). Cells stay the unit of
// everything above: each is decoded, counted, paid for and onion-processed
// on its own, in order, exactly as if it had arrived alone. Grouping them
// only saves the data channel's per-message work (a write through the SCTP
// association's locks and queues, a wake-up of its write loop, a
// reassembly on the far side) and lets SCTP fill its packets: a lone
// 4096-byte cell needs four packets, the fourth half empty.
//
// A sender groups the cells it has ready at one time: the stream layer
// flushes a group when it runs out of frames to send, and a relay passes on
// the cells of one received message as one message. A lone cell therefore
// still leaves at once, only a sender with a backlog makes large messages,
// and a cell waits at most while the rest of its group is being made.

// CellsPerMessage is how many cells of size bytes one message holds.
func CellsPerMessage(size int) int { return link.MaxMessageSize / size }

// msgBuf is a CellWriter's buffer.
type msgBuf = [link.MaxMessageSize]byte

// CellReader splits the messages of one circuit channel into cells. It is
// used by one goroutine.
type CellReader struct {
	ch   link.Channel
	size int
	buf  []byte // link.MaxMessageSize bytes
	rest []byte // cells of the last message not yet returned
	// Idle, if set, is called when the cells of a message are used up,
	// before the reader waits for the next: a relay writes what it
	// gathered from the message there.
	Idle func() error
}

// NewCellReader reads cells of size bytes from ch into buf, which holds
// link.MaxMessageSize bytes.
func NewCellReader(ch link.Channel, size int, buf []byte) *CellReader {
	return &CellReader{ch: ch, size: size, buf: buf}
}

// Next returns the next cell, reading a message when the last one is used
// up. The cell aliases the reader's buffer and is valid until the next call.
// A message that is not a whole number of cells is an error.
func (r *CellReader) Next() ([]byte, error) {
	if len(r.rest) == 0 {
		if r.Idle != nil {
			if err := r.Idle(); err != nil {
				return nil, err
			}
		}
		n, err := r.ch.Read(r.buf)
		if err != nil {
			return nil, err
		}
		if n == 0 || n%r.size != 0 {
			return nil, fmt.Errorf("%w: %d-byte message on a circuit of %d-byte cells", onion.ErrMalformed, n, r.size)
		}
		r.rest = r.buf[:n]
	}
	cell := r.rest[:r.size:r.size]
	r.rest = r.rest[r.size:]
	return cell, nil
}

// CellWriter groups cells for one channel into messages. It is not safe
// for concurrent use: the caller serializes it, with the lock that also
// orders the onion layer's cell counter, so cells go out in the order they
// were sealed.
type CellWriter struct {
	ch   link.Channel
	size int
	max  int        // bytes of a full message
	pool *sync.Pool // of *msgBuf; nil: the writer keeps its buffer
	buf  *msgBuf    // nil while no cells wait, if pool is set
	n    int        // bytes of waiting cells in buf
}

// NewCellWriter writes cells of size bytes to ch. With a pool, the writer
// holds a buffer only while cells wait to be written, so a node's idle
// circuits cost no send buffer.
func NewCellWriter(ch link.Channel, size int, pool *sync.Pool) *CellWriter {
	return &CellWriter{ch: ch, size: size, max: CellsPerMessage(size) * size, pool: pool}
}

// Next makes room for one more cell, writing the waiting cells first if
// they fill a message, and returns it with its link header set; the caller
// fills in the body. If the body cannot be made, Undo gives the room back.
func (w *CellWriter) Next(circID uint32, cmd onion.LinkCmd) ([]byte, error) {
	if w.n+w.size > w.max {
		if err := w.Flush(); err != nil {
			return nil, err
		}
	}
	if w.buf == nil {
		if w.pool != nil {
			w.buf, _ = w.pool.Get().(*msgBuf)
		}
		if w.buf == nil {
			w.buf = new(msgBuf)
		}
	}
	cell := w.buf[w.n : w.n+w.size : w.n+w.size]
	if err := onion.PutHeader(cell, circID, cmd); err != nil {
		return nil, err
	}
	w.n += w.size
	return cell, nil
}

// Undo drops the cell the last Next returned.
func (w *CellWriter) Undo() { w.n -= w.size }

// Flush writes the waiting cells as one message.
func (w *CellWriter) Flush() error {
	var err error
	if w.n > 0 {
		// The channel copies the message before Write returns.
		_, err = w.ch.Write(w.buf[:w.n])
		w.n = 0
	}
	if w.pool != nil && w.buf != nil {
		w.pool.Put(w.buf)
		w.buf = nil
	}
	return err
}

// Pending reports whether cells wait to be written.
func (w *CellWriter) Pending() bool { return w.n > 0 }
