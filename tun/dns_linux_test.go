package tun

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A resolver file that is a bind mount, as in containers and under
// `ip netns exec`, cannot be renamed over; Set and Restore must still work.
// The mount lives in a private mount namespace of one thread, so the host
// never sees it.
func TestDNSFileOnMountPoint(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to bind-mount")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "resolv.conf")
	src := filepath.Join(dir, "netns-resolv.conf")
	os.WriteFile(path, []byte("host\n"), 0o644)
	const orig = "nameserver 192.168.77.1\n"
	os.WriteFile(src, []byte(orig), 0o644)

	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread and its mount namespace die with the
		// goroutine.
		runtime.LockOSThread()
		errc <- func() error {
			if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
				return fmt.Errorf("unshare: %w", err)
			}
			if err := unix.Mount("", "/", "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
				return fmt.Errorf("make private: %w", err)
			}
			if err := unix.Mount(src, path, "", unix.MS_BIND, ""); err != nil {
				return fmt.Errorf("bind: %w", err)
			}
			d := &DNS{Mode: DNSFile, ResolvConf: path}
			if err := d.Set(t.Context(), DefaultName, testServers); err != nil {
				return fmt.Errorf("Set: %w", err)
			}
			if got, _ := os.ReadFile(path); !strings.Contains(string(got), "nameserver "+DNS4.String()) {
				return fmt.Errorf("after Set the file reads %q", got)
			}
			if err := d.Restore(t.Context()); err != nil {
				return fmt.Errorf("Restore: %w", err)
			}
			if got, _ := os.ReadFile(path); string(got) != orig {
				return fmt.Errorf("after Restore the file reads %q; want %q", got, orig)
			}
			return nil
		}()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "host\n" {
		t.Errorf("the host's view of the file changed: %q", got)
	}
}
