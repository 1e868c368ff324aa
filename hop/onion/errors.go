package onion

import "errors"

// Sentinel errors. Every other failure is a caller mistake (a bad argument)
// and is returned as a plain error.
var (
	// ErrMalformed is returned by the decoders (DecodeCell and the Decode*
	// helpers) for bytes that are not a well-formed encoding, and by
	// ClientCircuit.Open and HopState.Forward when a cell authenticates but
	// its plaintext is not well formed (the hop or client that made it is
	// broken or hostile) or when a body has the wrong length.
	ErrMalformed = errors.New("onion: malformed")

	// ErrAuth is returned by ClientCircuit.Open when no layer recognizes a
	// backward cell, and by HopState.Forward when the last hop of a circuit
	// does not recognize a forward cell: the cell was tampered with,
	// replayed, reordered or forged. The circuit state is then dead (every
	// later call returns ErrAuth) and the caller must destroy the circuit.
	ErrAuth = errors.New("onion: cell authentication failed")

	// ErrHandshake is returned by NodeHandshake and Initiator.Finish when a
	// handshake message is not for this node (wrong static key, address or
	// cell size), was tampered with, or is not a handshake message at all.
	ErrHandshake = errors.New("onion: handshake failed")
)
