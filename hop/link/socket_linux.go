//go:build linux

package link

import (
	"fmt"
	"net"
	"syscall"

	"github.com/pexia-network/pexia/internal/logger"
)

// setMark sets SO_MARK (needs CAP_NET_ADMIN) so policy routing can send the
// socket's packets around the tunnel. A requested mark that cannot be set is
// an error: the traffic would loop into the tunnel.
func setMark(c syscall.RawConn, mark int) error {
	if mark == 0 {
		return nil
	}
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_MARK, mark)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("link: set SO_MARK %#x: %w", mark, serr)
	}
	return nil
}

// setBuffers asks for size-byte kernel buffers. The *FORCE options (root or
// CAP_NET_ADMIN) ignore net.core.rmem_max and wmem_max; without them the
// kernel caps the request silently, which is logged.
func setBuffers(conn *net.UDPConn, size int, logf logger.Logf) {
	rc, err := conn.SyscallConn()
	if err != nil {
		logf("link: udp socket buffers: %v", err)
		return
	}
	var rcv, snd int
	_ = rc.Control(func(fd uintptr) {
		s := int(fd)
		if syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, size) != nil {
			_ = syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUF, size)
		}
		if syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, size) != nil {
			_ = syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_SNDBUF, size)
		}
		// Linux reports twice the requested size (bookkeeping overhead).
		rcv, _ = syscall.GetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		snd, _ = syscall.GetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_SNDBUF)
	})
	if rcv < size || snd < size {
		logf("link: udp socket buffers capped by the kernel (receive %d, send %d bytes, wanted %d); raise net.core.rmem_max and wmem_max or run with CAP_NET_ADMIN",
			rcv/2, snd/2, size)
	}
}
