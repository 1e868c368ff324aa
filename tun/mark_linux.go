package tun

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

func setMark(c syscall.RawConn, mark uint32) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK, int(mark))
	}); err != nil {
		return fmt.Errorf("set fwmark: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("set fwmark %#x: %w", mark, serr)
	}
	return nil
}
