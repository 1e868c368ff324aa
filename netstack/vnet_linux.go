package netstack

import (
	"os"

	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/tun"
)

// vnetFile returns the device file of dev if dev is the wireguard TUN
// with the virtio-net header on, after switching UDP segmentation offload
// off on it; nil otherwise. A wrapped device is not unwrapped: whatever
// the wrapper does must keep happening.
func vnetFile(dev tun.Device, logf func(string, ...any)) *os.File {
	nt, ok := dev.(*tun.NativeTun)
	if !ok {
		return nil
	}
	f := nt.File()
	if f == nil {
		return nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return nil
	}
	var flags uint16
	var ioErr error
	// Control, unlike Fd, leaves the file in non-blocking mode, so Close
	// still ends a blocked Read.
	err = rc.Control(func(fd uintptr) {
		var ifr *unix.Ifreq
		ifr, ioErr = unix.NewIfreq("")
		if ioErr != nil {
			return
		}
		if ioErr = unix.IoctlIfreq(int(fd), unix.TUNGETIFF, ifr); ioErr != nil {
			return
		}
		flags = ifr.Uint16()
		if flags&unix.IFF_VNET_HDR == 0 {
			return
		}
		ioErr = unix.IoctlSetInt(int(fd), unix.TUNSETOFFLOAD, unix.TUN_F_CSUM|unix.TUN_F_TSO4|unix.TUN_F_TSO6)
	})
	if err == nil {
		err = ioErr
	}
	if err != nil {
		logf("netstack: tun offload setup: %v; using the generic path", err)
		return nil
	}
	if flags&unix.IFF_VNET_HDR == 0 {
		return nil
	}
	return f
}
