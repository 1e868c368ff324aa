// Package worldtest starts a world (package world) for the tests of the
// API's clients: the binaries built from the module, a devnet chain with
// staked nodes in network namespaces, and pexiad in proxy mode in the
// client host, all stopped when the test ends. It needs root; a test
// without it is skipped.
package worldtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/world"
)

// Start builds the world's binaries from the module at root and starts a
// world with options o (its binaries, directory and log are the test's).
// On failure the test's log gets the tail of every process's log.
func Start(t testing.TB, root string, o world.Options) *world.World {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the world runs its nodes in network namespaces")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := world.Build(ctx, root, dir); err != nil {
		t.Fatal(err)
	}
	o.Bin, o.Dir, o.Logf = dir, filepath.Join(dir, "world"), t.Logf
	w, err := world.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := filepath.Glob(filepath.Join(o.Dir, "*.log"))
			for _, l := range logs {
				b, _ := os.ReadFile(l)
				if len(b) > 4000 {
					b = b[len(b)-4000:]
				}
				t.Logf("---- %s\n%s", filepath.Base(l), b)
			}
		}
		w.Close()
		if err := w.CheckMachine(); err != nil {
			t.Error(err)
		}
	})
	return w
}

// ProxyDaemon starts pexiad in proxy mode (a SOCKS5 and HTTP proxy on a
// free loopback port, no TUN) in w's client host, with extra arguments,
// and waits for its API.
func ProxyDaemon(t testing.TB, w *world.World, extra ...string) *world.Daemon {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := w.StartDaemon(ctx, "", append([]string{"-mode", "proxy", "-proxy", "127.0.0.1:0"}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
