package wire

// Circuit features, agreed with each hop in the circuit handshake
// (docs/PROTOCOL.md 2.9). A client asks for features with a one-byte
// payload in its first handshake message; a node that knows features
// answers with the features it grants appended to its terms as one
// byte. Terms are 0, 64 or 80 bytes, so a reply one byte longer than a
// multiple of 16 carries features. Nodes that predate features ignore the
// client's payload and answer with their terms alone, and clients that
// predate them send no payload and get the terms alone.

// FeatureLane: datagram cells of the circuit may take the links'
// datagram lanes. A node grants it when it carries datagram cells and the
// link the circuit came in on has a lane.
const FeatureLane byte = 1 << 0

// FeaturePack: the node, as the circuit's exit, sends and takes DATAGRAMS
// frames, several datagrams in one cell (docs/PROTOCOL.md 3.2). A client
// asks every hop for it, and packs only when its last hop grants it; the
// exit packs only when the client asked. Middle relays see onion cells
// only and do nothing with it.
const FeaturePack byte = 1 << 1

// ClientHello is the payload of a client's first handshake message asking
// for features f (nil for none).
func ClientHello(f byte) []byte {
	if f == 0 {
		return nil
	}
	return []byte{f}
}

// HelloFeatures returns the features a client's first-message payload asks
// for, and whether it asks at all.
func HelloFeatures(p []byte) (f byte, asked bool) {
	if len(p) == 0 {
		return 0, false
	}
	return p[0], true
}

// AppendFeatures appends granted features to a node's reply payload
// (its encoded terms, or nothing for a free node).
func AppendFeatures(terms []byte, f byte) []byte {
	return append(terms[:len(terms):len(terms)], f)
}

// SplitReply separates a node's reply payload into its terms and the
// features it granted (0 when it granted none or predates features).
func SplitReply(p []byte) (terms []byte, f byte) {
	if len(p)%16 == 1 {
		return p[:len(p)-1], p[len(p)-1]
	}
	return p, 0
}
