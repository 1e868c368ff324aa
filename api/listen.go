package api

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// DefaultSocketMode is the socket's mode unless ServerConfig.Mode says
// otherwise: the daemon's user and the group may connect.
const DefaultSocketMode os.FileMode = 0o660

// staleProbeTimeout bounds the check whether a daemon still answers on an
// existing socket.
const staleProbeTimeout = time.Second

// Listen creates the unix socket at path (DefaultSocketPath if empty) for
// a Server, with mode cfg.Mode and group cfg.Group.
//
// The directory is created with mode 0755 if missing. An existing socket
// is replaced only if nothing answers on it (a daemon that crashed leaves
// one behind); if a daemon answers, or path is not a socket, Listen fails
// and leaves it alone. The socket is created under a temporary name,
// given its mode and group, then renamed into place, so it is never
// reachable with the wrong permissions. Closing the listener removes the
// socket if it is still the one Listen created.
func Listen(path string, cfg ServerConfig) (net.Listener, error) {
	if path == "" {
		path = DefaultSocketPath
	}
	mode := cfg.Mode
	if mode == 0 {
		mode = DefaultSocketMode
	}
	gid := -1
	if cfg.Group != "" {
		g, err := user.LookupGroup(cfg.Group)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: group %q: %w (create it with groupadd --system %s, or configure no group to allow only root)", path, cfg.Group, err, cfg.Group)
		}
		if gid, err = strconv.Atoi(g.Gid); err != nil {
			return nil, fmt.Errorf("listen on %s: group %q has non-numeric gid %q", path, cfg.Group, g.Gid)
		}
	}
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("listen on %s: %w", path, err)
		}
		// MkdirAll honours the umask; the group's users must reach the socket.
		if err := os.Chmod(dir, 0o755); err != nil {
			return nil, fmt.Errorf("listen on %s: %w", path, err)
		}
	}
	if err := removeStale(path); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}

	tmp := filepath.Join(dir, fmt.Sprintf(".%s.%d.tmp", filepath.Base(path), os.Getpid()))
	_ = os.Remove(tmp) // a leftover of an earlier run with the same pid
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	l.SetUnlinkOnClose(false)
	fail := func(err error) (net.Listener, error) {
		l.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return fail(err)
	}
	if gid >= 0 {
		if err := os.Chown(tmp, -1, gid); err != nil {
			return fail(err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fail(err)
	}
	return &socketListener{UnixListener: l, path: path, fi: fi}, nil
}

// removeStale removes the socket at path if no one answers on it.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket; refusing to replace it", path)
	}
	c, err := net.DialTimeout("unix", path, staleProbeTimeout)
	if err == nil {
		c.Close()
		return fmt.Errorf("another pexiad is already listening on %s", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("probe existing socket: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale socket: %w", err)
	}
	return nil
}

// socketListener removes its socket on Close unless another process has
// replaced it meanwhile.
type socketListener struct {
	*net.UnixListener
	path string
	fi   os.FileInfo
}

func (l *socketListener) Close() error {
	err := l.UnixListener.Close()
	if fi, serr := os.Lstat(l.path); serr == nil && os.SameFile(fi, l.fi) {
		if rerr := os.Remove(l.path); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}
