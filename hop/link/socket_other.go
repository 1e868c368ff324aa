//go:build !linux

package link

import (
	"net"
	"syscall"

	"github.com/pexia-network/pexia/internal/logger"
)

// setMark does nothing: firewall marks are a Linux feature. Other systems
// keep the daemon's traffic out of the tunnel by other means.
func setMark(syscall.RawConn, int) error { return nil }

// setBuffers asks for size-byte kernel buffers; the system may cap them.
func setBuffers(conn *net.UDPConn, size int, logf logger.Logf) {
	if err := conn.SetReadBuffer(size); err != nil {
		logf("link: udp receive buffer: %v", err)
	}
	if err := conn.SetWriteBuffer(size); err != nil {
		logf("link: udp send buffer: %v", err)
	}
}
