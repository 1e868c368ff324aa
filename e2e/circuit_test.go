//go:build e2e

package e2e

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/internal/testutil"
)

func digest(seed int64, n int64) []byte {
	h := sha256.New()
	io.CopyN(h, testutil.Pattern(seed), n)
	return h.Sum(nil)
}

// server: reads "seed n\n", then n bytes (answering their SHA-256 once
// read), while sending n bytes of stream seed+1.
func hashServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return testutil.Serve(t, ln, func(c net.Conn) {
		var seed, n int64
		if _, err := fmt.Fscanf(c, "%d %d\n", &seed, &n); err != nil {
			return
		}
		done := make(chan struct{})
		go func() {
			io.CopyN(c, testutil.Pattern(seed+1), n)
			close(done)
		}()
		h := sha256.New()
		io.CopyN(h, c, n)
		<-done
		c.Write(h.Sum(nil))
	}).Addr
}

// TestCircuit100MiB moves 100 MiB each way through 1-, 3- and 5-hop circuits
// of in-process nodes on loopback, over 16 parallel streams, and checks
// every byte.
func TestCircuit100MiB(t *testing.T) {
	dst := hashServer(t)
	for _, hops := range []int{1, 3, 5} {
		t.Run(fmt.Sprintf("%dhop", hops), func(t *testing.T) {
			nodes, infos, err := hoptest.Circuit(hops)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				for _, n := range nodes {
					n.Close()
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			c, err := hop.Build(ctx, infos, hop.BuildConfig{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			const streams = 16
			const per = (100 << 20) / streams
			start := time.Now()
			errs := make(chan error, streams)
			for i := 0; i < streams; i++ {
				go func(seed int64) {
					errs <- func() error {
						conn, err := c.Dial(ctx, "tcp", dst)
						if err != nil {
							return err
						}
						defer conn.Close()
						fmt.Fprintf(conn, "%d %d\n", seed, per)
						go io.CopyN(conn, testutil.Pattern(seed), per)
						h := sha256.New()
						if _, err := io.CopyN(h, conn, per); err != nil {
							return fmt.Errorf("download: %w", err)
						}
						if string(h.Sum(nil)) != string(digest(seed+1, per)) {
							return fmt.Errorf("stream %d: download corrupted", seed)
						}
						up := make([]byte, sha256.Size)
						if _, err := io.ReadFull(conn, up); err != nil {
							return fmt.Errorf("upload hash: %w", err)
						}
						if string(up) != string(digest(seed, per)) {
							return fmt.Errorf("stream %d: upload corrupted", seed)
						}
						return nil
					}()
				}(int64(1000*i + 7))
			}
			for i := 0; i < streams; i++ {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			el := time.Since(start)
			t.Logf("%d hops: 100 MiB each way in %v (%.0f Mbit/s both directions)", hops, el.Round(time.Millisecond), 2*100*8*1.048576/el.Seconds())
		})
	}
}
