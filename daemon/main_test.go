package daemon

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/pexia-network/pexia/internal/testutil"
)

// TestMain runs the API child of the privilege tests when asked to, and
// otherwise the tests, failing them if any goroutine outlives them
// (testutil.VerifyTestMain, which already allows go-ethereum's
// process-wide transaction sender cache). One more goroutine of
// go-ethereum, which the test chains run on, is allowed to stay:
// leveldb.(*DB).mpoolDrain, of the in-memory node database of the p2p
// server inside the simulated backend (contracts/chaintest), which the
// backend's Close leaves open.
func TestMain(m *testing.M) {
	if op := os.Getenv(childOpEnv); op != "" {
		os.Exit(apiChild(os.Getenv("PEXIA_TEST_API_SOCKET"), op))
	}
	testutil.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"),
	)
}
