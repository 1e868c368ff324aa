package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/api/apitest"
	"github.com/pexia-network/pexia/internal/xwd"
)

// guiRounds is how many times guiSuite starts the app.
const guiRounds = 7

// guiSuite measures the desktop app, the real pexia-gui binary, on an
// Xvfb display, against the API of apitest's in-memory backend on a unix
// socket:
//   - gui.cold_start_ms: from the process's start to its first frame, the
//     first dump of its window (xwd, polled) that is not blank;
//   - gui.rss_mb: the process's resident memory (VmRSS) once its window
//     has settled (two dumps in a row agree), with every screen loaded.
//
// Each of guiRounds starts is a fresh process; the metrics are the
// medians. Without Xvfb, xdotool or xwd it measures nothing and says so.
func guiSuite(res Results) error {
	for _, tool := range []string{"Xvfb", "xdotool", "xwd"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Printf("gui: skipped, %s is not installed (make deps installs it); gui.cold_start_ms and gui.rss_mb not measured\n", tool)
			return nil
		}
	}
	dir, err := os.MkdirTemp("", "pexia-bench-gui-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "pexia-gui")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/pexia-gui").CombinedOutput(); err != nil {
		return fmt.Errorf("build pexia-gui: %v\n%s", err, out)
	}

	b := apitest.NewBackend()
	defer b.Close()
	sock := filepath.Join(dir, "pexiad.sock")
	l, err := api.Listen(sock, api.ServerConfig{})
	if err != nil {
		return err
	}
	srv := api.NewServer(b, api.ServerConfig{})
	go srv.Serve(l)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()

	display := fmt.Sprintf(":%d", 190+os.Getpid()%100)
	x := exec.Command("Xvfb", display, "-screen", "0", "1024x800x24", "-nolisten", "tcp")
	if err := x.Start(); err != nil {
		return fmt.Errorf("start Xvfb: %w", err)
	}
	defer func() { x.Process.Kill(); x.Wait() }()
	env := append(os.Environ(), "DISPLAY="+display, "LANG=C.UTF-8", "XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_DATA_DIRS="+filepath.Join(dir, "share"))
	if err := until(20*time.Second, "the X server to answer", func() bool {
		cmd := exec.Command("xdotool", "getdisplaygeometry")
		cmd.Env = env
		return cmd.Run() == nil
	}); err != nil {
		return err
	}

	var starts, rss []float64
	for range guiRounds {
		ms, mb, err := guiStart(bin, sock, env)
		if err != nil {
			return err
		}
		starts, rss = append(starts, ms), append(rss, mb)
	}
	res.setRounds("gui.cold_start_ms", starts, "ms")
	res.setRounds("gui.rss_mb", rss, "MB")
	fmt.Printf("gui: first frame after %v ms, %v MB resident (medians of %d starts)\n", starts, rss, guiRounds)
	return nil
}

// guiStart starts pexia-gui once and returns the milliseconds to its
// first frame and its resident megabytes once settled.
func guiStart(bin, sock string, env []string) (ms, mb float64, err error) {
	cmd := exec.Command(bin, "-socket", sock)
	cmd.Env = env
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-done
	}()
	exited := func() bool {
		select {
		case err := <-done:
			done <- err
			return true
		default:
			return false
		}
	}
	var win string
	var first time.Duration
	err = until(time.Minute, "the first frame", func() bool {
		if exited() {
			return true
		}
		if win == "" {
			c := exec.Command("xdotool", "search", "--name", "^Pexia$")
			c.Env = env
			out, _ := c.Output()
			if f := strings.Fields(string(out)); len(f) > 0 {
				win = f[0]
			}
			if win == "" {
				return false
			}
		}
		img, err := xwd.Grab(env, win)
		if err != nil || blank(img) {
			return false
		}
		first = time.Since(t0)
		return true
	})
	if err == nil && exited() {
		err = errors.New("pexia-gui exited before its first frame")
	}
	if err != nil {
		return 0, 0, err
	}
	var prev []byte
	if err := until(time.Minute, "the window to settle", func() bool {
		img, err := xwd.Grab(env, win)
		if err != nil {
			return false
		}
		var buf bytes.Buffer
		png.Encode(&buf, img)
		same := bytes.Equal(buf.Bytes(), prev)
		prev = buf.Bytes()
		return same
	}); err != nil {
		return 0, 0, err
	}
	kb, err := vmRSS(cmd.Process.Pid)
	if err != nil {
		return 0, 0, err
	}
	return float64(first.Microseconds()) / 1000, float64(kb) / 1024, nil
}

// blank reports whether img is one colour (a window mapped but not drawn).
func blank(img image.Image) bool {
	r := img.Bounds()
	c0 := img.At(r.Min.X, r.Min.Y)
	for y := r.Min.Y; y < r.Max.Y; y += 4 {
		for x := r.Min.X; x < r.Max.X; x += 4 {
			if img.At(x, y) != c0 {
				return false
			}
		}
	}
	return true
}

// vmRSS reads a process's resident set size in KiB.
func vmRSS(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// until polls cond every 5 ms until it holds or limit passes.
func until(limit time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("gui: %s did not happen within %v", what, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}
