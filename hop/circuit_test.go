package hop_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/internal/testutil"
)

// transfer sends n bytes up and reads n bytes down on one stream, checking both.
func transfer(ctx context.Context, c *hop.Circuit, dst string, n int64) error {
	conn, err := c.Dial(ctx, "tcp", dst)
	if err != nil {
		return err
	}
	defer conn.Close()
	return testutil.CheckTransfer(conn, n)
}

func TestCircuits(t *testing.T) {
	dst := testutil.Transfer(t, "127.0.0.1:0").Addr
	for _, hops := range []int{1, 3, 5} {
		t.Run(fmt.Sprintf("%dhop", hops), func(t *testing.T) {
			nodes, infos := hoptest.StartCircuit(t, hops)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			start := time.Now()
			c, err := hop.Build(ctx, infos, hop.BuildConfig{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			t.Logf("built %d-hop circuit in %v", hops, time.Since(start).Round(time.Millisecond))

			const streams, size = 8, 1 << 20
			errs := make(chan error, streams)
			for i := 0; i < streams; i++ {
				go func() { errs <- transfer(ctx, c, dst, size) }()
			}
			for i := 0; i < streams; i++ {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}

			// What each hop learned: the first hop (of several) only ever
			// recognized EXTEND, never a stream or its destination.
			if hops > 1 {
				for _, s := range nodes[0].Seen() {
					if s.Cmd != onion.RelayExtend {
						t.Fatalf("first hop recognized %v", s.Cmd)
					}
					if strings.Contains(string(s.Payload), dst) {
						t.Fatal("first hop saw the destination")
					}
				}
			}
		})
	}
}
