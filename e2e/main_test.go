//go:build e2e

package e2e

import (
	"testing"

	"github.com/pexia-network/pexia/internal/testutil"
)

// TestMain runs the tests and fails the run if a goroutine of the test
// process (in-process nodes, servers, log readers of the child processes)
// outlives them.
func TestMain(m *testing.M) {
	testutil.VerifyTestMain(m)
}
