package relay_test

import (
	"context"

	"github.com/pexia-network/pexia/hop"
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
