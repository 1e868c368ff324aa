package onion

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// Create is the body of a LinkCreate cell: the client's first handshake
// message for the node at the other end of the link.
//
//	0  htype  uint16, HandshakeNK
//	2  hlen   uint16, MinHandshakeLen..MaxHandshakeLen
//	4  hdata  hlen bytes
//	   zero padding to the body size
type Create struct {
	HType     uint16
	Handshake []byte
}

// Encode returns the body for a cell of cellSize bytes.
func (c Create) Encode(cellSize int) ([]byte, error) {
	if err := checkCellSize(cellSize); err != nil {
		return nil, err
	}
	if err := checkHandshake(c.HType, c.Handshake); err != nil {
		return nil, err
	}
	b := make([]byte, BodySize(cellSize))
	binary.BigEndian.PutUint16(b, c.HType)
	binary.BigEndian.PutUint16(b[2:], uint16(len(c.Handshake)))
	copy(b[4:], c.Handshake)
	return b, nil
}

// DecodeCreate parses a LinkCreate body. Handshake aliases body. Errors wrap
// ErrMalformed.
func DecodeCreate(body []byte) (Create, error) {
	if !ValidCellSize(len(body) + HeaderLen) {
		return Create{}, fmt.Errorf("%w: CREATE body length %d", ErrMalformed, len(body))
	}
	c := Create{HType: binary.BigEndian.Uint16(body)}
	h, rest, err := takeLen16(body[2:])
	if err != nil {
		return Create{}, fmt.Errorf("CREATE: %w", err)
	}
	c.Handshake = h
	if err := checkHandshake(c.HType, h); err != nil {
		return Create{}, fmt.Errorf("%w: CREATE: %v", ErrMalformed, err)
	}
	if !allZero(rest) {
		return Create{}, fmt.Errorf("%w: CREATE padding not zero", ErrMalformed)
	}
	return c, nil
}

// Created is the body of a LinkCreated cell: the node's handshake reply.
//
//	0  hlen   uint16, MinHandshakeLen..MaxHandshakeLen
//	2  hdata  hlen bytes
//	   zero padding to the body size
type Created struct {
	Handshake []byte
}

// Encode returns the body for a cell of cellSize bytes.
func (c Created) Encode(cellSize int) ([]byte, error) {
	if err := checkCellSize(cellSize); err != nil {
		return nil, err
	}
	if err := checkHandshake(HandshakeNK, c.Handshake); err != nil {
		return nil, err
	}
	b := make([]byte, BodySize(cellSize))
	binary.BigEndian.PutUint16(b, uint16(len(c.Handshake)))
	copy(b[2:], c.Handshake)
	return b, nil
}

// DecodeCreated parses a LinkCreated body. Handshake aliases body. Errors
// wrap ErrMalformed.
func DecodeCreated(body []byte) (Created, error) {
	if !ValidCellSize(len(body) + HeaderLen) {
		return Created{}, fmt.Errorf("%w: CREATED body length %d", ErrMalformed, len(body))
	}
	h, rest, err := takeLen16(body)
	if err != nil {
		return Created{}, fmt.Errorf("CREATED: %w", err)
	}
	if err := checkHandshake(HandshakeNK, h); err != nil {
		return Created{}, fmt.Errorf("%w: CREATED: %v", ErrMalformed, err)
	}
	if !allZero(rest) {
		return Created{}, fmt.Errorf("%w: CREATED padding not zero", ErrMalformed)
	}
	return Created{Handshake: h}, nil
}

// Destroy is the body of a LinkDestroy cell.
//
//	0  reason  uint8
//	   zero padding to the body size
type Destroy struct {
	Reason Reason
}

// Encode returns the body for a cell of cellSize bytes.
func (d Destroy) Encode(cellSize int) ([]byte, error) {
	if err := checkCellSize(cellSize); err != nil {
		return nil, err
	}
	if !d.Reason.valid() {
		return nil, fmt.Errorf("onion: unknown reason %d", d.Reason)
	}
	b := make([]byte, BodySize(cellSize))
	b[0] = byte(d.Reason)
	return b, nil
}

// DecodeDestroy parses a LinkDestroy body. Errors wrap ErrMalformed.
func DecodeDestroy(body []byte) (Destroy, error) {
	if !ValidCellSize(len(body) + HeaderLen) {
		return Destroy{}, fmt.Errorf("%w: DESTROY body length %d", ErrMalformed, len(body))
	}
	r := Reason(body[0])
	if !r.valid() {
		return Destroy{}, fmt.Errorf("%w: DESTROY reason %d", ErrMalformed, body[0])
	}
	if !allZero(body[1:]) {
		return Destroy{}, fmt.Errorf("%w: DESTROY padding not zero", ErrMalformed)
	}
	return Destroy{Reason: r}, nil
}

// Reason says why a circuit, or the part of it past a hop, was closed. It is
// carried by DESTROY (link level, one hop) and by the END and TRUNCATED relay
// payloads (authenticated end to end). Like Tor, nodes should send
// ReasonNone to the client's side unless the reason helps the client choose
// its next path, so that reasons are not a side channel.
type Reason uint8

// Reasons.
const (
	ReasonNone          Reason = 0 // no reason given
	ReasonProtocol      Reason = 1 // protocol violation, including ErrAuth
	ReasonInternal      Reason = 2 // internal error
	ReasonRequested     Reason = 3 // the client asked (TRUNCATE, END)
	ReasonResource      Reason = 4 // out of memory, circuits or bandwidth
	ReasonConnectFailed Reason = 5 // could not reach the next hop
	ReasonUnpaid        Reason = 6 // the client stopped paying
	ReasonTimeout       Reason = 7 // idle or build timeout
	ReasonDestroyed     Reason = 8 // the next hop closed the circuit
	ReasonFinished      Reason = 9 // orderly end of use
	// ReasonUnregistered: the node an EXTEND names is not in the registry
	// with that URL and certificate pin, so the hop did not dial it.
	ReasonUnregistered Reason = 10
)

var reasonNames = [...]string{"none", "protocol", "internal", "requested", "resource", "connect-failed", "unpaid", "timeout", "destroyed", "finished", "unregistered"}

func (r Reason) valid() bool { return int(r) < len(reasonNames) }

// String returns the reason's name.
func (r Reason) String() string {
	if r.valid() {
		return reasonNames[r]
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// takeLen16 splits a uint16-length-prefixed field off b.
func takeLen16(b []byte) (field, rest []byte, err error) {
	if len(b) < 2 {
		return nil, nil, fmt.Errorf("%w: truncated length", ErrMalformed)
	}
	n := int(binary.BigEndian.Uint16(b))
	if len(b)-2 < n {
		return nil, nil, fmt.Errorf("%w: length %d exceeds %d bytes left", ErrMalformed, n, len(b)-2)
	}
	return b[2 : 2+n], b[2+n:], nil
}

// takeLen8 splits a uint8-length-prefixed field off b.
func takeLen8(b []byte) (field, rest []byte, err error) {
	if len(b) < 1 {
		return nil, nil, fmt.Errorf("%w: truncated length", ErrMalformed)
	}
	n := int(b[0])
	if len(b)-1 < n {
		return nil, nil, fmt.Errorf("%w: length %d exceeds %d bytes left", ErrMalformed, n, len(b)-1)
	}
	return b[1 : 1+n], b[1+n:], nil
}
