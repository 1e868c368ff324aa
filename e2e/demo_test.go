//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemo runs `make demo`'s script once through with freshly built
// binaries: a devnet, three registered nodes, and a client fetching pages
// through a 3-hop circuit picked from the on-chain directory.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	for _, b := range []string{"pexia-devnet", "pexia-node", "pexia"} {
		buildBinary(t, dir, b)
	}
	cmd := exec.Command("../scripts/demo.sh")
	cmd.Env = append(os.Environ(), "BIN="+dir, "DEVNET_DIR="+filepath.Join(dir, "world"), "DEMO_ONESHOT=1", "WEB=127.0.0.1:0")
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("demo failed: %v", err)
	}
	for _, want := range []string{"circuit built", "200 OK, 67108864 bytes", "earned", "you are 127.0.0.1:"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("demo output lacks %q", want)
		}
	}
}
