// Package onion is the cryptographic and framing core of Pexia circuits: the
// per-hop handshake, fixed-size cells, and the onion layers. It does no I/O;
// package hop moves its bytes over WebRTC links. The wire format is written
// down in docs/PROTOCOL.md, section 2.
//
// # Handshake
//
// A client shares keys with each hop by a Noise NK handshake
// (NK_25519_ChaChaPoly_SHA256) against the node's static X25519 key from the
// on-chain registry: ClientHandshake makes the first message, which travels
// in a CREATE cell (hop 0) or an EXTEND relay payload (later hops);
// NodeHandshake reads it and Responder.Reply answers (CREATED or EXTENDED);
// Initiator.Finish reads the answer. Both messages carry a small opaque
// payload for the caller (protocol version, ticket commitment, price). The
// prologue binds the handshake to the node's address and the circuit's cell
// size. Layer keys come from HKDF-SHA256 over the Noise transport keys,
// salted with the handshake hash.
//
// # Cells
//
// Every cell of a circuit has the same size, a power of two from 512 to
// 16384 bytes (DefaultCellSize 4096), so relays cannot read lengths: a 5-byte
// link header (circuit ID, LinkCmd) and a body. DecodeCell and the Decode*
// helpers validate strictly and return errors wrapping ErrMalformed.
//
// # Layers
//
// A relay cell body is encrypted once per hop with a length-preserving,
// counter-tweaked layer (see the comment on layer in layer.go): the client's
// ClientCircuit.Seal applies layers k..0 for hop k, each HopState.Forward
// removes one, and only hop k recognizes the cell. Backward, a hop's
// Originate makes a cell, each earlier hop's Backward adds a layer, and
// ClientCircuit.Open removes layers until one recognizes it, which tells the
// client which hop sent it. Tampering, replay, reordering and forgery make
// the cell unrecognizable at every later hop, so the last hop
// (HopState.Forward) or the client (Open) fails with ErrAuth; the change
// cannot be undone further on, so a tag put on by one hop is not readable by
// a colluding later hop (it only kills the circuit).
//
// A relay typically does, per cell from the previous hop (a data-channel
// message may carry several, docs/PROTOCOL.md 2.3):
//
//	c, err := onion.DecodeCell(buf)             // c.Body aliases buf
//	mine, cmd, payload, next, err := hop.Forward(c.Body)
//	if !mine {
//		onion.PutHeader(buf, nextCircID, c.Cmd) // next is buf's body
//		send(buf)
//	}
//
// and, per cell from the next hop, Backward(body) then the same PutHeader with
// the previous link's circuit ID.
package onion
