package onion

import (
	"crypto/ecdh"
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/flynn/noise"
)

// HandshakeNK is the handshake type of CREATE and EXTEND: Noise
// NK_25519_ChaChaPoly_SHA256 with the prologue described on ClientHandshake.
const HandshakeNK uint16 = 1

// Handshake message sizes. Both messages are a 32-byte ephemeral key and an
// encrypted payload with its 16-byte tag.
const (
	// MaxHandshakePayload is the largest payload a handshake message carries.
	MaxHandshakePayload = 256
	// MinHandshakeLen is the length of a message with an empty payload.
	MinHandshakeLen = 32 + 16
	// MaxHandshakeLen is the length of a message with the largest payload.
	MaxHandshakeLen = MinHandshakeLen + MaxHandshakePayload
)

// protocolID starts the Noise prologue.
const protocolID = "pexia onion v1"

var cipherSuite = noise.NewCipherSuite(noise.DH25519, noise.CipherChaChaPoly, noise.HashSHA256)

// KeyPair is a node's static X25519 key pair; the public half is published in
// the on-chain registry.
type KeyPair struct {
	Private [32]byte
	Public  [32]byte
}

// GenerateKeyPair makes a key pair from rand (crypto/rand.Reader if nil).
func GenerateKeyPair(rand io.Reader) (KeyPair, error) {
	var kp KeyPair
	if rand == nil {
		rand = crand.Reader
	}
	if _, err := io.ReadFull(rand, kp.Private[:]); err != nil {
		return KeyPair{}, fmt.Errorf("onion: generate key: %w", err)
	}
	return KeyPairFromPrivate(kp.Private)
}

// KeyPairFromPrivate completes a key pair from its private key.
func KeyPairFromPrivate(private [32]byte) (KeyPair, error) {
	k, err := ecdh.X25519().NewPrivateKey(private[:])
	if err != nil {
		return KeyPair{}, fmt.Errorf("onion: private key: %w", err)
	}
	kp := KeyPair{Private: private}
	copy(kp.Public[:], k.PublicKey().Bytes())
	return kp, nil
}

// prologue binds a handshake to one node identity and one cell size.
func prologue(node Address, cellSize int) []byte {
	p := make([]byte, 0, len(protocolID)+len(node)+4)
	p = append(p, protocolID...)
	p = append(p, node[:]...)
	return binary.BigEndian.AppendUint32(p, uint32(cellSize))
}

func checkHandshake(htype uint16, msg []byte) error {
	if htype != HandshakeNK {
		return fmt.Errorf("onion: unknown handshake type %d", htype)
	}
	if len(msg) < MinHandshakeLen || len(msg) > MaxHandshakeLen {
		return fmt.Errorf("onion: handshake message of %d bytes", len(msg))
	}
	return nil
}

// Initiator is the client's half of a handshake in progress.
type Initiator struct {
	hs       *noise.HandshakeState
	cellSize int
}

// ClientHandshake starts a handshake with the node whose registry entry has
// address node and static key nodeKey, for a circuit of cellSize cells, and
// returns the first message (MinHandshakeLen+len(payload) bytes), to send in
// a CREATE or EXTEND. The payload (at most MaxHandshakePayload bytes) is
// opaque here; it reaches only that node, encrypted, and is authenticated
// when the reply is.
//
// The handshake is Noise NK_25519_ChaChaPoly_SHA256 with prologue
// "pexia onion v1" ‖ node ‖ uint32(cellSize): the message can only be read
// by the holder of nodeKey's private key expecting that address and size.
func ClientHandshake(node Address, nodeKey [32]byte, cellSize int, payload []byte) (*Initiator, []byte, error) {
	if err := checkCellSize(cellSize); err != nil {
		return nil, nil, err
	}
	if len(payload) > MaxHandshakePayload {
		return nil, nil, fmt.Errorf("onion: handshake payload of %d bytes", len(payload))
	}
	hs, err := noise.NewHandshakeState(noise.Config{
		CipherSuite: cipherSuite,
		Pattern:     noise.HandshakeNK,
		Initiator:   true,
		Prologue:    prologue(node, cellSize),
		PeerStatic:  append([]byte(nil), nodeKey[:]...),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrHandshake, err)
	}
	msg, _, _, err := hs.WriteMessage(nil, payload)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrHandshake, err)
	}
	return &Initiator{hs: hs, cellSize: cellSize}, msg, nil
}

// Finish reads the node's reply and returns the hop's layer keys and the
// node's payload. An Initiator finishes at most once, successfully or not.
// Errors other than a repeated call wrap ErrHandshake.
func (i *Initiator) Finish(reply []byte) (*HopKeys, []byte, error) {
	hs := i.hs
	if hs == nil {
		return nil, nil, fmt.Errorf("onion: handshake already finished")
	}
	i.hs = nil
	if len(reply) < MinHandshakeLen || len(reply) > MaxHandshakeLen {
		return nil, nil, fmt.Errorf("%w: reply of %d bytes", ErrHandshake, len(reply))
	}
	payload, cs1, cs2, err := hs.ReadMessage(nil, reply)
	if err != nil || cs1 == nil || cs2 == nil {
		return nil, nil, fmt.Errorf("%w: reply: %v", ErrHandshake, err)
	}
	keys, err := splitKeys(hs, cs1, cs2, i.cellSize)
	if err != nil {
		return nil, nil, err
	}
	return keys, payload, nil
}

// Responder is the node's half of a handshake in progress.
type Responder struct {
	hs       *noise.HandshakeState
	cellSize int
}

// NodeHandshake reads a client's first message for this node (address node,
// static key pair key, whose Public must match Private) on a circuit of
// cellSize cells, and returns the client's payload. The caller then answers
// with Responder.Reply. Errors wrap ErrHandshake, except an invalid cell
// size.
//
// A message made for another node, another address or another cell size,
// and any changed byte, fail. Replaying a message to the same node yields a
// hop whose keys the replayer cannot know; a node may still drop exact
// replays by remembering the first 32 bytes (the client's ephemeral key) for
// a while.
func NodeHandshake(node Address, key KeyPair, cellSize int, msg []byte) (*Responder, []byte, error) {
	if err := checkCellSize(cellSize); err != nil {
		return nil, nil, err
	}
	if len(msg) < MinHandshakeLen || len(msg) > MaxHandshakeLen {
		return nil, nil, fmt.Errorf("%w: message of %d bytes", ErrHandshake, len(msg))
	}
	hs, err := noise.NewHandshakeState(noise.Config{
		CipherSuite: cipherSuite,
		Pattern:     noise.HandshakeNK,
		Initiator:   false,
		Prologue:    prologue(node, cellSize),
		StaticKeypair: noise.DHKey{
			Private: append([]byte(nil), key.Private[:]...),
			Public:  append([]byte(nil), key.Public[:]...),
		},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrHandshake, err)
	}
	payload, _, _, err := hs.ReadMessage(nil, msg)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrHandshake, err)
	}
	return &Responder{hs: hs, cellSize: cellSize}, payload, nil
}

// Reply returns the reply to send in a CREATED or EXTENDED, carrying payload
// (at most MaxHandshakePayload bytes, e.g. the node's ticket commitment and
// price), and the hop's state. A Responder replies at most once.
func (r *Responder) Reply(payload []byte) ([]byte, *HopState, error) {
	hs := r.hs
	if hs == nil {
		return nil, nil, fmt.Errorf("onion: handshake already answered")
	}
	if len(payload) > MaxHandshakePayload {
		return nil, nil, fmt.Errorf("onion: handshake payload of %d bytes", len(payload))
	}
	r.hs = nil
	reply, cs1, cs2, err := hs.WriteMessage(nil, payload)
	if err != nil || cs1 == nil || cs2 == nil {
		return nil, nil, fmt.Errorf("%w: reply: %v", ErrHandshake, err)
	}
	keys, err := splitKeys(hs, cs1, cs2, r.cellSize)
	if err != nil {
		return nil, nil, err
	}
	return reply, newHopState(keys), nil
}

// splitKeys derives the layer keys from the completed handshake: HKDF-SHA256
// of the two Noise transport keys, salted with the handshake hash (the
// channel binding).
func splitKeys(hs *noise.HandshakeState, cs1, cs2 *noise.CipherState, cellSize int) (*HopKeys, error) {
	k1, k2 := cs1.UnsafeKey(), cs2.UnsafeKey()
	secret := append(k1[:], k2[:]...)
	defer clear(secret)
	keys, err := deriveKeys(secret, hs.ChannelBinding(), cellSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHandshake, err)
	}
	return keys, nil
}
