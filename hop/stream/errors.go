package stream

import (
	"errors"
	"fmt"
)

var (
	// ErrCircuitClosed is wrapped by every error caused by the Mux being
	// closed (by Mux.Close, a send failure or a protocol violation); the
	// cause is wrapped as well.
	ErrCircuitClosed = errors.New("stream: circuit closed")
	// ErrProtocol is wrapped by errors about frames that break the
	// protocol.
	ErrProtocol = errors.New("stream: protocol violation")
	// ErrRefused is matched (errors.Is) by every *RefusedError.
	ErrRefused = errors.New("stream: open refused")
	// ErrReset is matched (errors.Is) by every *ResetError.
	ErrReset = errors.New("stream: reset")
	// ErrWriteClosed is returned by Write after CloseWrite.
	ErrWriteClosed = errors.New("stream: write side closed")
	// ErrDatagramTooLarge is returned by Write on a udp flow when the
	// datagram does not fit in one frame (MaxFrame - HeaderLen bytes).
	ErrDatagramTooLarge = errors.New("stream: datagram too large")
	// ErrTooManyStreams is returned by Dial when Config.MaxStreams streams
	// are open, or when the stream IDs are exhausted.
	ErrTooManyStreams = errors.New("stream: too many streams")
	// ErrWrongRole is returned by Dial on a server Mux and by Accept on a
	// client Mux.
	ErrWrongRole = errors.New("stream: operation not allowed for this role")
	// ErrAnswered is returned when a Request is accepted or refused twice.
	ErrAnswered = errors.New("stream: request already answered")
	// ErrNotSupported is returned by operations that the stream kind does
	// not have (CloseWrite on a udp flow).
	ErrNotSupported = errors.New("stream: operation not supported by this stream kind")
)

// RefusedError is returned by Dial when the server answered REFUSED.
type RefusedError struct {
	Reason Reason
}

func (e *RefusedError) Error() string { return "stream: open refused: " + e.Reason.String() }

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// RefusalReason makes *RefusedError a [reason.Refusal], so code that must not
// import this package finds the reason with [reason.Refused].
func (e *RefusedError) RefusalReason() Reason { return e.Reason }

// ResetError is returned by stream operations after the stream was reset.
// Remote says whether the peer sent the RST; a local reset (Reset, a Close
// that discarded data, a canceled Dial) has Remote false.
type ResetError struct {
	Reason Reason
	Remote bool
}

func (e *ResetError) Error() string {
	if e.Remote {
		return "stream: reset by peer: " + e.Reason.String()
	}
	return "stream: reset: " + e.Reason.String()
}

// Is makes errors.Is(err, ErrReset) true.
func (e *ResetError) Is(target error) bool { return target == ErrReset }

func circuitClosed(cause error) error {
	if cause == nil || errors.Is(cause, ErrCircuitClosed) {
		if cause == nil {
			return ErrCircuitClosed
		}
		return cause
	}
	return fmt.Errorf("%w: %w", ErrCircuitClosed, cause)
}
