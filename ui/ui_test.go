package ui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/api/apitest"
	"github.com/pexia-network/pexia/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

// wait is how long a test waits for the app to show what it expects.
const wait = 20 * time.Second

// harness is the app in Fyne's test driver, against a Backend served on a
// real unix socket through a real api.Client.
type harness struct {
	t *testing.T
	b *apitest.Backend
	c *api.Client
	a *App
}

func startApp(t *testing.T, b *apitest.Backend, socket string, opt Options) *harness {
	t.Helper()
	fa := test.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	w.Resize(fyne.NewSize(720, 900))
	c := api.NewClient(socket)
	t.Cleanup(func() { c.Close() })
	if opt.AppDirs == nil {
		opt.AppDirs = []string{t.TempDir()}
	}
	a := New(fa, w, c, opt)
	a.Start()
	t.Cleanup(a.Close)
	return &harness{t: t, b: b, c: c, a: a}
}

// serve starts the app against b.
func serve(t *testing.T, b *apitest.Backend, opt Options) *harness {
	t.Helper()
	t.Cleanup(b.Close)
	path := apitest.Serve(t, b, api.ServerConfig{})
	return startApp(t, b, path, opt)
}

// ui runs fn with the widgets to itself, as the UI goroutine would.
func (h *harness) ui(fn func()) {
	h.a.uiMu.Lock()
	defer h.a.uiMu.Unlock()
	fn()
}

// until waits for cond, read with the widgets to itself.
func (h *harness) until(what string, cond func() bool) {
	h.t.Helper()
	testutil.WaitFor(h.t, what, wait, func() bool {
		var ok bool
		h.ui(func() { ok = cond() })
		return ok
	})
}

func (h *harness) tap(b *widget.Button) {
	h.t.Helper()
	h.ui(func() {
		if b.Disabled() {
			h.t.Fatalf("button %q is disabled", b.Text)
		}
		test.Tap(b)
	})
}

// text returns every label, button and entry text in o, one per line.
func text(o fyne.CanvasObject) string {
	var b strings.Builder
	// The root may be the content of a tab not shown; below it, hidden
	// objects are left out.
	root := o
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || (o != root && !o.Visible()) {
			return
		}
		switch w := o.(type) {
		case *widget.Label:
			b.WriteString(w.Text + "\n")
		case *widget.Button:
			b.WriteString("[" + w.Text + "]\n")
		case *widget.Card:
			b.WriteString(w.Title + "\n")
			walk(w.Content)
		case *widget.ProgressBar:
			if w.TextFormatter != nil {
				b.WriteString(w.TextFormatter() + "\n")
			}
		case *fyne.Container:
			for _, c := range w.Objects {
				walk(c)
			}
		case *container.Scroll:
			walk(w.Content)
		}
	}
	walk(o)
	return b.String()
}

func (h *harness) screenText(s fyne.CanvasObject) string {
	var t string
	h.ui(func() { t = text(s) })
	return t
}

// untilText waits for screen s to show want.
func (h *harness) untilText(s fyne.CanvasObject, want string) {
	h.t.Helper()
	h.untilTextIn(wait, s, want)
}

// untilTextIn waits up to d for screen s to show want.
func (h *harness) untilTextIn(d time.Duration, s fyne.CanvasObject, want string) {
	h.t.Helper()
	var got string
	if testutil.Until(want, d, func() bool {
		got = h.screenText(s)
		return strings.Contains(got, want)
	}) != nil {
		h.t.Fatalf("the screen does not show %q within %s; it shows:\n%s", want, d, got)
	}
}

func (h *harness) bannerText() string {
	var t string
	h.ui(func() {
		if h.a.failure.content.Visible() {
			t = text(h.a.failure.content)
		}
	})
	return t
}

func (h *harness) untilBanner(want string) {
	h.t.Helper()
	h.untilBannerIn(wait, want)
}

// untilBannerIn waits up to d for the failure banner to show want.
func (h *harness) untilBannerIn(d time.Duration, want string) {
	h.t.Helper()
	var got string
	if testutil.Until("banner "+want, d, func() bool {
		got = h.bannerText()
		return strings.Contains(got, want)
	}) != nil {
		h.t.Fatalf("the failure banner does not show %q within %s; it shows:\n%s", want, d, got)
	}
}

func writeDesktop(t *testing.T, dir, id, body string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, id+".desktop"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func budgetOf(t *testing.T, c *api.Client) api.Budget {
	t.Helper()
	b, err := c.Budget(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type widgetButton = widget.Button

// findButton returns the button labelled btn in the row of box whose
// label is row.
func findButton(box *fyne.Container, row, btn string) *widget.Button {
	for _, o := range box.Objects {
		c, ok := o.(*fyne.Container)
		if !ok || !strings.Contains(text(c), row) {
			continue
		}
		var found *widget.Button
		var walk func(fyne.CanvasObject)
		walk = func(o fyne.CanvasObject) {
			switch w := o.(type) {
			case *widget.Button:
				if w.Text == btn {
					found = w
				}
			case *fyne.Container:
				for _, x := range w.Objects {
					walk(x)
				}
			}
		}
		walk(c)
		if found != nil {
			return found
		}
	}
	return nil
}
