package onion

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"sync/atomic"

	"golang.org/x/crypto/chacha20poly1305"
)

// One onion layer, for one hop and one direction, is a two-round Feistel
// network over the whole cell body, split into its first TagLen bytes L and
// the rest R, tweaked by the cell counter n of that hop and direction:
//
//	seal:  (T, E) = F(n, R);  L' = L ⊕ T;  R' = R ⊕ G(n, L')
//	open:  R = R' ⊕ G(n, L');  (T, E) = F(n, R);  L = L' ⊕ T
//
// F is ChaCha20-Poly1305 under the layer's MAC key with nonce n, sealing 16
// zero bytes with R as additional data: E is the 16-byte ciphertext (a
// per-cell secret keystream value) and T the tag, a Poly1305 MAC of R under a
// one-time key. G is AES-256-CTR under the layer's stream key, starting at
// IV = AES-256(iv key, L' ⊕ n).
//
// The innermost layer of a cell sets L = E before sealing; a party that opens
// a layer and finds L = E (compared in constant time) recognizes the cell as
// its own. For any other party L is the next layer's L', a pseudorandom value
// that equals E with probability 2^-128.
//
// Changing any bit of R' or L' before a layer is opened randomizes that
// layer's L (a change of R' changes T unpredictably; a change of L' changes
// all of R and so T), and a random L randomizes all of R of the next layer:
// the cell is unrecognizable everywhere further on, and no later party can
// undo the change. A cell opened with another counter than it was sealed
// with (replayed, reordered, dropped) decrypts to garbage the same way. T of
// the innermost layer is the cell's Digest: only the two ends of the cell can
// compute it.
type layer struct {
	mac cipher.AEAD  // ChaCha20-Poly1305, MAC key
	ctr cipher.Block // AES-256, stream key
	iv  cipher.Block // AES-256, IV key
}

// layerKeyLen is the key material of one layer: MAC, stream and IV keys.
const layerKeyLen = 3 * 32

// keyInfo is the HKDF info string for the layer keys of a hop.
const keyInfo = "pexia onion v1 layer keys"

func newLayer(k []byte) (layer, error) {
	mac, err := chacha20poly1305.New(k[:32])
	if err != nil {
		return layer{}, err
	}
	ctr, err := aes.NewCipher(k[32:64])
	if err != nil {
		return layer{}, err
	}
	iv, err := aes.NewCipher(k[64:96])
	if err != nil {
		return layer{}, err
	}
	return layer{mac: mac, ctr: ctr, iv: iv}, nil
}

var zeroTag [TagLen]byte

// scratch is per-direction working memory for layer operations, kept in the
// (heap-allocated) circuit state so that nothing escapes per cell.
type scratch struct {
	out   [2 * TagLen]byte // E ‖ T
	nonce [chacha20poly1305.NonceSize]byte
	iv    [aes.BlockSize]byte
}

// f computes (E, T) = F(n, r) into s.out: s.out[:16] is E, s.out[16:] is T.
func (l *layer) f(s *scratch, n uint64, r []byte) {
	binary.BigEndian.PutUint64(s.nonce[4:], n)
	l.mac.Seal(s.out[:0], s.nonce[:], zeroTag[:], r)
}

// g XORs G(n, tag) into r.
func (l *layer) g(s *scratch, tag []byte, n uint64, r []byte) {
	copy(s.iv[:], tag)
	binary.BigEndian.PutUint64(s.iv[8:], binary.BigEndian.Uint64(s.iv[8:])^n)
	l.iv.Encrypt(s.iv[:], s.iv[:])
	cipher.NewCTR(l.ctr, s.iv[:]).XORKeyStream(r, r)
}

// seal adds the layer to body in place. If inner, body carries a plaintext
// and its tag is set to E first. It returns T.
func (l *layer) seal(body []byte, n uint64, inner bool, s *scratch) Digest {
	tag, r := body[:TagLen], body[TagLen:]
	l.f(s, n, r)
	if inner {
		copy(tag, s.out[:TagLen])
	}
	subtle.XORBytes(tag, tag, s.out[TagLen:])
	l.g(s, tag, n, r)
	return Digest(s.out[TagLen:])
}

// open removes the layer from body in place and reports whether the cell is
// recognized, with its T.
func (l *layer) open(body []byte, n uint64, s *scratch) (bool, Digest) {
	tag, r := body[:TagLen], body[TagLen:]
	l.g(s, tag, n, r)
	l.f(s, n, r)
	subtle.XORBytes(tag, tag, s.out[TagLen:])
	return subtle.ConstantTimeCompare(tag, s.out[:TagLen]) == 1, Digest(s.out[TagLen:])
}

// Digest identifies one relay cell to its two ends, the client and the hop
// that recognizes it: it is the innermost layer's MAC of the cell, which
// nobody else can compute. A SENDME echoes the Digest of the cell it
// acknowledges, which proves the cell was received.
type Digest [TagLen]byte

// HopKeys are the layer keys of one hop on the client side, from
// Initiator.Finish, to be added once to a ClientCircuit.
type HopKeys struct {
	fwd, bwd   layer
	dfwd, dbwd dgLayer // the datagram lane's (dgram.go)
	cellSize   int
	used       atomic.Bool
}

// CellSize returns the cell size the keys were agreed for.
func (k *HopKeys) CellSize() int { return k.cellSize }

// deriveKeys expands a hop's shared secret into its layer keys: forward
// (client to hop) then backward.
func deriveKeys(secret, salt []byte, cellSize int) (*HopKeys, error) {
	okm, err := hkdf.Key(sha256.New, secret, salt, keyInfo, 2*layerKeyLen)
	if err != nil {
		return nil, err
	}
	defer clear(okm)
	k := &HopKeys{cellSize: cellSize}
	if k.fwd, err = newLayer(okm[:layerKeyLen]); err != nil {
		return nil, err
	}
	if k.bwd, err = newLayer(okm[layerKeyLen:]); err != nil {
		return nil, err
	}
	dokm, err := hkdf.Key(sha256.New, secret, salt, dgramKeyInfo, 2*dgLayerKeyLen)
	if err != nil {
		return nil, err
	}
	defer clear(dokm)
	if k.dfwd, err = newDgLayer(dokm[:dgLayerKeyLen]); err != nil {
		return nil, err
	}
	if k.dbwd, err = newDgLayer(dokm[dgLayerKeyLen:]); err != nil {
		return nil, err
	}
	return k, nil
}

// errExhausted is returned when a counter would wrap; it cannot happen in
// practice (2^64 cells).
var errExhausted = fmt.Errorf("%w: cell counter exhausted", ErrAuth)
