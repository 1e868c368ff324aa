//go:build windows

package proxy

import (
	"errors"

	"golang.org/x/sys/windows"
)

// classifyErrno sorts the socket errors a local dial can return.
func classifyErrno(err error) (failure, bool) {
	switch {
	case errors.Is(err, windows.WSAECONNREFUSED):
		return failRefused, true
	case errors.Is(err, windows.WSAENETUNREACH), errors.Is(err, windows.WSAENETDOWN):
		return failNetUnreachable, true
	case errors.Is(err, windows.WSAEHOSTUNREACH), errors.Is(err, windows.WSAEHOSTDOWN):
		return failHostUnreachable, true
	case errors.Is(err, windows.WSAETIMEDOUT):
		return failTimeout, true
	case errors.Is(err, windows.WSAEACCES):
		return failNotAllowed, true
	}
	return failGeneral, false
}
