package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// locateEnv names the unix socket of the locate hook: with it set,
// pexia-gui answers where a control of the screen shown is drawn, so that
// a test can click it with the pointer as a user does (cmd/pexia-gui's
// Xvfb test) without knowing the layout. Off unless set.
const locateEnv = "PEXIA_GUI_LOCATE"

// locateRequest is one question, one JSON object per connection: the
// button labelled Button (in the row that shows a label containing Row,
// if Row is set), or the slider.
type locateRequest struct {
	Button string `json:"button,omitempty"`
	Row    string `json:"row,omitempty"`
	Slider bool   `json:"slider,omitempty"`
}

// locateReply is where the control is drawn, in the window's pixels, or
// why it was not found.
type locateReply struct {
	X, Y, W, H int
	Error      string `json:"error,omitempty"`
}

// serveLocate answers locate requests on a unix socket at path about what
// w shows, until the returned stop is called.
func serveLocate(path string, w fyne.Window) (stop func(), err error) {
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			answerLocate(conn, w)
		}
	}()
	return func() { l.Close(); <-done }, nil
}

func answerLocate(conn net.Conn, w fyne.Window) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	var req locateRequest
	var rep locateReply
	if err := json.NewDecoder(conn).Decode(&req); err != nil {
		rep.Error = err.Error()
	} else {
		fyne.DoAndWait(func() { rep = locate(w, req) })
	}
	json.NewEncoder(conn).Encode(rep)
}

// locate finds the control req asks for among the objects w shows; on
// the UI goroutine.
func locate(w fyne.Window, req locateRequest) locateReply {
	var found fyne.CanvasObject
	switch {
	case req.Slider:
		found = findObject(w.Content(), func(o fyne.CanvasObject) bool { _, ok := o.(*widget.Slider); return ok })
	case req.Button != "":
		isButton := func(o fyne.CanvasObject) bool {
			b, ok := o.(*widget.Button)
			return ok && b.Text == req.Button
		}
		if req.Row == "" {
			found = findObject(w.Content(), isButton)
			break
		}
		// The row: a container with a label of its own that contains Row.
		row := findObject(w.Content(), func(o fyne.CanvasObject) bool {
			c, ok := o.(*fyne.Container)
			if !ok {
				return false
			}
			for _, x := range c.Objects {
				if l, ok := x.(*widget.Label); ok && l.Visible() && strings.Contains(l.Text, req.Row) {
					return findObject(c, isButton) != nil
				}
			}
			return false
		})
		if row != nil {
			found = findObject(row, isButton)
		}
	default:
		return locateReply{Error: "ask for a button or the slider"}
	}
	if found == nil {
		return locateReply{Error: fmt.Sprintf("no such control shown: %+v", req)}
	}
	d := fyne.CurrentApp().Driver()
	pos, size, scale := d.AbsolutePositionForObject(found), found.Size(), w.Canvas().Scale()
	px := func(f float32) int { return int(f*scale + 0.5) }
	return locateReply{X: px(pos.X), Y: px(pos.Y), W: px(size.Width), H: px(size.Height)}
}

// findObject returns the first object under o, o included, that is shown
// and matches, walking the containers and the widgets that hold others.
func findObject(o fyne.CanvasObject, match func(fyne.CanvasObject) bool) fyne.CanvasObject {
	if o == nil || !o.Visible() {
		return nil
	}
	if match(o) {
		return o
	}
	var kids []fyne.CanvasObject
	switch x := o.(type) {
	case *fyne.Container:
		kids = x.Objects
	case *container.Scroll:
		kids = []fyne.CanvasObject{x.Content}
	case *widget.Card:
		kids = []fyne.CanvasObject{x.Content}
	case *container.AppTabs:
		if it := x.Selected(); it != nil {
			kids = []fyne.CanvasObject{it.Content}
		}
	}
	for _, k := range kids {
		if f := findObject(k, match); f != nil {
			return f
		}
	}
	return nil
}

// startLocate starts the hook if locateEnv names a socket.
func startLocate(w fyne.Window) (stop func(), err error) {
	path := os.Getenv(locateEnv)
	if path == "" {
		return func() {}, nil
	}
	return serveLocate(path, w)
}
