// Package wire holds what both ends of a circuit share, so that the client
// (package hop) and the node (package relay) need not import each other:
// how cells ride on a data channel (CellReader, CellWriter), what the
// client knows of a node (HopInfo), the terms a node announces in its
// handshake and the receipts of its payments (Terms, EncodeCommit), and
// the constant-rate cell schedule and its request (Padder,
// PaddingRequest). It imports only hop/link and hop/onion.
package wire
