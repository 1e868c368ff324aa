package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// chart is a bar chart of the last values pushed to it, newest on the
// right, scaled to the largest; the home screen's throughput.
type chart struct {
	widget.BaseWidget
	n      int
	values []float64
}

func newChart(n int) *chart {
	c := &chart{n: n}
	c.ExtendBaseWidget(c)
	return c
}

// clear drops every value; on the UI goroutine.
func (c *chart) clear() {
	c.values = nil
	c.Refresh()
}

// push adds a value and drops the oldest beyond n; on the UI goroutine.
func (c *chart) push(v float64) {
	c.values = append(c.values, v)
	if len(c.values) > c.n {
		c.values = c.values[len(c.values)-c.n:]
	}
	c.Refresh()
}

func (c *chart) CreateRenderer() fyne.WidgetRenderer {
	r := &chartRenderer{c: c, bg: canvas.NewRectangle(color.Transparent)}
	r.Refresh()
	return r
}

type chartRenderer struct {
	c    *chart
	bg   *canvas.Rectangle
	bars []*canvas.Rectangle
	size fyne.Size
}

func (r *chartRenderer) Layout(s fyne.Size) {
	r.size = s
	r.bg.Resize(s)
	peak := 0.0
	for _, v := range r.c.values {
		peak = max(peak, v)
	}
	w := s.Width / float32(r.c.n)
	off := r.c.n - len(r.c.values)
	for i, b := range r.bars {
		h := float32(0)
		if peak > 0 {
			h = s.Height * float32(r.c.values[i]/peak)
		}
		b.Move(fyne.NewPos(float32(off+i)*w, s.Height-h))
		b.Resize(fyne.NewSize(max(w-1, 1), h))
	}
}

func (r *chartRenderer) MinSize() fyne.Size { return fyne.NewSize(float32(r.c.n)*3, 48) }

func (r *chartRenderer) Refresh() {
	th := r.c.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()
	r.bg.FillColor = th.Color(theme.ColorNameInputBackground, v)
	for len(r.bars) < len(r.c.values) {
		r.bars = append(r.bars, canvas.NewRectangle(color.Transparent))
	}
	r.bars = r.bars[:len(r.c.values)]
	for _, b := range r.bars {
		b.FillColor = th.Color(theme.ColorNamePrimary, v)
	}
	r.Layout(r.size)
	canvas.Refresh(r.c)
}

func (r *chartRenderer) Objects() []fyne.CanvasObject {
	objs := []fyne.CanvasObject{r.bg}
	for _, b := range r.bars {
		objs = append(objs, b)
	}
	return objs
}

func (r *chartRenderer) Destroy() {}
