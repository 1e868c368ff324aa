//go:build e2e

package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/world"
)

// TestSplitTunnel runs three copies of curl in the client host with the
// kill switch on: with rules added while connected, the internet host sees
// the client's own address for the one a direct rule names, the exit's
// for the others, and the one a block rule names is refused at once; a
// domain rule sends a name's flows direct; pexia rules test explains it.
func TestSplitTunnel(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	d, cl, exit := startConnected(t, w, true, "")

	curlPath, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copyExe := func(name string) string {
		b, err := os.ReadFile(curlPath)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
		p, err = filepath.EvalSymlinks(p)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	direct, blocked := copyExe("curl-direct"), copyExe("curl-blocked")
	run := func(bin string, args ...string) (string, error) {
		cctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		out, err := w.Client.Command(cctx, bin, append([]string{"-sS", "--fail", "--max-time", "60"}, args...)...).CombinedOutput()
		return string(out), err
	}
	const byAddr = "http://203.0.113.10/ip"
	sees := func(bin, url, want, why string) {
		t.Helper()
		out, err := run(bin, "-4", url)
		if err != nil || out != want {
			t.Fatalf("%s %s: %v, server saw %q; want %s (%s)", filepath.Base(bin), url, err, out, want, why)
		}
	}
	// No rule yet: every copy through the circuit.
	sees(direct, byAddr, exit.Addr4().String(), "no rules: the exit")

	// Rules added while connected apply to the next flow.
	if out, err := d.CLI(ctx, "rules", "add", "-name", "direct-curl", "direct", "exe="+direct); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("pexia rules add:\n%s", out)
	}
	if _, err := d.CLI(ctx, "rules", "add", "-name", "blocked-curl", "block", "exe="+blocked); err != nil {
		t.Fatal(err)
	}
	sees(direct, byAddr, w.Client.Addr4().String(), "direct rule: the client's own address")
	sees(curlPath, byAddr, exit.Addr4().String(), "no rule for it: the exit")
	t0 := time.Now()
	out, err := run(blocked, byAddr)
	var ee *exec.ExitError
	// curl's exit 7: it could not connect (the reset of the refused
	// SYN), which the time below tells from a timeout.
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Fatalf("blocked curl: %v: %q; want exit 7, could not connect", err, out)
	}
	if d := time.Since(t0); d > 10*time.Second {
		t.Fatalf("the blocked curl took %v to fail: a timeout, not a refusal", d)
	}
	t.Logf("blocked curl: refused after %v: %s", time.Since(t0).Round(time.Millisecond), strings.TrimSpace(out))

	// A domain rule: the name resolves through the tunnel, and the next
	// flow to its address is matched by that name.
	if _, err := d.CLI(ctx, "rules", "add", "-at", "1", "-name", "web", "direct", "domain="+world.WebName); err != nil {
		t.Fatal(err)
	}
	sees(curlPath, "http://"+world.WebName+"/ip", w.Client.Addr4().String(), "domain rule: the client's own address")

	x, err := d.CLI(ctx, "rules", "test", "tcp", "203.0.113.10:80", "exe="+blocked)
	if err != nil || !strings.Contains(x, `YES rule 1 "web" -> direct: every condition holds: domain `+world.WebName) {
		t.Fatalf("pexia rules test: %v\n%s", err, x)
	}
	t.Logf("pexia rules test:\n%s", x)
	if _, err := cl.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
}
