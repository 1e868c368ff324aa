package testutil

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"testing"
)

// Pattern is a deterministic byte source: the same seed gives the same
// endless stream, so both ends of a transfer can check it without storing
// it.
func Pattern(seed int64) io.Reader { return &pattern{i: seed} }

type pattern struct{ i int64 }

func (p *pattern) Read(b []byte) (int, error) {
	for j := range b {
		b[j] = byte(p.i*2654435761>>13) ^ byte(p.i)
		p.i++
	}
	return len(b), nil
}

// Transfer starts a TCP server on addr for two-way transfers (see
// [CheckTransfer]); each connection is served by [ServeTransfer].
func Transfer(t testing.TB, addr string) *Server {
	t.Helper()
	return serveTCP(t, addr, ServeTransfer)
}

// ServeTransfer reads a decimal count and a newline ("n\n") and n bytes,
// answers their SHA-256, then sends n bytes of Pattern(n).
func ServeTransfer(c net.Conn) {
	var n int64
	if _, err := fmt.Fscanf(c, "%d\n", &n); err != nil {
		return
	}
	h := sha256.New()
	if _, err := io.CopyN(h, c, n); err != nil {
		return
	}
	c.Write(h.Sum(nil))
	io.CopyN(c, Pattern(n), n)
}

// CheckTransfer sends n bytes of Pattern(n+1) up to a [Transfer] server on
// c while it reads the server's answer, and checks both directions: the
// hash of what arrived up, and the n bytes of Pattern(n) that come down.
func CheckTransfer(c io.ReadWriter, n int64) error {
	go func() {
		fmt.Fprintf(c, "%d\n", n)
		io.CopyN(c, Pattern(n+1), n)
	}()
	want := sha256.New()
	io.CopyN(want, Pattern(n+1), n)
	got := make([]byte, sha256.Size)
	if _, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("transfer: read the upload's hash: %w", err)
	}
	if !bytes.Equal(got, want.Sum(nil)) {
		return fmt.Errorf("transfer: upload corrupted")
	}
	h1, h2 := sha256.New(), sha256.New()
	if _, err := io.CopyN(h1, c, n); err != nil {
		return fmt.Errorf("transfer: download: %w", err)
	}
	io.CopyN(h2, Pattern(n), n)
	if !bytes.Equal(h1.Sum(nil), h2.Sum(nil)) {
		return fmt.Errorf("transfer: download corrupted")
	}
	return nil
}

// Silent starts a TCP server on addr that holds every connection open
// without sending a byte, until the client closes it or the test ends.
func Silent(t testing.TB, addr string) *Server {
	t.Helper()
	return serveTCP(t, addr, func(c net.Conn) { io.Copy(io.Discard, c) })
}
