package world

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pexia-network/pexia/internal/netlab"
)

// H3Get is the HTTP/3 client program (internal/world/h3get) that
// BuildH3Get puts beside the world's binaries.
const H3Get = "h3get"

// BuildH3Get compiles h3get from the module at root into the world's
// binary directory (Options.Bin), where H3Get finds it. It is separate
// from Build because only the HTTP/3 tests and benchmarks run it.
func (w *World) BuildH3Get(ctx context.Context, root string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(w.opts.Bin, H3Get), "./internal/world/h3get")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %v\n%s", H3Get, err, out)
	}
	return nil
}

// H3Result is what h3get -sum reports of one download.
type H3Result struct {
	Proto   string  `json:"proto"`
	Status  int     `json:"status"`
	Bytes   int64   `json:"bytes"`
	SHA256  string  `json:"sha256"`
	Seconds float64 `json:"seconds"`
}

// Mbps is the download's rate in megabits per second.
func (r H3Result) Mbps() float64 {
	if r.Seconds <= 0 {
		return 0
	}
	return float64(r.Bytes) * 8 / r.Seconds / 1e6
}

// H3Get runs h3get (see BuildH3Get) in host h with args, trusting the
// world's web server, and returns its standard output.
func (w *World) H3Get(ctx context.Context, h *netlab.Host, args ...string) ([]byte, error) {
	cmd := h.Command(ctx, filepath.Join(w.opts.Bin, H3Get), append([]string{"-ca", w.webRoots}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %s: %v: %s", H3Get, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// H3Download downloads url with h3get -sum in host h and returns its
// report: length, SHA-256 and transfer time of the body.
func (w *World) H3Download(ctx context.Context, h *netlab.Host, url string) (H3Result, error) {
	out, err := w.H3Get(ctx, h, "-sum", url)
	if err != nil {
		return H3Result{}, err
	}
	var r H3Result
	if err := json.Unmarshal(out, &r); err != nil {
		return H3Result{}, fmt.Errorf("%s -sum %s: %w: %q", H3Get, url, err, out)
	}
	return r, nil
}
