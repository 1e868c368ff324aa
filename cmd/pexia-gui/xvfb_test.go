package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/api/apitest"
	"github.com/pexia-network/pexia/internal/testutil"
)

// Fyne's app package starts a queue goroutine at init that lives as long
// as the process.
func TestMain(m *testing.M) {
	testutil.VerifyTestMain(m, goleak.IgnoreTopFunction("fyne.io/fyne/v2/internal/async.(*UnboundedChan[...]).processing"))
}

var writeScreens = flag.Bool("screens", false, "write TestRealWindow's screenshots to ui/testdata/screens")

// TestRealWindow runs the real pexia-gui binary on an Xvfb display
// against the API served on a unix socket (apitest's backend: the app
// cannot tell it from pexiad), clicks the connect control with the real
// pointer, waits for connected, goes to each screen with Alt+1…5 (each
// saved as ui/testdata/screens/xvfb-<screen>.png with -screens) and adds
// an installed application's rule with one click on the Apps screen.
func TestRealWindow(t *testing.T) {
	for _, tool := range []string{"Xvfb", "xdotool", "xwd"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (make deps installs it): %v", tool, err)
		}
	}
	bin := filepath.Join(t.TempDir(), "pexia-gui")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	b := apitest.NewBackend()
	t.Cleanup(b.Close)
	sock := apitest.Serve(t, b, api.ServerConfig{})

	display := fmt.Sprintf(":%d", 90+os.Getpid()%100)
	x := testutil.StartProc(t, "Xvfb", exec.Command("Xvfb", display, "-screen", "0", "1024x800x24", "-nolisten", "tcp"))
	data := t.TempDir()
	apps := filepath.Join(data, "applications")
	if err := os.MkdirAll(apps, 0o755); err != nil {
		t.Fatal(err)
	}
	entry := "[Desktop Entry]\nType=Application\nName=Editor\nExec=editor\n"
	if err := os.WriteFile(filepath.Join(apps, "org.example.Editor.desktop"), []byte(entry), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "DISPLAY="+display, "LANG=C.UTF-8", "XDG_CONFIG_HOME="+t.TempDir(),
		"XDG_DATA_HOME="+t.TempDir(), "XDG_DATA_DIRS="+data)
	c := api.NewClient(sock)
	t.Cleanup(func() { c.Close() })
	xdo := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("xdotool", args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	testutil.WaitFor(t, "the X server to answer", 20*time.Second, func() bool {
		select {
		case <-x.Done():
			t.Fatalf("Xvfb exited: %s", x.Log())
		default:
		}
		cmd := exec.Command("xdotool", "getdisplaygeometry")
		cmd.Env = env
		return cmd.Run() == nil
	})

	gui := exec.Command(bin, "-socket", sock)
	gui.Env = env
	p := testutil.StartProc(t, "pexia-gui", gui)
	testutil.WaitFor(t, "the app to follow pexiad's events", 60*time.Second, func() bool {
		select {
		case <-p.Done():
			t.Fatalf("pexia-gui exited: %s", p.Log())
		default:
		}
		return b.Subscribers() > 0
	})
	var win string
	testutil.WaitFor(t, "the window", 30*time.Second, func() bool {
		win = xdo("search", "--name", "^Pexia$")
		return win != ""
	})
	win = strings.Fields(win)[0]
	geo := xdo("getwindowgeometry", win)
	t.Logf("window %s: %s", win, geo)

	// The connect control is centred near the top of the home screen:
	// once the app has drawn the first state (two grabs agree), click it
	// with the pointer (XTEST), as a user does.
	stable(t, env, win, "the first frame")
	xdo("mousemove", "--window", win, "360", "133")
	xdo("click", "1")
	connected := func() bool {
		st, err := c.Status(context.Background())
		return err == nil && st.State == api.StateConnected
	}
	testutil.WaitFor(t, "connected after the click", 30*time.Second, connected)

	out := filepath.Join(t.TempDir(), "screens")
	if *writeScreens {
		out = filepath.Join("..", "..", "ui", "testdata", "screens")
	}

	for i, screen := range []string{"Home", "Budget", "Apps", "Wallet", "Settings"} {
		xdo("mousemove", "--window", win, "360", "400")
		xdo("key", fmt.Sprintf("alt+%d", i+1))
		save(t, stable(t, env, win, screen), filepath.Join(out, "xvfb-"+screen+".png"))
		if screen == "Apps" {
			// The installed application's Tunnel button: one click
			// adds the rule.
			xdo("mousemove", "--window", win, "557", "575")
			xdo("click", "1")
			testutil.WaitFor(t, "the app rule in pexiad", 20*time.Second, func() bool {
				set, err := c.Rules(context.Background())
				return err == nil && len(set.Rules) == 1 && len(set.Rules[0].Match.Desktop) == 1 &&
					set.Rules[0].Match.Desktop[0] == "org.example.Editor" && set.Rules[0].Action == api.ActionTunnel
			})
			save(t, stable(t, env, win, "the added rule"), filepath.Join(out, "xvfb-Apps-rule-added.png"))
		}
	}
	select {
	case <-p.Done():
		t.Fatalf("pexia-gui exited: %s", p.Log())
	default:
	}
}

// stable grabs window win until two grabs in a row agree: the app has
// drawn what it was asked to.
func stable(t *testing.T, env []string, win, what string) image.Image {
	t.Helper()
	var img image.Image
	var prev []byte
	var err error
	testutil.WaitFor(t, what+" drawn", 20*time.Second, func() bool {
		if img, err = grab(env, win); err != nil {
			prev = nil
			return false
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		same := bytes.Equal(buf.Bytes(), prev)
		prev = buf.Bytes()
		return same
	})
	return img
}

// grab dumps window win with xwd and decodes it; it fails while the
// window is not mapped yet.
func grab(env []string, win string) (image.Image, error) {
	cmd := exec.Command("xwd", "-silent", "-id", win)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("xwd: %w", err)
	}
	return decodeXWD(out)
}

// decodeXWD decodes an xwd dump of a 24- or 32-bit TrueColor ZPixmap.
func decodeXWD(b []byte) (image.Image, error) {
	if len(b) < 100 {
		return nil, fmt.Errorf("short xwd header (%d bytes)", len(b))
	}
	u := func(i int) uint32 { return binary.BigEndian.Uint32(b[4*i:]) }
	hdr, format, w, h := u(0), u(2), int(u(4)), int(u(5))
	byteOrder, bpp, bpl, ncolors := u(7), u(11), int(u(12)), u(19)
	if format != 2 || bpp != 32 {
		return nil, fmt.Errorf("xwd format %d with %d bits per pixel; want ZPixmap (2) with 32", format, bpp)
	}
	off := int(hdr) + int(ncolors)*12
	if off+h*bpl > len(b) {
		return nil, fmt.Errorf("xwd pixmap %dx%d does not fit %d bytes", w, h, len(b))
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		row := b[off+y*bpl:]
		for x := range w {
			p := row[4*x : 4*x+4]
			var v uint32
			if byteOrder == 0 { // LSBFirst
				v = binary.LittleEndian.Uint32(p)
			} else {
				v = binary.BigEndian.Uint32(p)
			}
			img.Set(x, y, color.RGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 0xff})
		}
	}
	return img, nil
}

func save(t *testing.T, img image.Image, name string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}
