package proxy

import (
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/pexia-network/pexia/internal/reason"
)

var (
	// ErrServerClosed is returned by Serve, ServeSOCKS and ServeHTTP after
	// Close.
	ErrServerClosed = errors.New("proxy: server closed")

	// ErrNotAllowed is for Dialers to wrap when a rule forbids a
	// destination; the client gets SOCKS reply 0x02 or HTTP 403.
	ErrNotAllowed = errors.New("proxy: destination not allowed")
)

// failure is the kind of a dial error, as far as a client can act on it.
type failure uint8

const (
	failGeneral failure = iota
	failNotAllowed
	failNetUnreachable
	failHostUnreachable
	failRefused
	failTimeout
)

// classify sorts a dial error into a failure kind.
func classify(err error) failure {
	if errors.Is(err, ErrNotAllowed) {
		return failNotAllowed
	}
	if r, ok := reason.Refused(err); ok {
		return classifyReason(r)
	}
	if f, ok := classifyErrno(err); ok {
		return f
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return failHostUnreachable
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return failTimeout
	}
	return failGeneral
}

// classifyReason sorts the reason an exit gave for refusing a stream.
func classifyReason(r reason.Reason) failure {
	switch r {
	case reason.Policy:
		return failNotAllowed
	case reason.ConnectFailed, reason.ConnReset:
		return failRefused
	case reason.Timeout:
		return failTimeout
	case reason.DNS, reason.Unreachable:
		return failHostUnreachable
	default:
		return failGeneral
	}
}

// socksCode is the RFC 1928 reply code for f.
func (f failure) socksCode() byte {
	switch f {
	case failNotAllowed:
		return repNotAllowed
	case failNetUnreachable:
		return repNetworkUnreachable
	case failHostUnreachable:
		return repHostUnreachable
	case failRefused:
		return repConnectionRefused
	case failTimeout:
		return repTTLExpired
	default:
		return repGeneralFailure
	}
}

// httpStatus is the status an HTTP proxy answers for f.
func (f failure) httpStatus() int {
	switch f {
	case failNotAllowed:
		return http.StatusForbidden
	case failTimeout:
		return http.StatusGatewayTimeout
	default:
		return http.StatusBadGateway
	}
}
