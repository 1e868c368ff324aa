package relay_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/pexia-network/pexia/hop"
)

// The traffic of the node tests: the same sink and transfer as hop's
// circuit tests (hop/circuit_test.go).

// sinkServer reads "n\n" and n bytes, answers their SHA-256, then sends n
// bytes of its own (deterministic from n).
func sinkServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var n int64
				if _, err := fmt.Fscanf(c, "%d\n", &n); err != nil {
					return
				}
				h := sha256.New()
				if _, err := io.CopyN(h, c, n); err != nil {
					return
				}
				c.Write(h.Sum(nil))
				io.CopyN(c, newPattern(n), n)
			}()
		}
	}()
	return ln.Addr().String()
}

// pattern is a deterministic byte source.
type pattern struct{ i int64 }

func newPattern(seed int64) *pattern { return &pattern{i: seed} }

func (p *pattern) Read(b []byte) (int, error) {
	for j := range b {
		b[j] = byte(p.i*2654435761>>13) ^ byte(p.i)
		p.i++
	}
	return len(b), nil
}

// transfer sends n bytes up and reads n bytes down on one stream, checking both.
func transfer(ctx context.Context, c *hop.Circuit, dst string, n int64) error {
	conn, err := c.Dial(ctx, "tcp", dst)
	if err != nil {
		return err
	}
	defer conn.Close()
	go func() {
		fmt.Fprintf(conn, "%d\n", n)
		io.CopyN(conn, newPattern(n+1), n)
	}()
	want := sha256.New()
	io.CopyN(want, newPattern(n+1), n)
	got := make([]byte, sha256.Size)
	if _, err := io.ReadFull(conn, got); err != nil {
		return fmt.Errorf("read hash: %w", err)
	}
	if !bytes.Equal(got, want.Sum(nil)) {
		return fmt.Errorf("upload corrupted")
	}
	h1, h2 := sha256.New(), sha256.New()
	if _, err := io.CopyN(h1, conn, n); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	io.CopyN(h2, newPattern(n), n)
	if !bytes.Equal(h1.Sum(nil), h2.Sum(nil)) {
		return fmt.Errorf("download corrupted")
	}
	return nil
}
