package onion

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// Relay cell plaintext, as the hop (or client) it is meant for sees it after
// removing its layer. Offsets are within the cell body.
//
//	0   tag      16 bytes, the per-cell value that makes the cell recognized
//	16  command  uint8, RelayCmd
//	17  length   uint16, payload length, at most MaxPayload
//	19  payload  length bytes
//	    zero padding to the body size
const (
	// TagLen is the length of the recognition tag at the start of a body.
	TagLen = 16
	// RelayHeaderLen is the length of the relay header: tag, command and
	// payload length.
	RelayHeaderLen = TagLen + 3
)

// MaxPayload returns the largest relay payload a cell of cellSize carries.
func MaxPayload(cellSize int) int { return cellSize - HeaderLen - RelayHeaderLen }

// RelayCmd is the command of a relay cell, readable only by the hop (or the
// client) that recognizes the cell.
type RelayCmd uint8

// Relay commands.
const (
	// RelayData carries stream data; the stream layer defines the payload.
	RelayData RelayCmd = 1
	// RelayEnd closes the circuit in an authenticated way; payload: one
	// Reason byte (EncodeReason).
	RelayEnd RelayCmd = 2
	// RelaySendme acknowledges delivery; payload: Sendme.
	RelaySendme RelayCmd = 3
	// RelayExtend asks the hop to extend the circuit; payload: Extend. Only
	// accepted in a LinkRelayEarly cell.
	RelayExtend RelayCmd = 4
	// RelayExtended answers RelayExtend; payload: Extended.
	RelayExtended RelayCmd = 5
	// RelayTruncate asks the hop to drop the rest of the circuit; empty
	// payload.
	RelayTruncate RelayCmd = 6
	// RelayTruncated reports that the rest of the circuit is gone; payload:
	// one Reason byte.
	RelayTruncated RelayCmd = 7
	// RelayPay carries a payment for the hop; payload: Pay.
	RelayPay RelayCmd = 8
	// RelayPaid acknowledges a payment; payload: Paid.
	RelayPaid RelayCmd = 9
	// RelayPadding is dropped by its recipient; any payload.
	RelayPadding RelayCmd = 10
	// RelayPing asks the hop that recognizes it for a RelayPong with the
	// same payload (at most MaxPingPayload bytes): the client's proof that
	// the circuit still carries cells both ways.
	RelayPing RelayCmd = 11
	// RelayPong answers RelayPing.
	RelayPong RelayCmd = 12
)

// MaxPingPayload is the longest payload a RelayPing may carry.
const MaxPingPayload = 32

var relayCmdNames = [...]string{"", "DATA", "END", "SENDME", "EXTEND", "EXTENDED", "TRUNCATE", "TRUNCATED", "PAY", "PAID", "PADDING", "PING", "PONG"}

func (c RelayCmd) valid() bool { return c != 0 && int(c) < len(relayCmdNames) }

// String returns the command's name.
func (c RelayCmd) String() string {
	if c.valid() {
		return relayCmdNames[c]
	}
	return "RelayCmd(" + strconv.Itoa(int(c)) + ")"
}

// writePlain writes a relay plaintext into body (the tag is left zero for the
// layer to fill in).
func writePlain(body []byte, cmd RelayCmd, payload []byte) error {
	if !cmd.valid() {
		return fmt.Errorf("onion: unknown relay command %d", cmd)
	}
	if lim := len(body) - RelayHeaderLen; len(payload) > lim {
		return fmt.Errorf("onion: %v payload of %d bytes exceeds %d", cmd, len(payload), lim)
	}
	clear(body[:TagLen])
	body[TagLen] = byte(cmd)
	binary.BigEndian.PutUint16(body[TagLen+1:], uint16(len(payload)))
	n := copy(body[RelayHeaderLen:], payload)
	clear(body[RelayHeaderLen+n:])
	return nil
}

// parsePlain validates a recognized relay plaintext. The payload aliases
// body.
func parsePlain(body []byte) (RelayCmd, []byte, error) {
	cmd := RelayCmd(body[TagLen])
	if !cmd.valid() {
		return 0, nil, fmt.Errorf("%w: unknown relay command %d", ErrMalformed, cmd)
	}
	n := int(binary.BigEndian.Uint16(body[TagLen+1:]))
	if n > len(body)-RelayHeaderLen {
		return 0, nil, fmt.Errorf("%w: relay length %d exceeds %d", ErrMalformed, n, len(body)-RelayHeaderLen)
	}
	if !allZero(body[RelayHeaderLen+n:]) {
		return 0, nil, fmt.Errorf("%w: relay padding not zero", ErrMalformed)
	}
	return cmd, body[RelayHeaderLen : RelayHeaderLen+n], nil
}

// Limits of the EXTEND fields.
const (
	MaxURLLen         = 255
	MaxFingerprintLen = 64
)

// Extend is the payload of RelayExtend: where the next hop is and the
// client's first handshake message for it. The hop that receives it sends a
// LinkCreate with HType and Handshake to that node.
//
//	0   node      20 bytes, the next hop's on-chain address
//	20  urllen    uint8, 1..MaxURLLen
//	21  url       signaling URL, printable ASCII (0x21..0x7e)
//	    fplen     uint8, 0..MaxFingerprintLen
//	    fp        fingerprint of the node's TLS certificate (SHA-256: 32 bytes)
//	    htype     uint16, HandshakeNK
//	    hlen      uint16, MinHandshakeLen..MaxHandshakeLen
//	    hdata     hlen bytes
//
// Nothing may follow hdata.
type Extend struct {
	Node        Address
	URL         string
	Fingerprint []byte
	HType       uint16
	Handshake   []byte
}

// Encode returns the relay payload.
func (e Extend) Encode() ([]byte, error) {
	if err := checkURL(e.URL); err != nil {
		return nil, err
	}
	if len(e.Fingerprint) > MaxFingerprintLen {
		return nil, fmt.Errorf("%w: EXTEND fingerprint of %d bytes", ErrMalformed, len(e.Fingerprint))
	}
	if err := checkHandshake(e.HType, e.Handshake); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 20+1+len(e.URL)+1+len(e.Fingerprint)+4+len(e.Handshake))
	b = append(b, e.Node[:]...)
	b = append(b, byte(len(e.URL)))
	b = append(b, e.URL...)
	b = append(b, byte(len(e.Fingerprint)))
	b = append(b, e.Fingerprint...)
	b = binary.BigEndian.AppendUint16(b, e.HType)
	b = binary.BigEndian.AppendUint16(b, uint16(len(e.Handshake)))
	b = append(b, e.Handshake...)
	return b, nil
}

// DecodeExtend parses a RelayExtend payload. Fingerprint and Handshake alias
// p. Errors wrap ErrMalformed.
func DecodeExtend(p []byte) (Extend, error) {
	var e Extend
	if len(p) < len(e.Node) {
		return Extend{}, fmt.Errorf("%w: EXTEND of %d bytes", ErrMalformed, len(p))
	}
	copy(e.Node[:], p)
	url, rest, err := takeLen8(p[len(e.Node):])
	if err != nil {
		return Extend{}, fmt.Errorf("EXTEND url: %w", err)
	}
	if err := checkURL(string(url)); err != nil {
		return Extend{}, err
	}
	e.URL = string(url)
	if e.Fingerprint, rest, err = takeLen8(rest); err != nil {
		return Extend{}, fmt.Errorf("EXTEND fingerprint: %w", err)
	}
	if len(e.Fingerprint) > MaxFingerprintLen {
		return Extend{}, fmt.Errorf("%w: EXTEND fingerprint of %d bytes", ErrMalformed, len(e.Fingerprint))
	}
	if len(rest) < 2 {
		return Extend{}, fmt.Errorf("%w: EXTEND truncated before htype", ErrMalformed)
	}
	e.HType = binary.BigEndian.Uint16(rest)
	if e.Handshake, rest, err = takeLen16(rest[2:]); err != nil {
		return Extend{}, fmt.Errorf("EXTEND handshake: %w", err)
	}
	if err := checkHandshake(e.HType, e.Handshake); err != nil {
		return Extend{}, fmt.Errorf("%w: EXTEND: %v", ErrMalformed, err)
	}
	if len(rest) != 0 {
		return Extend{}, fmt.Errorf("%w: %d bytes after EXTEND", ErrMalformed, len(rest))
	}
	return e, nil
}

func checkURL(u string) error {
	if len(u) == 0 || len(u) > MaxURLLen {
		return fmt.Errorf("%w: EXTEND url of %d bytes", ErrMalformed, len(u))
	}
	for i := 0; i < len(u); i++ {
		if u[i] < 0x21 || u[i] > 0x7e {
			return fmt.Errorf("%w: EXTEND url byte %#x at %d", ErrMalformed, u[i], i)
		}
	}
	return nil
}

// Extended is the payload of RelayExtended: the next hop's handshake reply.
//
//	0  hlen   uint16, MinHandshakeLen..MaxHandshakeLen
//	2  hdata  hlen bytes; nothing follows
type Extended struct {
	Handshake []byte
}

// Encode returns the relay payload.
func (e Extended) Encode() ([]byte, error) {
	if err := checkHandshake(HandshakeNK, e.Handshake); err != nil {
		return nil, err
	}
	return appendLen16(nil, e.Handshake), nil
}

// DecodeExtended parses a RelayExtended payload. Handshake aliases p. Errors
// wrap ErrMalformed.
func DecodeExtended(p []byte) (Extended, error) {
	h, err := exactLen16(p, "EXTENDED")
	if err != nil {
		return Extended{}, err
	}
	if err := checkHandshake(HandshakeNK, h); err != nil {
		return Extended{}, fmt.Errorf("%w: EXTENDED: %v", ErrMalformed, err)
	}
	return Extended{Handshake: h}, nil
}

// Pay is the payload of RelayPay: one payment for the hop that recognizes
// the cell, encoded by the payments layer.
//
//	0  tlen    uint16, at least 1
//	2  ticket  tlen bytes; nothing follows
type Pay struct {
	Ticket []byte
}

// Encode returns the relay payload.
func (p Pay) Encode() ([]byte, error) {
	if len(p.Ticket) == 0 || len(p.Ticket) > 0xffff {
		return nil, fmt.Errorf("%w: PAY ticket of %d bytes", ErrMalformed, len(p.Ticket))
	}
	return appendLen16(nil, p.Ticket), nil
}

// DecodePay parses a RelayPay payload. Ticket aliases b. Errors wrap
// ErrMalformed.
func DecodePay(b []byte) (Pay, error) {
	t, err := exactLen16(b, "PAY")
	if err != nil {
		return Pay{}, err
	}
	if len(t) == 0 {
		return Pay{}, fmt.Errorf("%w: empty PAY ticket", ErrMalformed)
	}
	return Pay{Ticket: t}, nil
}

// Paid is the payload of RelayPaid: the hop's acknowledgement of payments,
// encoded by the payments layer (may be empty).
//
//	0  rlen     uint16
//	2  receipt  rlen bytes; nothing follows
type Paid struct {
	Receipt []byte
}

// Encode returns the relay payload.
func (p Paid) Encode() ([]byte, error) {
	if len(p.Receipt) > 0xffff {
		return nil, fmt.Errorf("%w: PAID receipt of %d bytes", ErrMalformed, len(p.Receipt))
	}
	return appendLen16(nil, p.Receipt), nil
}

// DecodePaid parses a RelayPaid payload. Receipt aliases b. Errors wrap
// ErrMalformed.
func DecodePaid(b []byte) (Paid, error) {
	r, err := exactLen16(b, "PAID")
	if err != nil {
		return Paid{}, err
	}
	return Paid{Receipt: r}, nil
}

// SendmeVersion is the only Sendme version.
const SendmeVersion = 1

// Sendme is the payload of RelaySendme: it echoes the Digest of the cell it
// acknowledges, which only the two ends of that cell can compute (see
// ClientCircuit.ReceivedDigest and HopState.ReceivedDigest), and, from a
// client that sends it, when that cell arrived on the client's clock.
//
//	0   version  uint8, SendmeVersion
//	1   digest   16 bytes
//	17  arrived  uint64, optional: nanoseconds on the client's monotonic
//	             clock, never 0; nothing follows
//
// Arrived means nothing on its own (the clocks of the two ends are not
// related); the differences between the Arrived of successive SENDMEs and
// the times the hop sent those cells are the cells' one-way delays plus a
// constant, which is what lets the hop tell a queue on its way to the
// client from one on the way back (relay's window, docs/PROTOCOL.md 2.8).
type Sendme struct {
	Digest  Digest
	Arrived uint64 // 0: not given
}

// Encode returns the relay payload.
func (s Sendme) Encode() []byte {
	n := 1 + len(s.Digest)
	if s.Arrived != 0 {
		n += 8
	}
	b := make([]byte, n)
	b[0] = SendmeVersion
	copy(b[1:], s.Digest[:])
	if s.Arrived != 0 {
		binary.BigEndian.PutUint64(b[1+len(s.Digest):], s.Arrived)
	}
	return b
}

// DecodeSendme parses a RelaySendme payload. Errors wrap ErrMalformed.
func DecodeSendme(b []byte) (Sendme, error) {
	var s Sendme
	d := 1 + len(s.Digest)
	if (len(b) != d && len(b) != d+8) || b[0] != SendmeVersion {
		return Sendme{}, fmt.Errorf("%w: SENDME of %d bytes", ErrMalformed, len(b))
	}
	copy(s.Digest[:], b[1:d])
	if len(b) == d+8 {
		if s.Arrived = binary.BigEndian.Uint64(b[d:]); s.Arrived == 0 {
			return Sendme{}, fmt.Errorf("%w: SENDME arrived at 0", ErrMalformed)
		}
	}
	return s, nil
}

// EncodeReason returns the payload of RelayEnd and RelayTruncated.
func EncodeReason(r Reason) []byte { return []byte{byte(r)} }

// DecodeReason parses the payload of RelayEnd and RelayTruncated. Errors wrap
// ErrMalformed.
func DecodeReason(b []byte) (Reason, error) {
	if len(b) != 1 || !Reason(b[0]).valid() {
		return 0, fmt.Errorf("%w: reason payload % x", ErrMalformed, b)
	}
	return Reason(b[0]), nil
}

func appendLen16(b, field []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(field)))
	return append(b, field...)
}

// exactLen16 parses a payload that is exactly one uint16-prefixed field.
func exactLen16(p []byte, what string) ([]byte, error) {
	f, rest, err := takeLen16(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after %s", ErrMalformed, len(rest), what)
	}
	return f, nil
}
