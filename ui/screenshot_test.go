package ui

import (
	"flag"
	"image"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/api/apitest"
	"github.com/pexia-network/pexia/internal/testutil"
)

var writeScreens = flag.Bool("screens", false, "write the screenshots of TestScreenshots to testdata/screens")

// TestScreenshots renders every screen, connected, in light and dark with
// Fyne's software painter, and the home screen in a failure state and at
// the budget's limit; with -screens it writes them to testdata/screens.
func TestScreenshots(t *testing.T) {
	for _, variant := range []string{appearanceLight, appearanceDark} {
		t.Run(variant, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "applications")
			writeDesktop(t, dir, "org.mozilla.firefox", "[Desktop Entry]\nType=Application\nName=Firefox\nExec=firefox %u\n")
			writeDesktop(t, dir, "org.gnome.Nautilus", "[Desktop Entry]\nType=Application\nName=Files\nExec=nautilus\n")
			writeDesktop(t, dir, "transmission-gtk", "[Desktop Entry]\nType=Application\nName=Transmission\nExec=transmission-gtk\n")
			b := apitest.NewBackend()
			// The funder's QR code as pexia-gui draws it.
			qr := func(text string) (image.Image, error) {
				q, err := qrcode.New(text, qrcode.Medium)
				if err != nil {
					return nil, err
				}
				return q.Image(256), nil
			}
			h := serve(t, b, Options{AppDirs: []string{dir}, QRCode: qr})
			h.ui(func() { h.a.SetAppearance(variant) })
			h.untilText(h.a.home.content, "Disconnected")
			h.tap(h.a.home.button)
			h.untilText(h.a.home.content, "Exit in NL")
			for i := range 40 {
				tp := api.Throughput{RateDown: uint64(2_000_000 + (i*7919)%1_500_000), RateUp: 150_000}
				b.Publish(api.Event{Type: api.EventThroughput, Time: time.Now(), Throughput: &tp})
			}
			h.until("40 throughput samples", func() bool { return len(h.a.home.chart.values) == 40 })
			r := api.Rule{Match: api.RuleMatch{Desktop: []string{"transmission-gtk"}}, Target: api.RuleTarget{Action: api.ActionDirect}}
			h.ui(func() { h.a.apps.addRule(r) })
			h.untilText(h.a.apps.content, "1. app transmission-gtk → direct")
			h.untilText(h.a.wallet.content, "Ready to deposit")
			h.until("the settings loaded", func() bool { return !h.a.settings.save.Disabled() })
			h.untilText(h.a.budget.content, "Expected spend")

			for _, name := range []string{"Home", "Budget", "Apps", "Wallet", "Settings"} {
				capture(t, h, name, variant)
			}
			st := api.Status{State: api.StateError, Reason: api.ReasonNoFunds, Error: "fund hop 1: wallet holds too little: needs 2 PEX, holds 0.5 PEX"}
			b.Publish(api.Event{Type: api.EventState, Time: time.Now(), State: &st})
			h.untilBanner("No funds")
			capture(t, h, "Home", variant+"-nofunds")
			b.SpendAll() // the budget spent while connected: held, with the choices
			h.untilBanner("Budget spent: traffic held")
			capture(t, h, "Home", variant+"-atlimit")
		})
	}
}

func capture(t *testing.T, h *harness, screen, variant string) {
	t.Helper()
	var img image.Image
	h.ui(func() {
		h.a.Show(screen)
		h.a.win.Resize(fyne.NewSize(760, 980))
		img = h.a.win.Canvas().Capture()
	})
	if img.Bounds().Dx() < 700 {
		t.Fatalf("%s: the capture is %v", screen, img.Bounds())
	}
	if !*writeScreens {
		return
	}
	testutil.WritePNG(t, filepath.Join("testdata", "screens", screen+"-"+variant+".png"), img)
}
