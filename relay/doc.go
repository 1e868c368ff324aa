// Package relay is the node side of circuits, the part pexia-node runs: a
// Node serves the links peers open to it, answers the circuits' handshakes,
// relays cells to the next hop (relay.go; links to next hops in
// outlinks.go, extended only to registered nodes), serves streams as an
// exit (exit.go: the stream layer, splicing and DNS; exitdial.go and
// exitpolicy.go: where an exit may connect), meters payments through a
// PayeeSession (pay.go), bounds what peers can make it hold (limits.go),
// counts what it does (metrics.go) and drains on shutdown (shutdown.go).
//
// ARCHITECTURE.md puts this logic in package hop, beside the client's
// circuit building. It moved here so that the client and the node, which
// trust each other with nothing, do not share a package: a reader of the
// client never reads the exit, and neither side can reach into the other's
// unexported state. relay shares with hop only the protocol
// packages hop/link, hop/onion and hop/stream, and hop/wire for what both
// ends need (cell framing, HopInfo, Terms, the padding schedule); it does
// not import package hop, and hop does not import it (internal/deptest
// checks both). Like hop, it asks an interface (PayeeSession) for payments
// and never imports the wallet; internal/payhop bridges the two.
package relay
