//go:build unix

package api_test

import (
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/pexia-network/pexia/api"
)

// someGroup returns a group other than root's that exists on this machine.
func someGroup(t *testing.T) (string, uint32) {
	t.Helper()
	for _, name := range []string{"nogroup", "nobody", "daemon", "users"} {
		if g, err := user.LookupGroup(name); err == nil {
			gid, _ := strconv.ParseUint(g.Gid, 10, 32)
			return name, uint32(gid)
		}
	}
	t.Skip("no unprivileged group on this machine")
	return "", 0
}

func requireRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: " + why)
	}
}

func TestListenCreates(t *testing.T) {
	requireRoot(t, "gives the socket to another group")
	group, gid := someGroup(t)
	dir := filepath.Join(t.TempDir(), "run", "pexia")
	path := filepath.Join(dir, "pexiad.sock")
	old := syscall.Umask(0o077) // a strict umask must not make the directory unreachable
	l, err := api.Listen(path, api.ServerConfig{Group: group})
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	di, err := os.Stat(dir)
	if err != nil || di.Mode().Perm() != 0o755 {
		t.Fatalf("socket directory: %v, %v; want mode 0755", di.Mode(), err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode %v, want a socket with 0660", fi.Mode())
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Gid != gid || st.Uid != uint32(os.Getuid()) {
		t.Fatalf("socket owner %d:%d, want %d:%d", st.Uid, st.Gid, os.Getuid(), gid)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the socket (no temporary left)", len(entries))
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("dial the new socket: %v", err)
	}
	c.Close()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("socket still there after Close: %v", err)
	}
}

func TestListenMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	l, err := api.Listen(path, api.ServerConfig{Mode: 0o600})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if fi, _ := os.Lstat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestListenExisting(t *testing.T) {
	dir := t.TempDir()

	// A stale socket, as a crashed daemon leaves it, is replaced.
	stale := filepath.Join(dir, "stale.sock")
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ul.SetUnlinkOnClose(false)
	ul.Close()
	l, err := api.Listen(stale, api.ServerConfig{})
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	l.Close()

	// A socket a daemon still answers on is left alone.
	live := filepath.Join(dir, "live.sock")
	first, err := api.Listen(live, api.ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	go func() {
		for {
			c, err := first.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if _, err := api.Listen(live, api.ServerConfig{}); err == nil || !strings.Contains(err.Error(), "another pexiad is already listening on "+live) {
		t.Fatalf("second Listen on a live socket: %v", err)
	}
	if c, err := net.Dial("unix", live); err != nil {
		t.Fatalf("the live socket was disturbed: %v", err)
	} else {
		c.Close()
	}

	// Anything else at the path is never removed.
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("keep me"), 0o644)
	if _, err := api.Listen(file, api.ServerConfig{}); err == nil || !strings.Contains(err.Error(), "is not a socket; refusing to replace it") {
		t.Fatalf("Listen over a regular file: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Fatal("regular file was changed")
	}
}

func TestListenMissingGroup(t *testing.T) {
	_, err := api.Listen(filepath.Join(t.TempDir(), "s"), api.ServerConfig{Group: "pexia-no-such-group"})
	if err == nil || !strings.Contains(err.Error(), `group "pexia-no-such-group"`) || !strings.Contains(err.Error(), "groupadd --system pexia-no-such-group") {
		t.Fatalf("Listen with a missing group: %v", err)
	}
}

// TestListenCloseKeepsReplacement: closing an old listener must not remove
// a socket that another daemon has put in its place since.
func TestListenCloseKeepsReplacement(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	l, err := api.Listen(path, api.ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	other, err := api.Listen(path, api.ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	l.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("replacement socket removed by the old listener's Close: %v", err)
	}
}
