package netlab

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// prepareNSDir makes /run/netns a shared mount point, as ip-netns(8) does,
// so that a namespace unmounted here is also unmounted in the private mount
// namespaces "ip netns exec" gives its processes; without that, a long-lived
// process in one lab would keep other labs' deleted namespaces alive.
func prepareNSDir() error {
	if err := os.MkdirAll(nsDir, 0o755); err != nil {
		return fmt.Errorf("netlab: %w", err)
	}
	err := unix.Mount("", nsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if errors.Is(err, unix.EINVAL) {
		// Not a mount point yet: bind it onto itself, then share it.
		if err := unix.Mount(nsDir, nsDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("netlab: bind %s: %w", nsDir, err)
		}
		err = unix.Mount("", nsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	}
	if err != nil {
		return fmt.Errorf("netlab: share %s: %w", nsDir, err)
	}
	return nil
}

// createNS creates the named namespace and runs setup inside it (on a
// thread that returns to the caller's namespace afterwards).
func createNS(name string, setup func() error) (netns.NsHandle, error) {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return netns.None(), fmt.Errorf("current namespace: %w", err)
	}
	defer orig.Close()
	ns, err := netns.NewNamed(name)
	var setupErr error
	if err == nil {
		setupErr = setup()
	}
	if rerr := netns.Set(orig); rerr != nil {
		// This thread is stuck in another namespace: leave it locked so
		// the runtime discards it when the goroutine exits.
		return netns.None(), errors.Join(err, setupErr, fmt.Errorf("restore namespace: %w", rerr))
	}
	runtime.UnlockOSThread()
	if err != nil {
		if !errors.Is(err, fs.ErrExist) {
			// NewNamed created the mount point file before failing.
			_ = os.Remove(filepath.Join(nsDir, name))
		}
		return netns.None(), fmt.Errorf("create %s: %w", name, err)
	}
	if setupErr != nil {
		return netns.None(), errors.Join(setupErr, destroyNS(name, ns))
	}
	return ns, nil
}

// destroyNS kills the processes in the named namespace and removes it.
// h, when valid, is an open handle to it, closed here.
func destroyNS(name string, h netns.NsHandle) error {
	path := filepath.Join(nsDir, name)
	var id unix.Stat_t
	if err := unix.Stat(path, &id); err != nil {
		if h.IsOpen() {
			h.Close()
		}
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("stat %s: %w", path, err)
	}
	errs := []error{killProcessesIn(name, id)}
	if h.IsOpen() {
		h.Close()
	}
	if err := netns.DeleteNamed(name); err != nil && !errors.Is(err, unix.EINVAL) {
		errs = append(errs, fmt.Errorf("delete namespace %s: %w", name, err))
	} else if err != nil {
		_ = os.Remove(path) // a leftover file that is not a mount
	}
	// A process that was entering the namespace during the first pass is
	// in it now; the namespace lives until it dies.
	errs = append(errs, killProcessesIn(name, id))
	// Files "ip netns exec" shows the namespace's processes in /etc.
	if err := os.RemoveAll(filepath.Join(etcNetnsDir, name)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// killProcessesIn sends SIGKILL to every other process whose network
// namespace is the one identified by id (the stat of its nsfs file), like
// "ip netns pids".
func killProcessesIn(name string, id unix.Stat_t) error {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return fmt.Errorf("list processes: %w", err)
	}
	self := os.Getpid()
	var errs []error
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == self {
			continue
		}
		var st unix.Stat_t
		if unix.Stat("/proc/"+p.Name()+"/ns/net", &st) != nil {
			continue // exited, or a kernel thread
		}
		if st.Dev != id.Dev || st.Ino != id.Ino {
			continue
		}
		if err := unix.Kill(pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("kill %d in %s: %w", pid, name, err))
		}
	}
	return errors.Join(errs...)
}

// writeSysctls writes /proc/sys keys for the calling thread's namespace.
func writeSysctls(kv map[string]string) error {
	for k, v := range kv {
		if err := writeSysctl(k, v); err != nil {
			return err
		}
	}
	return nil
}

func writeSysctl(key, value string) error {
	if key == "" || strings.Contains(key, "/") || strings.Contains(key, "..") {
		return fmt.Errorf("invalid sysctl key %q", key)
	}
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	if err := os.WriteFile(path, []byte(value), 0); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", key, value, err)
	}
	return nil
}
