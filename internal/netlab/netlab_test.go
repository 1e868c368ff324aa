package netlab

import (
	"os"
	"testing"

	"github.com/pexia-network/pexia/internal/testutil"
)

// testPrefix names every lab the tests make; TestMain clears what a
// crashed earlier run left behind.
const testPrefix = "netlabtest"

func TestMain(m *testing.M) {
	if os.Geteuid() == 0 {
		if err := Cleanup(testPrefix); err != nil {
			os.Stderr.WriteString("netlab: cleanup of earlier runs: " + err.Error() + "\n")
		}
	}
	testutil.VerifyTestMain(m)
}

// requireRoot skips tests that create network namespaces.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("netlab: needs root to create network namespaces; run as root")
	}
}

// newLab makes a lab with the named hosts, closed when the test ends.
func newTestLab(t *testing.T, names ...string) (*Lab, []*Host) {
	t.Helper()
	requireRoot(t)
	l, err := New(testPrefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("close lab: %v", err)
		}
	})
	hosts := make([]*Host, len(names))
	for i, n := range names {
		if hosts[i], err = l.Host(n); err != nil {
			t.Fatal(err)
		}
	}
	return l, hosts
}
