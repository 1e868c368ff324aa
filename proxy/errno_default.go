//go:build !unix && !windows

package proxy

// classifyErrno knows no socket errors on this platform; classify falls
// back to timeouts and name errors.
func classifyErrno(err error) (failure, bool) { return failGeneral, false }
