package link

import (
	"errors"
	"fmt"

	"github.com/pion/webrtc/v4"
)

const (
	// maxSignalBytes bounds an offer or answer body. A complete SDP for one
	// application section with a few candidates is 1–2 KiB.
	maxSignalBytes = 64 << 10

	// maxCandidates bounds the candidates an offer may list. The node
	// checks only the one at the address the offer came from (see
	// keepCandidatesFrom), so an offer cannot turn it into a packet cannon.
	maxCandidates = 32
)

// signal is the JSON body of an offer or answer, the shape of the W3C
// RTCSessionDescriptionInit dictionary.
type signal struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

// parseSignal checks that s is a complete description of the given type
// for a data-channel-only session and converts it.
func parseSignal(s signal, want webrtc.SDPType) (webrtc.SessionDescription, error) {
	if webrtc.NewSDPType(s.Type) != want {
		return webrtc.SessionDescription{}, fmt.Errorf("type %q, want %q", s.Type, want)
	}
	desc := webrtc.SessionDescription{Type: want, SDP: s.SDP}
	parsed, err := desc.Unmarshal()
	if err != nil {
		return desc, fmt.Errorf("parse sdp: %w", err)
	}
	if len(parsed.MediaDescriptions) != 1 || parsed.MediaDescriptions[0].MediaName.Media != "application" {
		return desc, errors.New("sdp must have exactly one media section, of type application")
	}
	candidates := 0
	for _, a := range parsed.MediaDescriptions[0].Attributes {
		if a.Key == "candidate" {
			candidates++
		}
	}
	for _, a := range parsed.Attributes {
		if a.Key == "candidate" {
			candidates++
		}
	}
	switch {
	case candidates == 0:
		return desc, errors.New("sdp lists no candidates (trickle ICE is not supported)")
	case candidates > maxCandidates:
		return desc, fmt.Errorf("sdp lists %d candidates, more than %d", candidates, maxCandidates)
	}
	return desc, nil
}
