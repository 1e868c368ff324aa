// Package xwd grabs an X window with the xwd tool and decodes its dump,
// for the tests and benchmarks of the desktop app under Xvfb.
package xwd

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"os/exec"
)

// Grab dumps window win with xwd and decodes it; it fails while the
// window is not mapped yet.
func Grab(env []string, win string) (image.Image, error) {
	cmd := exec.Command("xwd", "-silent", "-id", win)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("xwd: %w", err)
	}
	return Decode(out)
}

// Decode decodes an xwd dump of a 24- or 32-bit TrueColor ZPixmap.
func Decode(b []byte) (image.Image, error) {
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
