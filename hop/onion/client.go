package onion

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
)

// ClientCircuit is the client's onion state for one circuit: the ordered
// layer keys of its hops (hop 0 is the one the client is linked to) and a
// cell counter per hop and direction.
//
// Seal and Open may run concurrently with each other (one sender, one
// receiver); cells must be put on the link in the order Seal made them and
// given to Open in the order they arrived. After Open returns ErrAuth every
// method fails: destroy the circuit.
type ClientCircuit struct {
	cellSize int
	broken   atomic.Bool

	// hops is appended to and cut only with both mutexes held.
	hops []*clientHop

	sendMu      sync.Mutex // guards the hops' fwdN, sent, sendScratch, dgN, dgScratch
	sent        Digest
	sendScratch scratch
	dgN         uint64 // next forward datagram counter, for every hop
	dgScratch   scratch

	recvMu        sync.Mutex // guards the hops' bwdN and dgWin, received, recvScratch, dgScratchRecv
	received      Digest
	recvScratch   scratch
	dgScratchRecv scratch
}

type clientHop struct {
	fwd, bwd   layer
	fwdN, bwdN uint64
	dfwd, dbwd dgLayer
	dgWin      replayWindow // the hop's backward datagram counters
}

// MaxHops is the longest circuit a ClientCircuit holds.
const MaxHops = 5

// NewClientCircuit returns an empty circuit for cells of cellSize bytes.
func NewClientCircuit(cellSize int) (*ClientCircuit, error) {
	if err := checkCellSize(cellSize); err != nil {
		return nil, err
	}
	return &ClientCircuit{cellSize: cellSize}, nil
}

// CellSize returns the circuit's cell size.
func (c *ClientCircuit) CellSize() int { return c.cellSize }

// MaxPayload returns the largest payload Seal accepts.
func (c *ClientCircuit) MaxPayload() int { return MaxPayload(c.cellSize) }

// Len returns the number of hops.
func (c *ClientCircuit) Len() int {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	return len(c.hops)
}

// AddHop appends a hop, after CREATED (hop 0) or EXTENDED. Keys are used
// once: adding them to a second circuit fails.
func (c *ClientCircuit) AddHop(k *HopKeys) error {
	if k.cellSize != c.cellSize {
		return fmt.Errorf("onion: hop keys for %d-byte cells on a %d-byte circuit", k.cellSize, c.cellSize)
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	c.recvMu.Lock()
	defer c.recvMu.Unlock()
	if len(c.hops) >= MaxHops {
		return fmt.Errorf("onion: circuit already has %d hops", len(c.hops))
	}
	if k.used.Swap(true) {
		return fmt.Errorf("onion: hop keys already used")
	}
	c.hops = append(c.hops, &clientHop{fwd: k.fwd, bwd: k.bwd, dfwd: k.dfwd, dbwd: k.dbwd})
	return nil
}

// Truncate keeps the first n hops. Call it when TRUNCATED arrives from hop
// n-1 (not when sending TRUNCATE: cells from the later hops may still be on
// their way).
func (c *ClientCircuit) Truncate(n int) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	c.recvMu.Lock()
	defer c.recvMu.Unlock()
	if n < 0 || n > len(c.hops) {
		return fmt.Errorf("onion: truncate to %d of %d hops", n, len(c.hops))
	}
	clear(c.hops[n:])
	c.hops = c.hops[:n]
	return nil
}

// Seal returns the body of a relay cell that hop (0-based) will recognize,
// carrying cmd and payload (at most MaxPayload bytes). Hops before it see
// only that the cell is not theirs.
func (c *ClientCircuit) Seal(hop int, cmd RelayCmd, payload []byte) ([]byte, error) {
	body := make([]byte, BodySize(c.cellSize))
	if err := c.SealInto(body, hop, cmd, payload); err != nil {
		return nil, err
	}
	return body, nil
}

// SealInto is Seal writing into body, which must be BodySize(CellSize())
// bytes, for example the body of a cell buffer the caller reuses.
func (c *ClientCircuit) SealInto(body []byte, hop int, cmd RelayCmd, payload []byte) error {
	if len(body) != BodySize(c.cellSize) {
		return fmt.Errorf("onion: body of %d bytes for %d-byte cells", len(body), c.cellSize)
	}
	if c.broken.Load() {
		return fmt.Errorf("%w: circuit failed earlier", ErrAuth)
	}
	if err := writePlain(body, cmd, payload); err != nil {
		return err
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if hop < 0 || hop >= len(c.hops) {
		return fmt.Errorf("onion: seal for hop %d of %d", hop, len(c.hops))
	}
	for j := 0; j <= hop; j++ {
		if c.hops[j].fwdN == math.MaxUint64 {
			return errExhausted
		}
	}
	for j := hop; j >= 0; j-- {
		h := c.hops[j]
		d := h.fwd.seal(body, h.fwdN, j == hop, &c.sendScratch)
		if j == hop {
			c.sent = d
		}
		h.fwdN++
	}
	return nil
}

// Open removes the layers of a backward relay cell body, in place, until one
// recognizes it, and returns which hop sent it, its command and its payload
// (aliasing body). It returns ErrAuth if no hop recognizes it, and wraps
// ErrMalformed if the cell authenticates but is not well formed, or the body
// has the wrong length.
func (c *ClientCircuit) Open(body []byte) (hop int, cmd RelayCmd, payload []byte, err error) {
	if len(body) != BodySize(c.cellSize) {
		return -1, 0, nil, fmt.Errorf("%w: body of %d bytes for %d-byte cells", ErrMalformed, len(body), c.cellSize)
	}
	if c.broken.Load() {
		return -1, 0, nil, fmt.Errorf("%w: circuit failed earlier", ErrAuth)
	}
	c.recvMu.Lock()
	defer c.recvMu.Unlock()
	for j, h := range c.hops {
		if h.bwdN == math.MaxUint64 {
			c.broken.Store(true)
			return -1, 0, nil, errExhausted
		}
		mine, d := h.bwd.open(body, h.bwdN, &c.recvScratch)
		if !mine {
			continue
		}
		for _, h := range c.hops[:j+1] {
			h.bwdN++
		}
		c.received = d
		cmd, payload, err := parsePlain(body)
		if err != nil {
			return j, 0, nil, fmt.Errorf("hop %d: %w", j, err)
		}
		return j, cmd, payload, nil
	}
	c.broken.Store(true)
	return -1, 0, nil, ErrAuth
}

// SentDigest returns the Digest of the last cell Seal made.
func (c *ClientCircuit) SentDigest() Digest {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	return c.sent
}

// ReceivedDigest returns the Digest of the last cell Open recognized.
func (c *ClientCircuit) ReceivedDigest() Digest {
	c.recvMu.Lock()
	defer c.recvMu.Unlock()
	return c.received
}
