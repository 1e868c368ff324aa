package link

import (
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/pexia-network/pexia/internal/logger"
)

const (
	// MaxMessageSize is the largest message a [Channel] writes or reads,
	// in bytes. Both sides advertise it in SDP, so a peer never sends more.
	MaxMessageSize = 64 << 10

	// DefaultChannelWindow is the default for ListenConfig.ChannelWindow
	// and DialConfig.ChannelWindow, in bytes.
	DefaultChannelWindow = 1 << 20
)

const (
	// sctpReceiveBuffer is the SCTP association's receive window, shared by
	// all channels of a link.
	sctpReceiveBuffer = 8 << 20

	// ICE liveness: a keepalive every 250 ms while idle; a peer silent for
	// 1.2 s is disconnected and after 0.4 s more failed, which ends the
	// link. A relay that vanishes is noticed by its neighbours in about
	// 1.6 s, which leaves the client more than a second to build a new
	// circuit within 3 s of the loss; the price is that a path silent for
	// 1.6 s (some six keepalives lost in a row) is given up, and its
	// circuits are rebuilt.
	iceDisconnected = 1200 * time.Millisecond
	iceFailed       = 400 * time.Millisecond
	iceKeepalive    = 250 * time.Millisecond

	// sctpRTOMax caps the retransmission timeout (pion defaults to 60 s; the
	// link is declared dead after about 3 s of silence anyway).
	sctpRTOMax = 2 * time.Second
)

// sctpMTU is the largest SCTP packet a link sends, against pion's 1191:
// 18 % more payload per packet and per DTLS record, which cut the link's
// CPU per GiB by about a sixth (docs/PERFORMANCE.md). With DTLS's 37
// bytes, UDP and IPv6 a datagram is 1,485 bytes, inside a 1,500-byte path,
// with room for TURN's 4-byte channel header. A variable so benchmarks can
// compare sizes.
var sctpMTU uint32 = 1400

// newAPI builds the pion API for links whose ICE agents read from mux.
func newAPI(mux ice.UDPMux, logf logger.Logf) *webrtc.API {
	var se webrtc.SettingEngine
	se.LoggerFactory = pionLoggers{logf: logf}
	se.SetICEUDPMux(mux)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	// The mux lists the one address a link offers (see scopedMux); a
	// loopback address is among them only when the peer is on loopback.
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(iceDisconnected, iceFailed, iceKeepalive)
	se.DetachDataChannels()
	se.SetSCTPMaxReceiveBufferSize(sctpReceiveBuffer)
	se.SetSCTPMaxMessageSize(MaxMessageSize)
	se.SetSCTPRTOMax(sctpRTOMax)
	se.SetSCTPMTU(sctpMTU)
	// DTLS authenticates every packet; SCTP's CRC32c on top is redundant
	// work on the data path's bottleneck. Negotiated in SCTP INIT (RFC 9653).
	se.EnableSCTPZeroChecksum(true)
	return webrtc.NewAPI(webrtc.WithSettingEngine(se))
}
