//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var earnedRE = regexp.MustCompile(`earned ([0-9]+\.[0-9]+) tokens`)

// TestDemo runs `make demo`'s script once through with freshly built
// binaries, in both its forms. On loopback (any user): a devnet, three
// registered nodes, `pexia fetch` through a 3-hop circuit, and pexiad as a
// local SOCKS5/HTTP proxy. As root: the world in network namespaces with
// the client host's whole traffic through pexiad's TUN.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	for _, b := range []string{"pexia-devnet", "pexia-node", "pexia", "pexiad"} {
		buildBinary(t, dir, b)
	}
	run := func(t *testing.T, env []string, wants []string) {
		cmd := exec.Command("../scripts/demo.sh")
		cmd.Env = append(append(os.Environ(), "BIN="+dir, "DEVNET_DIR="+t.TempDir(), "DEMO_ONESHOT=1", "WEB=127.0.0.1:0"), env...)
		out, err := cmd.CombinedOutput()
		t.Logf("%s", out)
		if err != nil {
			t.Fatalf("demo failed: %v", err)
		}
		for _, want := range wants {
			if !strings.Contains(string(out), want) {
				t.Fatalf("demo output lacks %q", want)
			}
		}
		if strings.Contains(string(out), "not every winner is claimed yet") {
			t.Fatal("the demo went on before the nodes had claimed their winners")
		}
		// The nodes were paid on chain for what they carried: 64 MiB and
		// more through 3 hops at 0.1 or more per GB, in tickets of face
		// 0.001, is 20 or more expected wins (P(none) < e^-20).
		earned := earnedRE.FindAllStringSubmatch(string(out), -1)
		if len(earned) < 3 {
			t.Fatalf("demo shows %d nodes' earnings, want 3 or more", len(earned))
		}
		sum := 0.0
		for _, m := range earned {
			v, err := strconv.ParseFloat(m[1], 64)
			if err != nil {
				t.Fatal(err)
			}
			sum += v
		}
		if sum <= 0 {
			t.Fatal("no node earned anything on chain")
		}
		t.Logf("the nodes earned %.6f tokens on chain", sum)
	}
	t.Run("loopback", func(t *testing.T) {
		run(t, []string{"DEMO_LOOPBACK=1", "PROXY=127.0.0.1:11081"}, []string{"circuit built", "200 OK, 67108864 bytes", "earned",
			"you are 127.0.0.1:", "proxy without credentials: refused", "proxy: 16777216 bytes"})
	})
	t.Run("namespaces", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("the namespace demo needs root")
		}
		run(t, nil, []string{"connected in", "67108864 bytes at", "earned"})
	})
}
