package netstack

import (
	"os"

	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/tun"
)

// maxUnwrap bounds how many wrappers vnetFile looks through.
const maxUnwrap = 8

// vnetFile returns the device file of dev if dev is the wireguard TUN
// with the virtio-net header on, after switching UDP segmentation offload
// off on it; nil otherwise. A wrapper is looked through only if it says,
// with Unwrap, that its Read and Write are the wrapped device's.
func vnetFile(dev tun.Device, logf func(string, ...any)) *os.File {
	var nt *tun.NativeTun
	for range maxUnwrap {
		if n, ok := dev.(*tun.NativeTun); ok {
			nt = n
			break
		}
		u, ok := dev.(interface{ Unwrap() tun.Device })
		if !ok {
			return nil
		}
		dev = u.Unwrap()
	}
	if nt == nil {
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
		logf("tun offload setup: %v; using the generic path", err)
		return nil
	}
	if flags&unix.IFF_VNET_HDR == 0 {
		return nil
	}
	return f
}
