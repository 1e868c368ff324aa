package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/internal/world"
	"github.com/pexia-network/pexia/internal/world/worldtest"
	"github.com/pexia-network/pexia/internal/xwd"
)

// Fyne's app package starts a queue goroutine at init that lives as long
// as the process.
func TestMain(m *testing.M) {
	testutil.VerifyTestMain(m, goleak.IgnoreTopFunction("fyne.io/fyne/v2/internal/async.(*UnboundedChan[...]).processing"))
}

var writeScreens = flag.Bool("screens", false, "write TestRealWindow's screenshots to ui/testdata/screens")

// screens are the app's screens, in the order of their Alt+1…5 keys.
var screens = []string{"Home", "Budget", "Apps", "Wallet", "Settings"}

// TestRealWindow runs the real pexia-gui binary on an Xvfb display
// against a real pexiad in proxy mode on the devnet world (a chain, two
// relays and an exit in network namespaces). With the pointer (XTEST), as
// a user does, at the places the app says it draws each control (its
// locate hook, so that no layout is assumed), it clicks the connect
// control and waits for pexiad to be
// connected, drags the budget slider and waits for pexiad's budget to
// change, and adds an installed application's rule with one click,
// checked through the API. It goes to each screen with Alt+1…5 and saves
// it, light and then dark (a second start with FYNE_THEME=dark), as
// xvfb-<screen>-<Light|Dark>.png: in ui/testdata/screens with -screens,
// else in the test's directory.
func TestRealWindow(t *testing.T) {
	for _, tool := range []string{"Xvfb", "xdotool", "xwd"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (make deps installs it): %v", tool, err)
		}
	}
	w := worldtest.Start(t, filepath.Join("..", ".."), world.Options{Relays: 2, Exits: 1, Prefix: "pxgui"})
	bin := filepath.Join(t.TempDir(), "pexia-gui")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sock := worldtest.ProxyDaemon(t, w).Socket

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
	ctx := context.Background()
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
	out := filepath.Join(t.TempDir(), "screens")
	if *writeScreens {
		out = filepath.Join("..", "..", "ui", "testdata", "screens")
	}

	// The app says where its controls are drawn (locate.go): the test
	// clicks them wherever the layout puts them.
	hook := filepath.Join(t.TempDir(), "locate.sock")
	// locate waits until the app shows the control req and returns
	// where it is drawn, in the window's pixels.
	locate := func(what string, req locateRequest) locateReply {
		t.Helper()
		var rep locateReply
		testutil.WaitFor(t, what+" shown", time.Minute, func() bool {
			rep = askLocate(hook, req)
			return rep.Error == "" && rep.W > 0 && rep.H > 0
		})
		t.Logf("%s at %d,%d (%dx%d)", what, rep.X, rep.Y, rep.W, rep.H)
		return rep
	}
	// click clicks the centre of the control req.
	click := func(win, what string, req locateRequest) {
		t.Helper()
		rep := locate(what, req)
		xdo("mousemove", "--window", win, fmt.Sprint(rep.X+rep.W/2), fmt.Sprint(rep.Y+rep.H/2))
		xdo("click", "1")
	}

	// start runs pexia-gui in the theme variant and returns it with its
	// window once the app has drawn its first state.
	start := func(variant string) (*testutil.Proc, string, image.Image) {
		gui := exec.Command(bin, "-socket", sock)
		gui.Env = append(env, "FYNE_THEME="+variant, locateEnv+"="+hook)
		p := testutil.StartProc(t, "pexia-gui "+variant, gui)
		var win string
		testutil.WaitFor(t, "the window", 60*time.Second, func() bool {
			select {
			case <-p.Done():
				t.Fatalf("pexia-gui exited: %s", p.Log())
			default:
			}
			win = xdo("search", "--name", "^Pexia$")
			return win != ""
		})
		win = strings.Fields(win)[0]
		t.Logf("%s window %s: %s", variant, win, xdo("getwindowgeometry", win))
		return p, win, stable(t, env, win, "the first frame")
	}
	stop := func(p *testutil.Proc) {
		select {
		case <-p.Done():
			t.Fatalf("pexia-gui exited: %s", p.Log())
		default:
		}
		p.Cmd.Process.Kill()
		<-p.Done()
	}

	p, win, shown := start("light")
	click(win, "the connect control", locateRequest{Button: "Connect"})
	testutil.WaitFor(t, "pexiad connected after the click", 2*time.Minute, func() bool {
		st, err := c.Status(ctx)
		return err == nil && st.State == api.StateConnected
	})
	before, err := c.Budget(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, screen := range screens {
		xdo("mousemove", "--window", win, "360", "400")
		xdo("key", fmt.Sprintf("alt+%d", i+1))
		// Every screen but the first (shown at start) looks different.
		var was []image.Image
		if i > 0 {
			was = append(was, shown)
		}
		shown = stable(t, env, win, screen, was...)
		testutil.WritePNG(t, filepath.Join(out, "xvfb-"+screen+"-Light.png"), shown)
		switch screen {
		case "Budget":
			// Drag the slider from a fifth of its track to its middle.
			rep := locate("the budget slider", locateRequest{Slider: true})
			y := fmt.Sprint(rep.Y + rep.H/2)
			xdo("mousemove", "--window", win, fmt.Sprint(rep.X+rep.W/5), y)
			xdo("mousedown", "1")
			xdo("mousemove", "--window", win, fmt.Sprint(rep.X+rep.W*2/5), y)
			xdo("mousemove", "--window", win, fmt.Sprint(rep.X+rep.W/2), y)
			xdo("mouseup", "1")
			var after api.Budget
			testutil.WaitFor(t, "pexiad's budget to follow the slider", time.Minute, func() bool {
				after, err = c.Budget(ctx)
				return err == nil && after.Monthly.Cmp(before.Monthly) != 0
			})
			t.Logf("the slider moved pexiad's budget from %s to %s", before.Monthly.Format(before.Currency.Decimals, 4), after.Monthly.Format(after.Currency.Decimals, 4))
			shown = stable(t, env, win, "the moved slider", shown)
			testutil.WritePNG(t, filepath.Join(out, "xvfb-Budget-moved-Light.png"), shown)
		case "Apps":
			// The installed application's Tunnel button: one click
			// adds the rule.
			click(win, "Editor's Tunnel button", locateRequest{Button: "Tunnel", Row: "Editor"})
			testutil.WaitFor(t, "the app rule in pexiad", time.Minute, func() bool {
				set, err := c.Rules(ctx)
				return err == nil && len(set.Rules) == 1 && len(set.Rules[0].Match.Desktop) == 1 &&
					set.Rules[0].Match.Desktop[0] == "org.example.Editor" && set.Rules[0].Action == api.ActionTunnel
			})
			shown = stable(t, env, win, "the added rule", shown)
			testutil.WritePNG(t, filepath.Join(out, "xvfb-Apps-rule-added-Light.png"), shown)
		}
	}
	stop(p)

	p, win, shown = start("dark")
	for i, screen := range screens {
		xdo("mousemove", "--window", win, "360", "400")
		xdo("key", fmt.Sprintf("alt+%d", i+1))
		var was []image.Image
		if i > 0 {
			was = append(was, shown)
		}
		shown = stable(t, env, win, screen, was...)
		testutil.WritePNG(t, filepath.Join(out, "xvfb-"+screen+"-Dark.png"), shown)
	}
	stop(p)
	t.Logf("screens saved in %s", out)
}

// askLocate asks the app at the locate hook's socket where req is drawn.
func askLocate(hook string, req locateRequest) locateReply {
	conn, err := net.DialTimeout("unix", hook, 5*time.Second)
	if err != nil {
		return locateReply{Error: err.Error()}
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	var rep locateReply
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return locateReply{Error: err.Error()}
	}
	if err := json.NewDecoder(conn).Decode(&rep); err != nil {
		return locateReply{Error: err.Error()}
	}
	return rep
}

// stable grabs window win until two grabs in a row agree and differ from
// every image of not (what the window showed before the step that should
// change it): the app has drawn what it was asked to.
func stable(t *testing.T, env []string, win, what string, not ...image.Image) image.Image {
	t.Helper()
	var olds [][]byte
	for _, o := range not {
		olds = append(olds, encode(t, o))
	}
	var img image.Image
	var prev []byte
	var err error
	testutil.WaitFor(t, what+" drawn", 20*time.Second, func() bool {
		if img, err = xwd.Grab(env, win); err != nil {
			prev = nil
			return false
		}
		cur := encode(t, img)
		same := bytes.Equal(cur, prev)
		prev = cur
		for _, o := range olds {
			if bytes.Equal(cur, o) {
				return false
			}
		}
		return same
	})
	return img
}

func encode(t *testing.T, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
