package onion

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"golang.org/x/crypto/chacha20"
)

// Datagram cells (docs/PROTOCOL.md 2.9) travel on a link's unreliable,
// unordered lane, where cells may be lost, duplicated or reordered. Their
// onion layers therefore cannot be keyed by a cell's position, as relay
// cells' are: each cell carries the counter each hop's layer was made
// with, in a nonce stack at the head of its body, and each hop (forward)
// and the client (backward) keep a sliding replay window per hop.
//
// Body of a datagram cell (B = S − 5 bytes):
//
//	0    DatagramStackLen   nonce stack: MaxHops slots of 16 bytes
//	80   B − 80             onion region: a relay body (2.4) of B − 80 bytes
//
// A slot read by hop j is AES-256(Knonce_j, u64be(n) ‖ 0^8): only the
// client and that hop can make or read it, and a slot that does not
// decrypt to eight zero bytes is refused. Each hop removes its slot and
// re-encrypts the rest of the stack under a keystream of its own (as Sphinx
// does with its routing header), so the 16 bytes a hop reads appear nowhere
// on any other link, and no hop can tell how many hops follow it.
//
// Forward, the client uses one counter n per circuit for every hop: hop j
// reads X_j, takes n from slot 0, and passes X_{j+1} = (X_j[16:80] ‖ 0^16)
// ⊕ ChaCha20(Kstack_j, n)[0:80] on. The client builds X_0 backwards from
// the last hop, with Sphinx's filler so that the bytes each hop shifts in
// are the ones it expects. Backward, each hop j uses its own counter m_j
// and pushes a slot: X' = AES-256(Knonce_j, u64be(m_j) ‖ 0^8) ‖ (X[0:64] ⊕
// ChaCha20(Kstack_j, m_j)[0:64]); the client pops them from hop 0 on.
//
// The onion region gets the two-round Feistel layer of layer.go, under
// keys of its own (HKDF info dgramKeyInfo, so no key and counter pair is
// ever used by both lanes) and tweaked by the slot's counter. A cell that
// fails any check is dropped: unlike the reliable lane, the circuit lives
// on.

// Lengths of the nonce stack.
const (
	nonceSlotLen = aes.BlockSize
	// DatagramStackLen is the nonce stack at the head of a datagram cell
	// body, one slot per hop of the longest circuit.
	DatagramStackLen = MaxHops * nonceSlotLen
)

// MaxDatagramPayload returns the largest payload of a datagram cell of a
// circuit of cellSize-byte cells.
func MaxDatagramPayload(cellSize int) int { return MaxPayload(cellSize) - DatagramStackLen }

// dgramKeyInfo is the HKDF info string for the datagram lane's keys of a
// hop.
const dgramKeyInfo = "pexia onion v1 datagram keys"

// dgLayerKeyLen is the key material of one datagram layer: the Feistel
// keys, the nonce slot key and the stack keystream key.
const dgLayerKeyLen = layerKeyLen + 32 + chacha20.KeySize

// Datagram lane errors. They are not fatal: the cell is dropped and the
// circuit goes on.
var (
	// ErrReplay is returned for a datagram cell whose counter was seen
	// before or is older than the replay window.
	ErrReplay = errors.New("onion: datagram cell replayed or too old")
	// ErrDatagramAuth is returned for a datagram cell whose nonce slot or
	// onion region does not authenticate.
	ErrDatagramAuth = errors.New("onion: datagram cell does not authenticate")
)

// dgLayer is one hop's datagram layer in one direction.
type dgLayer struct {
	layer
	nonce cipher.Block // AES-256 of the nonce slot
	stack [chacha20.KeySize]byte
}

func newDgLayer(k []byte) (dgLayer, error) {
	l, err := newLayer(k[:layerKeyLen])
	if err != nil {
		return dgLayer{}, err
	}
	nb, err := aes.NewCipher(k[layerKeyLen : layerKeyLen+32])
	if err != nil {
		return dgLayer{}, err
	}
	d := dgLayer{layer: l, nonce: nb}
	copy(d.stack[:], k[layerKeyLen+32:])
	return d, nil
}

// slot writes the nonce slot for counter n into dst (16 bytes).
func (d *dgLayer) slot(dst []byte, n uint64) {
	var b [nonceSlotLen]byte
	binary.BigEndian.PutUint64(b[:], n)
	d.nonce.Encrypt(dst, b[:])
}

// counter reads a nonce slot: the counter, and whether the slot
// authenticates (decrypts to eight zero bytes after the counter).
func (d *dgLayer) counter(slot []byte) (uint64, bool) {
	var b [nonceSlotLen]byte
	d.nonce.Decrypt(b[:], slot)
	var z [8]byte
	return binary.BigEndian.Uint64(b[:8]), subtle.ConstantTimeCompare(b[8:], z[:]) == 1
}

// keystream XORs the first len(dst) bytes of the stack keystream for
// counter n into dst.
func (d *dgLayer) keystream(dst []byte, n uint64) {
	var nonce [chacha20.NonceSize]byte
	binary.BigEndian.PutUint64(nonce[4:], n)
	s, err := chacha20.NewUnauthenticatedCipher(d.stack[:], nonce[:])
	if err != nil {
		panic("onion: chacha20: " + err.Error()) // key and nonce sizes are fixed
	}
	s.XORKeyStream(dst, dst)
}

// shift is what a hop does to a forward stack after reading its slot:
// X' = (X[16:80] ‖ 0^16) ⊕ keystream(n).
func (d *dgLayer) shift(stack []byte, n uint64) {
	copy(stack, stack[nonceSlotLen:])
	clear(stack[DatagramStackLen-nonceSlotLen:])
	d.keystream(stack, n)
}

// push is what a hop does to a backward stack: X' = slot(m) ‖ (X[0:64] ⊕
// keystream(m)[0:64]).
func (d *dgLayer) push(stack []byte, m uint64) {
	copy(stack[nonceSlotLen:], stack[:DatagramStackLen-nonceSlotLen])
	d.keystream(stack[nonceSlotLen:], m)
	d.slot(stack[:nonceSlotLen], m)
}

// pop is the client's inverse of push, once the slot was read: the
// stack's first 64 bytes become the next hop's (the last 16 are lost).
func (d *dgLayer) pop(stack []byte, m uint64) {
	copy(stack, stack[nonceSlotLen:])
	clear(stack[DatagramStackLen-nonceSlotLen:])
	d.keystream(stack[:DatagramStackLen-nonceSlotLen], m)
}

// Replay window: RFC 6479's ring of bitmap words, as WireGuard keeps one
// per session. It accepts each counter once, in any order, as long as it
// is not more than replayWindowSize behind the highest accepted.
const (
	replayWordBits   = 64
	replayWords      = 2048 / replayWordBits
	replayWindowSize = (replayWords - 1) * replayWordBits // 1984
)

type replayWindow struct {
	any  bool   // a counter was accepted
	last uint64 // highest accepted
	ring [replayWords]uint64
}

// fresh reports whether n would be accepted.
func (w *replayWindow) fresh(n uint64) bool {
	if n == math.MaxUint64 {
		return false // counters refuse to wrap
	}
	if !w.any || n > w.last {
		return true
	}
	if w.last-n >= replayWindowSize {
		return false
	}
	return w.ring[(n/replayWordBits)%replayWords]&(1<<(n%replayWordBits)) == 0
}

// accept records n, which fresh accepted.
func (w *replayWindow) accept(n uint64) {
	if !w.any || n > w.last {
		// Clear the words the window moves onto.
		from, to := w.last/replayWordBits+1, n/replayWordBits
		switch {
		case !w.any || to-w.last/replayWordBits >= replayWords:
			clear(w.ring[:])
		default:
			for i := from; i <= to; i++ {
				w.ring[i%replayWords] = 0
			}
		}
		w.any, w.last = true, n
	}
	w.ring[(n/replayWordBits)%replayWords] |= 1 << (n % replayWordBits)
}

// checkDatagramBody checks the length of a datagram cell body.
func checkDatagramBody(body []byte, cellSize int) error {
	if len(body) != BodySize(cellSize) {
		return fmt.Errorf("%w: body of %d bytes for %d-byte cells", ErrMalformed, len(body), cellSize)
	}
	return nil
}

// SealDatagramInto writes into body (BodySize(CellSize()) bytes) a
// datagram cell that hop will recognize, carrying cmd and payload (at most
// MaxDatagramPayload bytes). Datagram cells may be sealed in any order
// relative to relay cells, and be lost or reordered on the way.
func (c *ClientCircuit) SealDatagramInto(body []byte, hop int, cmd RelayCmd, payload []byte) error {
	if err := checkDatagramBody(body, c.cellSize); err != nil {
		return err
	}
	if c.broken.Load() {
		return fmt.Errorf("%w: circuit failed earlier", ErrAuth)
	}
	stack, region := body[:DatagramStackLen], body[DatagramStackLen:]
	if err := writePlain(region, cmd, payload); err != nil {
		return err
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	hops := c.hops
	if hop < 0 || hop >= len(hops) {
		return fmt.Errorf("onion: seal for hop %d of %d", hop, len(hops))
	}
	if c.dgN == math.MaxUint64-1 {
		return errExhausted
	}
	n := c.dgN
	c.dgN++
	for j := hop; j >= 0; j-- {
		hops[j].dfwd.seal(region, n, j == hop, &c.dgScratch)
	}
	// The stack, from the last hop back (see the comment at the top).
	// filler is what hops 0..hop-1 shift into the end of the stack.
	var filler, ks [DatagramStackLen]byte
	fl := 0
	for j := 0; j < hop; j++ {
		clear(ks[:])
		hops[j].dfwd.keystream(ks[:], n)
		fl += nonceSlotLen
		// filler = (filler ‖ 0^16) ⊕ ks[80−fl:80]
		subtle.XORBytes(filler[:fl], filler[:fl], ks[DatagramStackLen-fl:])
	}
	// The last hop's stack: its slot, random bytes (which it cannot tell
	// from the filler, so it cannot tell how many hops came before it),
	// the filler.
	hops[hop].dfwd.slot(stack[:nonceSlotLen], n)
	rand.Read(stack[nonceSlotLen : DatagramStackLen-fl])
	copy(stack[DatagramStackLen-fl:], filler[:fl])
	for j := hop - 1; j >= 0; j-- {
		// X_j = slot_j ‖ (X_{j+1}[0:64] ⊕ ks_j[0:64])
		copy(stack[nonceSlotLen:], stack[:DatagramStackLen-nonceSlotLen])
		hops[j].dfwd.keystream(stack[nonceSlotLen:], n)
		hops[j].dfwd.slot(stack[:nonceSlotLen], n)
	}
	return nil
}

// OpenDatagram removes the layers of a backward datagram cell body, in
// place, until one recognizes it, and returns which hop sent it, its
// command and its payload (aliasing body). A cell that no hop recognizes,
// or whose nonce slots do not authenticate, fails with ErrDatagramAuth; one
// seen before, or too old for a hop's replay window, with ErrReplay. Both
// only mean the cell is dropped: the circuit state stays good.
func (c *ClientCircuit) OpenDatagram(body []byte) (hop int, cmd RelayCmd, payload []byte, err error) {
	if err := checkDatagramBody(body, c.cellSize); err != nil {
		return -1, 0, nil, err
	}
	if c.broken.Load() {
		return -1, 0, nil, fmt.Errorf("%w: circuit failed earlier", ErrAuth)
	}
	stack, region := body[:DatagramStackLen], body[DatagramStackLen:]
	c.recvMu.Lock()
	defer c.recvMu.Unlock()
	hops := c.hops
	var ms [MaxHops]uint64
	for j, h := range hops {
		m, ok := h.dbwd.counter(stack[:nonceSlotLen])
		if !ok {
			return -1, 0, nil, fmt.Errorf("%w: hop %d's nonce", ErrDatagramAuth, j)
		}
		if !h.dgWin.fresh(m) {
			return -1, 0, nil, fmt.Errorf("%w: hop %d counter %d", ErrReplay, j, m)
		}
		ms[j] = m
		mine, _ := h.dbwd.open(region, m, &c.dgScratchRecv)
		if !mine {
			h.dbwd.pop(stack, m)
			continue
		}
		cmd, payload, err := parsePlain(region)
		if err != nil {
			return j, 0, nil, fmt.Errorf("hop %d: %w", j, err)
		}
		for i := range j + 1 {
			hops[i].dgWin.accept(ms[i])
		}
		return j, cmd, payload, nil
	}
	return -1, 0, nil, fmt.Errorf("%w: no hop recognizes it", ErrDatagramAuth)
}

// ForwardDatagram removes this hop's layer from a forward datagram cell
// body, in place, as Forward does for relay cells. A cell for a later hop
// comes back as next, its stack ready for that hop. Errors wrapping
// ErrReplay or ErrDatagramAuth (a slot that does not authenticate, a
// counter seen before, or a cell that is not this hop's while there is no
// next hop) mean the cell is dropped; the circuit goes on.
func (h *HopState) ForwardDatagram(body []byte) (mine bool, cmd RelayCmd, payload, next []byte, err error) {
	if err := checkDatagramBody(body, h.cellSize); err != nil {
		return false, 0, nil, nil, err
	}
	if h.broken.Load() {
		return false, 0, nil, nil, fmt.Errorf("%w: circuit failed earlier", ErrAuth)
	}
	stack, region := body[:DatagramStackLen], body[DatagramStackLen:]
	h.dgFwdMu.Lock()
	defer h.dgFwdMu.Unlock()
	n, ok := h.dfwd.counter(stack[:nonceSlotLen])
	if !ok {
		return false, 0, nil, nil, fmt.Errorf("%w: nonce", ErrDatagramAuth)
	}
	if !h.dgFwdWin.fresh(n) {
		return false, 0, nil, nil, fmt.Errorf("%w: counter %d", ErrReplay, n)
	}
	mine, _ = h.dfwd.open(region, n, &h.dgFwdScratch)
	if !mine && !h.hasNext.Load() {
		return false, 0, nil, nil, fmt.Errorf("%w: not recognized at the last hop", ErrDatagramAuth)
	}
	// Only the client could make the slot: the counter is spent even if a
	// hop before this one changed the rest of the cell.
	h.dgFwdWin.accept(n)
	if !mine {
		h.dfwd.shift(stack, n)
		return false, 0, nil, body, nil
	}
	cmd, payload, err = parsePlain(region)
	if err != nil {
		return true, 0, nil, nil, err
	}
	return true, cmd, payload, nil, nil
}

// BackwardDatagram adds this hop's layer to a backward datagram cell body
// from the next hop, in place, and returns it. Cells may go out in any
// order.
func (h *HopState) BackwardDatagram(body []byte) ([]byte, error) {
	if err := checkDatagramBody(body, h.cellSize); err != nil {
		return nil, err
	}
	if h.broken.Load() {
		return nil, fmt.Errorf("%w: circuit failed earlier", ErrAuth)
	}
	h.dgBwdMu.Lock()
	defer h.dgBwdMu.Unlock()
	m, err := h.nextDgBwd()
	if err != nil {
		return nil, err
	}
	h.dbwd.seal(body[DatagramStackLen:], m, false, &h.dgBwdScratch)
	h.dbwd.push(body[:DatagramStackLen], m)
	return body, nil
}

// OriginateDatagramInto writes into body (BodySize(CellSize()) bytes) a
// backward datagram cell from this hop to the client carrying cmd and
// payload (at most MaxDatagramPayload bytes).
func (h *HopState) OriginateDatagramInto(body []byte, cmd RelayCmd, payload []byte) error {
	if err := checkDatagramBody(body, h.cellSize); err != nil {
		return err
	}
	if h.broken.Load() {
		return fmt.Errorf("%w: circuit failed earlier", ErrAuth)
	}
	region := body[DatagramStackLen:]
	if err := writePlain(region, cmd, payload); err != nil {
		return err
	}
	h.dgBwdMu.Lock()
	defer h.dgBwdMu.Unlock()
	m, err := h.nextDgBwd()
	if err != nil {
		return err
	}
	h.dbwd.seal(region, m, true, &h.dgBwdScratch)
	// The slots behind this hop's are keystream: pseudorandom to everyone
	// else, like the slots of the hops a longer circuit would have.
	clear(body[:DatagramStackLen])
	h.dbwd.push(body[:DatagramStackLen], m)
	return nil
}

// nextDgBwd takes the next backward datagram counter; dgBwdMu is held.
func (h *HopState) nextDgBwd() (uint64, error) {
	if h.dgBwdN == math.MaxUint64-1 {
		return 0, errExhausted
	}
	m := h.dgBwdN
	h.dgBwdN++
	return m, nil
}
