package testutil

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// WritePNG saves img as a PNG file at name, making its directory; any
// error fails the test.
func WritePNG(tb testing.TB, name string, img image.Image) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		tb.Fatal(err)
	}
	f, err := os.Create(name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		tb.Fatal(err)
	}
}
