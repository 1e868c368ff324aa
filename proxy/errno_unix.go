//go:build unix

package proxy

import (
	"errors"
	"syscall"
)

// classifyErrno sorts the socket errors a local dial can return.
func classifyErrno(err error) (failure, bool) {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return failRefused, true
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.ENETDOWN):
		return failNetUnreachable, true
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.EHOSTDOWN):
		return failHostUnreachable, true
	case errors.Is(err, syscall.ETIMEDOUT):
		return failTimeout, true
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return failNotAllowed, true
	}
	return failGeneral, false
}
