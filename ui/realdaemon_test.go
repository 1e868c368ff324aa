package ui

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/internal/world"
	"github.com/pexia-network/pexia/internal/world/worldtest"
)

// realWait is how long a test waits for what a real pexiad does (a
// connect pays for and builds a circuit on a busy machine).
const realWait = 2 * time.Minute

// childSocket names the environment variable that makes
// TestPermissionDeniedChild run: the socket of the real pexiad it tries.
const childSocket = "PEXIA_UI_TEST_SOCKET"

// TestRealDaemon runs the app against a real pexiad in proxy mode on the
// devnet world (a chain, two relays and an exit in network namespaces):
// connect and disconnect, the budget slider changing pexiad's budget, an
// app rule added, and each failure state a real pexiad produces: no nodes
// match the exit countries, permission denied for a user outside its
// group, and pexiad not running once it stops.
func TestRealDaemon(t *testing.T) {
	w := worldtest.Start(t, "..", world.Options{Relays: 2, Exits: 1, Prefix: "pxui"})
	d := worldtest.ProxyDaemon(t, w)
	dir := filepath.Join(t.TempDir(), "applications")
	writeDesktop(t, dir, "org.example.Editor", "[Desktop Entry]\nType=Application\nName=Editor\nExec=editor %F\n")
	h := startApp(t, nil, d.Socket, Options{AppDirs: []string{dir}})
	home := h.a.home.content
	ctx := context.Background()

	// Connect.
	h.untilTextIn(realWait, home, "Disconnected")
	h.until("Connect enabled", func() bool { return !h.a.home.button.Disabled() && h.a.home.button.Text == "Connect" })
	h.tap(h.a.home.button)
	h.untilTextIn(realWait, home, "Connected")
	h.untilTextIn(realWait, home, "3. Exit")
	st, err := h.c.Status(ctx)
	if err != nil || st.State != api.StateConnected || len(st.ProxyAddrs) == 0 {
		t.Fatalf("pexiad's status after Connect: %+v, %v", st, err)
	}
	t.Logf("connected: exit %s, proxies %v", st.ExitHost, st.ProxyAddrs)

	// The budget slider: pexiad's budget follows it.
	before := budgetOf(t, h.c)
	h.until("the slider is enabled", func() bool { return !h.a.budget.slider.Disabled() })
	h.ui(func() { h.a.Show("Budget") })
	sl := h.a.budget.slider
	var want float64
	h.ui(func() {
		size := sl.Size()
		sl.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(size.Width*0.2, size.Height/2)}})
		sl.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(size.Width*0.3, size.Height/2)}})
		want = sl.Value
		sl.DragEnd()
	})
	amt, err := fromTokens(want, before.Currency)
	if err != nil {
		t.Fatal(err)
	}
	if amt.Cmp(before.Monthly) == 0 {
		t.Fatalf("the drag left the budget at %s", amt.Format(before.Currency.Decimals, 6))
	}
	testutil.WaitFor(t, "pexiad's budget to follow the slider", realWait, func() bool {
		b, err := h.c.Budget(ctx)
		return err == nil && b.Monthly.Cmp(amt) == 0
	})
	h.untilTextIn(realWait, h.a.budget.content, "Saved: "+amt.Format(before.Currency.Decimals, 4))
	t.Logf("the slider moved pexiad's budget from %s to %s", before.Monthly.Format(18, 4), amt.Format(18, 4))

	// An app rule, in one click on an installed application.
	var tunnel *widgetButton
	h.until("Editor listed", func() bool {
		tunnel = findButton(h.a.apps.apps, "Editor  (org.example.Editor)", "Tunnel")
		return tunnel != nil
	})
	h.tap(tunnel)
	h.untilTextIn(realWait, h.a.apps.content, "1. app org.example.Editor → tunnel")
	set, err := h.c.Rules(ctx)
	if err != nil || len(set.Rules) != 1 || !slices.Equal(set.Rules[0].Match.Desktop, []string{"org.example.Editor"}) {
		t.Fatalf("pexiad's rules after the click: %+v, %v", set.Rules, err)
	}

	// Disconnect.
	h.tap(h.a.home.button)
	h.untilTextIn(realWait, home, "Disconnected")

	// No nodes match: only exits in Iceland, where none is.
	s := h.a.settings
	h.ui(func() { s.countries.SetText("IS") })
	h.tap(s.save)
	h.untilTextIn(realWait, s.content, "Saved.")
	h.until("Connect enabled", func() bool { return !h.a.home.button.Disabled() && h.a.home.button.Text == "Connect" })
	h.tap(h.a.home.button)
	h.untilBannerIn(realWait, "No nodes match")
	h.untilBanner("Allow more exit countries")
	t.Logf("no nodes: %s", strings.ReplaceAll(h.bannerText(), "\n", " | "))

	// Permission denied: the app run by a user other than root. The
	// world's pexiad runs with no group (-group ""), so there is none to
	// join and the fix line says so.
	t.Run("PermissionDenied", func(t *testing.T) {
		banner := permissionDenied(t, d.Socket)
		if !strings.Contains(banner, "pexiad lets no group use it") || strings.Contains(banner, "Join the group") {
			t.Fatalf("the banner for pexiad with no group does not say there is none to join: %s", banner)
		}
	})

	// pexiad stops: the app says it is not running, and how to start it.
	if err := d.Stop(30 * time.Second); err != nil {
		t.Logf("pexiad's exit: %v", err)
	}
	h.untilBannerIn(realWait, "pexiad is not running")
	t.Logf("stopped: %s", strings.ReplaceAll(h.bannerText(), "\n", " | "))
}

// permissionDenied runs TestPermissionDeniedChild as a new system user
// (not root, not in pexiad's group) against the pexiad at socket, and
// returns the failure banner it showed, its lines joined by " | ".
func permissionDenied(t *testing.T, socket string) string {
	u := testutil.NewUser(t, "pxui")
	// The user may reach the socket (its directories are open), so that
	// only the socket's own permissions refuse it, as for a user who is
	// not in the group.
	for d := filepath.Dir(socket); d != "/" && strings.HasPrefix(d, os.TempDir()+"/"); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pub, err := os.MkdirTemp("", "pexia-ui-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(pub) })
	if err := os.Chmod(pub, 0o777); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(pub, "ui.test")
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), realWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run", "^TestPermissionDeniedChild$", "-test.v", "-test.count=1")
	cmd.Dir = pub
	cmd.Env = []string{childSocket + "=" + socket, "HOME=" + pub, "TMPDIR=" + pub, "PATH=" + os.Getenv("PATH")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.UID, Gid: u.GID}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestPermissionDeniedChild") {
		t.Fatalf("the app as user %s: %v\n%s", u.Name, err, out)
	}
	var banner string
	for _, l := range strings.Split(string(out), "\n") {
		if _, b, ok := strings.Cut(l, "banner: "); ok {
			banner = b
			t.Log(strings.TrimSpace(l))
		}
	}
	return banner
}

// TestPermissionDeniedChild is the app of a user outside pexiad's group,
// run by TestRealDaemon; it is skipped otherwise.
func TestPermissionDeniedChild(t *testing.T) {
	socket := os.Getenv(childSocket)
	if socket == "" {
		t.Skip("run by TestRealDaemon as another user")
	}
	h := startApp(t, nil, socket, Options{})
	h.untilBannerIn(realWait, "Permission denied")
	h.untilBanner("only root")
	t.Logf("banner: %s", strings.ReplaceAll(h.bannerText(), "\n", " | "))
}
