//go:build linux

package relay

import (
	"net"
	"syscall"
)

// setReadBuffer asks for a size-byte receive buffer on c's socket:
// SO_RCVBUFFORCE where the node may (CAP_NET_ADMIN), else SO_RCVBUF,
// which the kernel caps at net.core.rmem_max. Best effort: a conn without
// a socket is left as it is.
func setReadBuffer(c net.Conn, size int) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, size) != nil {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, size)
		}
	})
}
