package onion

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
)

// HopState is a node's onion state for one circuit through it: its layer
// keys and a cell counter per direction. It does not know its position in
// the circuit, only whether it has a next hop (SetNext).
//
// Forward, and Backward with Originate, may run concurrently (one goroutine
// per direction); cells must go out in the order they were made. After
// Forward returns ErrAuth every method fails: destroy the circuit.
type HopState struct {
	cellSize int
	fwd, bwd layer
	hasNext  atomic.Bool
	broken   atomic.Bool

	fwdMu      sync.Mutex // guards fwdN, received, fwdScratch
	fwdN       uint64
	received   Digest
	fwdScratch scratch

	bwdMu      sync.Mutex // guards bwdN, sent, bwdScratch
	bwdN       uint64
	sent       Digest
	bwdScratch scratch

	// The datagram lane (dgram.go).
	dfwd, dbwd   dgLayer
	dgFwdMu      sync.Mutex // guards dgFwdWin, dgFwdScratch
	dgFwdWin     replayWindow
	dgFwdScratch scratch
	dgBwdMu      sync.Mutex // guards dgBwdN, dgBwdScratch
	dgBwdN       uint64
	dgBwdScratch scratch
}

func newHopState(k *HopKeys) *HopState {
	k.used.Store(true)
	return &HopState{cellSize: k.cellSize, fwd: k.fwd, bwd: k.bwd, dfwd: k.dfwd, dbwd: k.dbwd}
}

// CellSize returns the circuit's cell size.
func (h *HopState) CellSize() int { return h.cellSize }

// MaxPayload returns the largest payload Originate accepts.
func (h *HopState) MaxPayload() int { return MaxPayload(h.cellSize) }

// SetNext records whether the circuit continues past this hop: true once the
// next hop's CREATED arrived, false again after its link or circuit closed.
// A hop without a next hop rejects forward cells it does not recognize.
func (h *HopState) SetNext(hasNext bool) { h.hasNext.Store(hasNext) }

// Forward removes this hop's layer from a forward relay cell body, in place.
// If the cell is this hop's, mine is true and cmd and payload (aliasing body)
// are its content. Otherwise next is the body to pass on to the next hop
// (body itself). A cell that is not this hop's while there is no next hop
// fails with ErrAuth. A cell that is this hop's but not well formed, or a
// body of the wrong length, fails with an error wrapping ErrMalformed.
func (h *HopState) Forward(body []byte) (mine bool, cmd RelayCmd, payload, next []byte, err error) {
	if len(body) != BodySize(h.cellSize) {
		return false, 0, nil, nil, fmt.Errorf("%w: body of %d bytes for %d-byte cells", ErrMalformed, len(body), h.cellSize)
	}
	if h.broken.Load() {
		return false, 0, nil, nil, fmt.Errorf("%w: circuit failed earlier", ErrAuth)
	}
	h.fwdMu.Lock()
	defer h.fwdMu.Unlock()
	if h.fwdN == math.MaxUint64 {
		h.broken.Store(true)
		return false, 0, nil, nil, errExhausted
	}
	mine, d := h.fwd.open(body, h.fwdN, &h.fwdScratch)
	h.fwdN++
	if !mine {
		if !h.hasNext.Load() {
			h.broken.Store(true)
			return false, 0, nil, nil, ErrAuth
		}
		return false, 0, nil, body, nil
	}
	h.received = d
	cmd, payload, err = parsePlain(body)
	if err != nil {
		return true, 0, nil, nil, err
	}
	return true, cmd, payload, nil, nil
}

// Backward adds this hop's layer to a backward relay cell body from the next
// hop, in place, and returns it.
func (h *HopState) Backward(body []byte) ([]byte, error) {
	if len(body) != BodySize(h.cellSize) {
		return nil, fmt.Errorf("%w: body of %d bytes for %d-byte cells", ErrMalformed, len(body), h.cellSize)
	}
	if h.broken.Load() {
		return nil, fmt.Errorf("%w: circuit failed earlier", ErrAuth)
	}
	h.bwdMu.Lock()
	defer h.bwdMu.Unlock()
	if h.bwdN == math.MaxUint64 {
		return nil, errExhausted
	}
	h.bwd.seal(body, h.bwdN, false, &h.bwdScratch)
	h.bwdN++
	return body, nil
}

// Originate returns the body of a backward relay cell from this hop to the
// client, carrying cmd and payload (at most MaxPayload bytes).
func (h *HopState) Originate(cmd RelayCmd, payload []byte) ([]byte, error) {
	body := make([]byte, BodySize(h.cellSize))
	if err := h.OriginateInto(body, cmd, payload); err != nil {
		return nil, err
	}
	return body, nil
}

// OriginateInto is Originate writing into body, which must be
// BodySize(CellSize()) bytes.
func (h *HopState) OriginateInto(body []byte, cmd RelayCmd, payload []byte) error {
	if len(body) != BodySize(h.cellSize) {
		return fmt.Errorf("onion: body of %d bytes for %d-byte cells", len(body), h.cellSize)
	}
	if h.broken.Load() {
		return fmt.Errorf("%w: circuit failed earlier", ErrAuth)
	}
	if err := writePlain(body, cmd, payload); err != nil {
		return err
	}
	h.bwdMu.Lock()
	defer h.bwdMu.Unlock()
	if h.bwdN == math.MaxUint64 {
		return errExhausted
	}
	h.sent = h.bwd.seal(body, h.bwdN, true, &h.bwdScratch)
	h.bwdN++
	return nil
}

// SentDigest returns the Digest of the last cell Originate made.
func (h *HopState) SentDigest() Digest {
	h.bwdMu.Lock()
	defer h.bwdMu.Unlock()
	return h.sent
}

// ReceivedDigest returns the Digest of the last cell Forward recognized.
func (h *HopState) ReceivedDigest() Digest {
	h.fwdMu.Lock()
	defer h.fwdMu.Unlock()
	return h.received
}
