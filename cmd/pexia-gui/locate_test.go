package main

import (
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// TestLocate asks the locate hook, over its socket, where controls are
// drawn: the answer is where the layout put them, and follows it when it
// changes; the button of the row asked for is told apart from the same
// button in another row; a control not shown is not found.
func TestLocate(t *testing.T) {
	test.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	row := func(name string) (*fyne.Container, *widget.Button) {
		b := widget.NewButton("Tunnel", nil)
		return container.NewBorder(nil, nil, nil, container.NewHBox(b, widget.NewButton("Direct", nil)), widget.NewLabel(name)), b
	}
	files, filesTunnel := row("Files  (org.gnome.Nautilus)")
	editor, editorTunnel := row("Editor  (org.example.Editor)")
	above := canvas.NewRectangle(nil)
	above.SetMinSize(fyne.NewSize(10, 100))
	slider := widget.NewSlider(0, 10)
	hidden := widget.NewButton("Hidden", nil)
	hidden.Hide()
	w.SetContent(container.NewVBox(above, files, editor, slider, hidden))
	w.Resize(fyne.NewSize(600, 500))

	hook := filepath.Join(t.TempDir(), "locate.sock")
	stop, err := serveLocate(hook, w)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	check := func(what string, req locateRequest, want fyne.CanvasObject) {
		t.Helper()
		rep := askLocate(hook, req)
		if rep.Error != "" {
			t.Fatalf("%s: %s", what, rep.Error)
		}
		pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(want)
		scale := w.Canvas().Scale()
		if rep.X != int(pos.X*scale+0.5) || rep.Y != int(pos.Y*scale+0.5) || rep.W != int(want.Size().Width*scale+0.5) || rep.H != int(want.Size().Height*scale+0.5) {
			t.Fatalf("%s: the hook says %+v; it is drawn at %v size %v (scale %v)", what, rep, pos, want.Size(), scale)
		}
		t.Logf("%s at %d,%d (%dx%d)", what, rep.X, rep.Y, rep.W, rep.H)
	}
	check("Editor's Tunnel", locateRequest{Button: "Tunnel", Row: "Editor"}, editorTunnel)
	check("Files' Tunnel", locateRequest{Button: "Tunnel", Row: "Files"}, filesTunnel)
	check("the slider", locateRequest{Slider: true}, slider)
	before := askLocate(hook, locateRequest{Slider: true})

	// The layout changes: the answer follows.
	above.SetMinSize(fyne.NewSize(10, 160))
	w.Content().Refresh()
	check("the slider moved down", locateRequest{Slider: true}, slider)
	if after := askLocate(hook, locateRequest{Slider: true}); after.Y <= before.Y {
		t.Fatalf("the slider was at y %d and is now at %d, after the layout moved it down", before.Y, after.Y)
	}

	for _, req := range []locateRequest{{Button: "Hidden"}, {Button: "Tunnel", Row: "Terminal"}, {}} {
		if rep := askLocate(hook, req); rep.Error == "" {
			t.Errorf("%+v: found at %+v, want an error", req, rep)
		}
	}
}
