package tun

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Network namespaces. Every operation takes an optional namespace path; the
// empty path means the namespace of the calling thread, which for the daemon
// is the one it was started in. Netlink and nftables sockets are opened
// directly inside the target namespace (they stay bound to it whatever thread
// later uses them). Only the TUN clone device and the ioctls wireguard-go
// issues by interface name need the calling thread itself to be in the
// namespace; inNetNS runs them on a thread of their own.

// errNetNSGone reports that a namespace recorded in a journal no longer
// exists, so nothing inside it can be left over.
var errNetNSGone = errors.New("network namespace no longer exists")

// openNetNS returns a handle for path, or netns.None() for the caller's own.
func openNetNS(path string) (netns.NsHandle, error) {
	if path == "" {
		return netns.None(), nil
	}
	h, err := netns.GetFromPath(path)
	if errors.Is(err, fs.ErrNotExist) {
		return netns.None(), fmt.Errorf("netns %s: %w", path, errNetNSGone)
	}
	if err != nil {
		return netns.None(), fmt.Errorf("netns %s: %w", path, err)
	}
	return h, nil
}

// netlinkHandle opens a rtnetlink handle inside the namespace at path.
func netlinkHandle(path string) (*netlink.Handle, error) {
	if path == "" {
		h, err := netlink.NewHandle()
		if err != nil {
			return nil, fmt.Errorf("netlink: %w", err)
		}
		return h, nil
	}
	ns, err := openNetNS(path)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("netlink in %s: %w", path, err)
	}
	return h, nil
}

// inNetNS runs fn on a dedicated OS thread that has entered the namespace at
// path. The thread is never handed back to the Go scheduler: the goroutine
// exits while still locked, so the runtime discards the thread and no other
// goroutine can ever run in the wrong namespace.
func inNetNS(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	ns, err := openNetNS(path)
	if err != nil {
		return err
	}
	defer ns.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: see above.
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("enter netns %s: %w", path, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}
