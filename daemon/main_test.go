package daemon

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs the API child of the privilege tests when asked to, and
// otherwise the tests, failing them if any goroutine outlives them. Two
// kinds of goroutine of go-ethereum, which the test chains run on, are
// allowed to stay, as they outlive whoever started them by design:
//   - core.(*txSenderCacher).cache: the process-wide pool of workers that
//     recover transaction senders, started once (core.SenderCacher) and
//     never stopped;
//   - leveldb.(*DB).mpoolDrain: the in-memory node database of the p2p
//     server inside the simulated backend (contracts/chaintest), which
//     the backend's Close leaves open.
func TestMain(m *testing.M) {
	if op := os.Getenv(childOpEnv); op != "" {
		os.Exit(apiChild(os.Getenv("PEXIA_TEST_API_SOCKET"), op))
	}
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/ethereum/go-ethereum/core.(*txSenderCacher).cache"),
		goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"),
	)
}
