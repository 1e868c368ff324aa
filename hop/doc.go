// Package hop is the client side of circuits: building them by telescoping
// through registered nodes (circuit.go), paying each hop through a payer
// interface (pay.go), failure handling and resampling (pool.go, the stall
// watchdog in watchdog.go) and constant-rate padding (padding.go). Its
// subpackages are the protocol both ends speak: hop/link (WebRTC links and
// signaling), hop/onion (the per-hop handshake and onion layers),
// hop/stream (stream multiplexing and flow control) and hop/wire (cell
// framing, HopInfo, Terms and the padding schedule, which client and node
// share). It asks a payer interface for tickets and never imports the
// wallet.
//
// ARCHITECTURE.md also places here the relay and exit logic that
// pexia-node runs. That logic is package relay instead, so that the client
// and the node, which trust each other with nothing, do not share a
// package: a reader of the client never reads the exit. hop does not
// import relay and relay does not import hop (internal/deptest checks
// both); hop/hoptest, which runs test nodes for the client's tests, uses
// both.
package hop
