package relay_test

import (
	"context"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/internal/netlab"
	"github.com/pexia-network/pexia/internal/testutil"
)

// The traffic of the node tests: the same sink and transfer as hop's
// circuit tests (hop/circuit_test.go).

// transfer sends n bytes up and reads n bytes down on one stream, checking both.
func transfer(ctx context.Context, c *hop.Circuit, dst string, n int64) error {
	conn, err := c.Dial(ctx, "tcp", dst)
	if err != nil {
		return err
	}
	defer conn.Close()
	return testutil.CheckTransfer(conn, n)
}

// exitLab makes a lab (needs root; the test is skipped without) of an
// exit host with a public address of its own, 203.0.113.7 on its
// interface, next to a "web" host that owns prefixes. The lab is removed
// when the test ends.
func exitLab(t *testing.T, name string, prefixes ...string) (lab *netlab.Lab, exit, web *netlab.Host) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	lab, err := netlab.New(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lab.Close() })
	if exit, err = lab.Host("exit"); err != nil {
		t.Fatal(err)
	}
	if web, err = lab.Host("web"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exit.Command(ctx, "ip", "addr", "add", "203.0.113.7/32", "dev", "eth0").CombinedOutput(); err != nil {
		t.Fatalf("add the exit's public address: %v: %s", err, out)
	}
	for _, p := range prefixes {
		if err := web.Announce(netip.MustParsePrefix(p)); err != nil {
			t.Fatal(err)
		}
	}
	return lab, exit, web
}
