// Package hop owns circuits: WebRTC links between peers, signaling, the
// per-hop handshake and onion layers, stream multiplexing and flow control,
// circuit building, failure handling and resampling, padding, and the relay
// and exit logic that pexia-node runs. It asks a payer interface for tickets
// and never imports the wallet.
package hop
