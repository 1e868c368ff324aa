// Package link provides WebRTC links between a client (or a relay extending a
// circuit) and a node: one pion PeerConnection per pair of parties, carrying
// data channels only, with one reliable ordered channel per circuit so that
// circuits sharing a link are free of head-of-line blocking between each
// other, and one unordered channel without retransmissions, the datagram
// lane, shared by the link's circuits for cells that must not wait behind a
// lost one (lane.go, docs/PROTOCOL.md 2.9).
//
// # Signaling
//
// The node serves HTTPS with a self-signed certificate whose SHA-256
// fingerprint (a [Pin]) is published in the registry. The dialer POSTs its
// complete SDP offer (ICE gathering finished, no trickle) as JSON,
//
//	{"type":"offer","sdp":"v=0..."}
//
// and receives the complete answer in the same form with status 200.
// Malformed offers get 400; an offer beyond the handshakes a node has in
// flight, or beyond one source's share of them, gets 503.
// Offers are rate limited per source (a token bucket for each remote IPv4
// address or IPv6 /64, in a bounded table that forgets idle and least
// recently seen sources) and by a ceiling over all sources well above
// honest use; an offer over either gets 429 with Retry-After, and its body
// says which. One flooding source thus cannot keep others from dialing.
// The dialer accepts only a TLS certificate whose leaf matches the pin. The
// pin authenticates signaling only; the circuit's own handshake
// authenticates the node's static key.
//
// # Transport
//
// Each side hands pion its own UDP socket (SettingEngine.SetICEUDPMux) with
// 4 MiB kernel buffers, because the kernel default drops packets even on
// loopback and every drop stalls SCTP for about a second. A [Listener]
// shares one socket among all its links; every dialed [Link] owns a socket,
// which on Linux can carry a firewall mark (DialConfig.Mark) so that the
// daemon's own traffic bypasses the tunnel. No STUN or TURN server is used,
// so a dialer behind NAT reaches a node on a public address through
// peer-reflexive candidates. A peer that stops answering is declared dead
// after about 1.6 s of silence (ICE keepalives every 250 ms).
//
// SCTP stream 0 carries a pre-negotiated channel that tells each side the
// association is up; it is reserved. Other stream identifiers are taken by
// [Link.Open] and are not reused within a link, so a link can open about
// 32 000 channels from each side over its lifetime; after that Open fails
// with [ErrExhausted] and the caller should dial a fresh link.
//
// # Candidates
//
// Each side lists exactly one host candidate address, so neither learns
// the other's other networks. The dialer connects to the signaling address
// first, asks the kernel which local address it sends from to reach that
// address (a UDP socket connected there, with the link's mark), and offers
// only that one, on its UDP socket's port: a client on a LAN offers its
// LAN address to a node on that LAN and nothing else, and a client on the
// internet offers no LAN, ULA or loopback address at all. The node answers
// only with the address the offer arrived on. A socket bound to one address
// (DialConfig.UDPAddr, ListenConfig.UDPAddr) offers that address. pion's
// SettingEngine IP and interface filters do not apply to a UDP mux, whose
// list of addresses pion takes as it is, so each link gets its own view of
// the shared mux that lists the one address. mDNS candidates are off.
//
// The node ignores every offered candidate whose address is not the one
// the offer came from, so an offer cannot make it send connectivity checks
// to any other host (one on the node's own network, say). A client behind NAT,
// whose candidate is its private address, is reached through the
// peer-reflexive candidate its own checks create.
//
// # Flow control
//
// Each channel has a send window (ChannelWindow in DialConfig and
// ListenConfig, default 1 MiB): Write blocks while the channel has that
// many bytes written but not yet acknowledged by the peer's SCTP stack
// (received, not necessarily read). All channels of a link share one SCTP
// association, whose send queue is first in, first out and whose congestion
// window, on a fast path without loss, grows to the receive window; without
// a per-channel window one bulk transfer would queue megabytes in front of
// every other channel's messages. The window trades the delay one busy
// channel adds to the others (about window/throughput) against one
// channel's throughput on long paths (window per round trip).
//
// The SCTP receive window (8 MiB) is shared by all channels too, and the
// peer acknowledges data on arrival, not when it is read. So every channel
// must be read promptly, into buffers bounded by flow control above this
// package: a channel nobody reads fills the receive window and stalls the
// whole link.
//
// # The data path's cost
//
// Most of a link's CPU goes to pion's per-packet work and the socket
// calls under it, so two things lower the cost per byte. pion's datagrams
// leave in sendmmsg(2) batches (batchConn, Linux) gathered by a flusher
// goroutine without a timer. And SCTP packets are 1400 bytes instead of
// pion's fixed 1191 (sctpMTU): pion/webrtc v4.2.20 has no setting for it,
// so the module is replaced by a copy with one setter added
// (third_party/pion-webrtc, PATCHED.md). docs/PERFORMANCE.md has the
// measurements.
package link
