// Package reason holds the codes a stream's far end gives for refusing or
// resetting it (the one-byte reason of the REFUSED and RST frames, see
// hop/stream). It is a leaf: it imports no other package of the module, so
// the circuit code that sends the codes (hop/stream) and the local proxy that
// turns them into SOCKS and HTTP answers (proxy) share them without the
// proxy depending on the circuit code.
package reason

import (
	"errors"
	"strconv"
)

// Reason says why a stream was refused or reset. It is one byte on the wire;
// values not listed here are carried through unchanged.
type Reason uint8

// Reasons for REFUSED and RST.
const (
	Unspecified   Reason = 0  // no specific reason
	Closed        Reason = 1  // the stream was closed with data still flowing towards it
	Canceled      Reason = 2  // the opener gave up before the stream was opened
	Policy        Reason = 3  // refused by the exit policy
	ConnectFailed Reason = 4  // the destination refused the connection
	Timeout       Reason = 5  // connecting to the destination timed out
	DNS           Reason = 6  // the destination name did not resolve
	Unreachable   Reason = 7  // network or host unreachable
	Resources     Reason = 8  // too many streams, backlog full or out of resources
	Unsupported   Reason = 9  // stream kind not supported
	ConnReset     Reason = 10 // the destination reset the connection
	Protocol      Reason = 11 // the stream violated the protocol
	Internal      Reason = 12 // internal error
)

var names = [...]string{
	Unspecified:   "unspecified",
	Closed:        "closed",
	Canceled:      "canceled",
	Policy:        "refused by exit policy",
	ConnectFailed: "connection refused",
	Timeout:       "timeout",
	DNS:           "name resolution failed",
	Unreachable:   "unreachable",
	Resources:     "out of resources",
	Unsupported:   "unsupported",
	ConnReset:     "connection reset by destination",
	Protocol:      "protocol error",
	Internal:      "internal error",
}

// String describes the reason.
func (r Reason) String() string {
	if int(r) < len(names) {
		return names[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// Refusal is implemented by errors that stand for the far end refusing to
// open a stream (hop/stream's *RefusedError).
type Refusal interface {
	error
	RefusalReason() Reason
}

// Refused reports the reason of the first Refusal in err's chain, and
// whether there is one.
func Refused(err error) (Reason, bool) {
	var r Refusal
	if errors.As(err, &r) {
		return r.RefusalReason(), true
	}
	return 0, false
}
