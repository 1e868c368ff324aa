//go:build !linux

package relay

import "net"

// setReadBuffer asks for a size-byte receive buffer on c's socket, which
// the system may cap. Best effort.
func setReadBuffer(c net.Conn, size int) {
	if rb, ok := c.(interface{ SetReadBuffer(int) error }); ok {
		_ = rb.SetReadBuffer(size)
	}
}
