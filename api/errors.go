package api

import (
	"context"
	"errors"
	"net/http"
)

// Sentinels shared by the daemon and its clients. A Backend wraps one
// (fmt.Errorf("%w: …", ErrInvalid)) to choose the HTTP status; a Client's
// errors match the same sentinel with errors.Is.
var (
	// ErrInvalid: the request is malformed or a value is out of range
	// (400, code "invalid"). Settings.Validate and ConnectRequest.Validate
	// return it, and the server for bad JSON.
	ErrInvalid = errors.New("invalid")
	// ErrNotConnected: the request needs a tunnel and there is none, e.g.
	// GET /v1/circuit while disconnected (409, code "not_connected").
	ErrNotConnected = errors.New("not connected")
	// ErrBusy: the daemon is in the middle of something that conflicts
	// with the request (409, code "busy").
	ErrBusy = errors.New("busy")
	// ErrUnavailable: a part the request needs is not ready, such as the
	// chain or the wallet (503, code "unavailable").
	ErrUnavailable = errors.New("unavailable")
	// ErrForbidden: the server refused the caller's peer credentials (403,
	// code "forbidden").
	ErrForbidden = errors.New("forbidden")
	// ErrNotRunning: the Client found no daemon at the socket path (no
	// socket, or a stale one nobody listens on).
	ErrNotRunning = errors.New("pexiad is not running")
)

// Error is a failed request as a Client reports it: the daemon's message,
// the HTTP status and a stable code. Codes: "invalid", "not_connected",
// "busy", "unavailable", "forbidden", "timeout", "not_found",
// "method_not_allowed", "too_large", "internal".
type Error struct {
	Status  int
	Code    string
	Message string
}

// Error returns the daemon's message.
func (e *Error) Error() string { return e.Message }

// Is matches the sentinel of e's code: ErrInvalid for "invalid" (and for
// "too_large"), context.DeadlineExceeded for "timeout", and so on.
func (e *Error) Is(target error) bool {
	s, ok := codeSentinels[e.Code]
	return ok && s == target
}

var codeSentinels = map[string]error{
	"invalid":       ErrInvalid,
	"too_large":     ErrInvalid,
	"not_connected": ErrNotConnected,
	"busy":          ErrBusy,
	"unavailable":   ErrUnavailable,
	"forbidden":     ErrForbidden,
	"timeout":       context.DeadlineExceeded,
}

// errorBody is the JSON body of every failed request.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// classify picks the HTTP status and code for an error from a Backend.
func classify(err error) (status int, code string) {
	var e *Error
	switch {
	case errors.As(err, &e) && e.Status != 0 && e.Code != "":
		return e.Status, e.Code
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest, "invalid"
	case errors.Is(err, ErrNotConnected):
		return http.StatusConflict, "not_connected"
	case errors.Is(err, ErrBusy):
		return http.StatusConflict, "busy"
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable, "unavailable"
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "timeout"
	default:
		return http.StatusInternalServerError, "internal"
	}
}
