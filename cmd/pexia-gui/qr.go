package main

import (
	"image"

	qrcode "github.com/skip2/go-qrcode"
)

// qrImage renders text as a QR code (error correction level M, the quiet
// zone included), 256 pixels square: the Wallet screen's funder address.
func qrImage(text string) (image.Image, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return nil, err
	}
	return q.Image(256), nil
}
