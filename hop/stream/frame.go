package stream

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/pexia-network/pexia/internal/icmperr"
	"github.com/pexia-network/pexia/internal/reason"
)

// Frame types. See the package documentation for the layout.
const (
	frameOpen     byte = 0x01
	frameOpened   byte = 0x02
	frameRefused  byte = 0x03
	frameData     byte = 0x04
	frameFin      byte = 0x05
	frameRst      byte = 0x06
	frameWindow   byte = 0x07
	frameDatagram byte = 0x08
	frameICMP     byte = 0x09
	frameDropped  byte = 0x0a
	// frameDatagrams carries several datagrams, of one flow or several,
	// in one frame (pack.go).
	frameDatagrams byte = 0x0b
)

const (
	// HeaderLen is the length of the header every frame starts with: type
	// (1 byte) and stream ID (4 bytes).
	HeaderLen = 5
	// MaxAddressLen is the longest destination address an OPEN can carry.
	MaxAddressLen = 255
	// MinFrame is the smallest Config.MaxFrame accepted: an OPEN with the
	// longest address (266 bytes) fits. The smallest circuit cells (512
	// bytes) carry 488-byte frames.
	MinFrame = 11 + MaxAddressLen
	// MaxFrameLimit is the largest Config.MaxFrame accepted.
	MaxFrameLimit = 1 << 20
	// maxCredit bounds any window or accumulated credit, so arithmetic on
	// credits cannot overflow and a peer cannot grant absurd windows.
	maxCredit = 1<<31 - 1
)

var frameNames = [...]string{
	frameOpen:      "OPEN",
	frameOpened:    "OPENED",
	frameRefused:   "REFUSED",
	frameData:      "DATA",
	frameFin:       "FIN",
	frameRst:       "RST",
	frameWindow:    "WINDOW",
	frameDatagram:  "DATAGRAM",
	frameICMP:      "ICMP",
	frameDropped:   "DROPPED",
	frameDatagrams: "DATAGRAMS",
}

func frameName(t byte) string {
	if int(t) < len(frameNames) && frameNames[t] != "" {
		return frameNames[t]
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// Kind is the kind of a stream, carried in OPEN.
type Kind uint8

// Stream kinds.
const (
	KindTCP  Kind = 1 // reliable byte stream to a TCP destination
	KindUDP  Kind = 2 // datagram flow to a UDP destination
	KindDNS  Kind = 3 // byte stream for name resolution at the exit
	KindICMP Kind = 4 // ICMP echo ("ping") flow to one IP address
)

// Network returns the network name of the kind as used by Dial and
// Request.Network: "tcp", "udp", "dns" or "icmp".
func (k Kind) Network() string {
	switch k {
	case KindTCP:
		return "tcp"
	case KindUDP:
		return "udp"
	case KindDNS:
		return "dns"
	case KindICMP:
		return "icmp"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// String returns the network name of the kind.
func (k Kind) String() string { return k.Network() }

func (k Kind) valid() bool { return k >= KindTCP && k <= KindICMP }

// datagram reports whether streams of the kind carry DATAGRAM frames
// rather than DATA.
func (k Kind) datagram() bool { return k == KindUDP || k == KindICMP }

// kindOf maps a Dial network name to a kind.
func kindOf(network string) (Kind, bool) {
	switch network {
	case "tcp", "tcp4", "tcp6":
		return KindTCP, true
	case "udp", "udp4", "udp6":
		return KindUDP, true
	case "dns":
		return KindDNS, true
	case "icmp":
		return KindICMP, true
	}
	return 0, false
}

// Reason says why a stream was refused or reset. It is one byte on the wire;
// values not listed here are carried through unchanged. The codes live in the
// leaf package internal/reason so that the local proxy can act on them
// without importing this package.
type Reason = reason.Reason

// Reasons for REFUSED and RST.
const (
	ReasonUnspecified   = reason.Unspecified   // no specific reason
	ReasonClosed        = reason.Closed        // the stream was closed with data still flowing towards it
	ReasonCanceled      = reason.Canceled      // the opener gave up before the stream was opened
	ReasonPolicy        = reason.Policy        // refused by the exit policy
	ReasonConnectFailed = reason.ConnectFailed // the destination refused the connection
	ReasonTimeout       = reason.Timeout       // connecting to the destination timed out
	ReasonDNS           = reason.DNS           // the destination name did not resolve
	ReasonUnreachable   = reason.Unreachable   // network or host unreachable
	ReasonResources     = reason.Resources     // too many streams, backlog full or out of resources
	ReasonUnsupported   = reason.Unsupported   // stream kind not supported
	ReasonConnReset     = reason.ConnReset     // the destination reset the connection
	ReasonProtocol      = reason.Protocol      // the stream violated the protocol
	ReasonInternal      = reason.Internal      // internal error
)

// frame is a parsed incoming frame. payload and addr alias the input.
type frame struct {
	typ     byte
	id      uint32
	kind    Kind
	reason  Reason
	window  uint32 // OPEN/OPENED window, WINDOW increment
	addr    []byte
	payload []byte
	icmp    icmperr.Error // ICMP
	dropped [2]uint64     // DROPPED: down, up
}

func protoErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}

// parseFrame checks the syntax of one frame. Semantics (direction, state,
// credit) are checked by the Mux.
func parseFrame(b []byte, maxFrame int) (frame, error) {
	var f frame
	if len(b) > maxFrame {
		return f, protoErr("frame of %d bytes exceeds the maximum of %d", len(b), maxFrame)
	}
	if len(b) < HeaderLen {
		return f, protoErr("frame of %d bytes is shorter than the header", len(b))
	}
	f.typ = b[0]
	f.id = binary.BigEndian.Uint32(b[1:5])
	body := b[HeaderLen:]
	want := -1 // exact body length, or -1 when variable
	switch f.typ {
	case frameOpen:
		if len(body) < 6 {
			return f, protoErr("short OPEN")
		}
		f.kind = Kind(body[0])
		f.window = binary.BigEndian.Uint32(body[1:5])
		n := int(body[5])
		if n == 0 {
			return f, protoErr("OPEN with empty address")
		}
		want = 6 + n
		if len(body) == want {
			f.addr = body[6:]
		}
	case frameOpened:
		want = 4
		if len(body) == want {
			f.window = binary.BigEndian.Uint32(body)
		}
	case frameRefused, frameRst:
		want = 1
		if len(body) == want {
			f.reason = Reason(body[0])
		}
	case frameData:
		if len(body) == 0 {
			return f, protoErr("empty DATA")
		}
		f.payload = body
	case frameFin:
		want = 0
	case frameWindow:
		want = 4
		if len(body) == want {
			f.window = binary.BigEndian.Uint32(body)
			if f.window == 0 {
				return f, protoErr("WINDOW with zero increment")
			}
		}
	case frameDatagram:
		f.payload = body
	case frameDatagrams:
		if f.id != 0 {
			return f, protoErr("DATAGRAMS on stream %d, want 0", f.id)
		}
		if err := eachPacked(body, func(uint32, []byte) {}); err != nil {
			return f, err
		}
		f.payload = body
	case frameICMP:
		want = icmpBodyLen
		if len(body) == want {
			f.icmp = icmperr.Error{Type: icmperr.Type(body[0]), Seq: binary.BigEndian.Uint16(body[1:3]), MTU: int(binary.BigEndian.Uint32(body[3:7]))}
		}
	case frameDropped:
		want = 16
		if len(body) == want {
			f.dropped = [2]uint64{binary.BigEndian.Uint64(body[0:8]), binary.BigEndian.Uint64(body[8:16])}
		}
	default:
		return f, protoErr("unknown frame type %d", f.typ)
	}
	if want >= 0 && len(body) != want {
		return f, protoErr("%s body of %d bytes, want %d", frameName(f.typ), len(body), want)
	}
	if f.window > maxCredit {
		return f, protoErr("%s window %d too large", frameName(f.typ), f.window)
	}
	return f, nil
}

// Encoders write into buf, which the caller sized to MaxFrame, and return
// the frame length.

func putHeader(buf []byte, typ byte, id uint32) {
	buf[0] = typ
	binary.BigEndian.PutUint32(buf[1:5], id)
}

func encodeOpen(buf []byte, id uint32, kind Kind, window uint32, addr string) int {
	putHeader(buf, frameOpen, id)
	buf[5] = byte(kind)
	binary.BigEndian.PutUint32(buf[6:10], window)
	buf[10] = byte(len(addr))
	return 11 + copy(buf[11:], addr)
}

func encodeU32(buf []byte, typ byte, id uint32, v uint32) int {
	putHeader(buf, typ, id)
	binary.BigEndian.PutUint32(buf[5:9], v)
	return 9
}

func encodeICMP(buf []byte, id uint32, e icmperr.Error) int {
	putHeader(buf, frameICMP, id)
	buf[5] = byte(e.Type)
	binary.BigEndian.PutUint16(buf[6:8], e.Seq)
	binary.BigEndian.PutUint32(buf[8:12], uint32(max(0, min(e.MTU, 1<<31-1))))
	return HeaderLen + icmpBodyLen
}

func encodeDropped(buf []byte, id uint32, down, up uint64) int {
	putHeader(buf, frameDropped, id)
	binary.BigEndian.PutUint64(buf[5:13], down)
	binary.BigEndian.PutUint64(buf[13:21], up)
	return 21
}

func encodeReason(buf []byte, typ byte, id uint32, r Reason) int {
	putHeader(buf, typ, id)
	buf[5] = byte(r)
	return 6
}
