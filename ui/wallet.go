package ui

import (
	"context"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/pexia-network/pexia/api"
)

// walletScreen: the funder's address (copy), balances, escrow and
// pending winners, and each signing account with its pending withdrawal.
type walletScreen struct {
	a *App

	funder   *widget.Label
	copyBtn  *widget.Button
	balances *widget.Label
	signers  *fyne.Container
	note     *widget.Label
	qr       *canvas.Image
	content  fyne.CanvasObject

	w    api.Wallet // guarded by App.uiMu
	qrOf string     // the address qr shows
}

func newWalletScreen(a *App) *walletScreen {
	s := &walletScreen{a: a,
		funder:   widget.NewLabel(""),
		balances: widget.NewLabel(""),
		signers:  container.NewVBox(),
		note: widget.NewLabel("Deposits and withdrawals: the local API does not offer them yet; " +
			"send tokens to the funder address to top it up."),
	}
	s.funder.TextStyle = fyne.TextStyle{Monospace: true}
	s.funder.Selectable = true
	s.note.Wrapping = fyne.TextWrapWord
	s.copyBtn = widget.NewButton("Copy address", func() {
		if s.w.Funder != "" {
			a.fa.Clipboard().SetContent(s.w.Funder)
		}
	})
	s.qr = canvas.NewImageFromImage(nil)
	s.qr.FillMode = canvas.ImageFillContain
	s.qr.ScaleMode = canvas.ImageScalePixels
	s.qr.SetMinSize(fyne.NewSize(180, 180))
	s.qr.Hide()
	s.content = container.NewVScroll(container.NewVBox(
		widget.NewCard("Funder", "The address that pays for your circuits.", container.NewVBox(
			container.NewBorder(nil, nil, nil, s.copyBtn, s.funder),
			container.NewHBox(s.qr))),
		widget.NewCard("Balances", "", s.balances),
		widget.NewCard("Accounts", "One signing account per hop position and epoch.", s.signers),
		s.note,
	))
	return s
}

func (s *walletScreen) load() {
	s.a.call(func(ctx context.Context) {
		w, err := s.a.c.Wallet(ctx)
		s.a.do(func() {
			if err != nil {
				s.balances.SetText("Cannot read the wallet: " + err.Error())
				return
			}
			s.set(w)
		})
	})
}

// set shows w; on the UI goroutine.
func (s *walletScreen) set(w api.Wallet) {
	s.w = w
	c := w.Token
	s.funder.SetText(w.Funder)
	s.showQR(w.Funder)
	txt := fmt.Sprintf("Ready to deposit: %s\nIn the lottery: %s\nEscrow: %s",
		money(w.FunderBalance, c), money(w.Balance, c), money(w.Escrow, c))
	if w.PendingWinners > 0 {
		txt += fmt.Sprintf("\n%d winning tickets not yet claimed by nodes, worth %s", w.PendingWinners, money(w.PendingAmount, c))
	}
	if !w.NextRotation.IsZero() {
		txt += fmt.Sprintf("\nEpoch %d; new accounts from %s", w.Epoch, w.NextRotation.Local().Format("2 Jan 15:04"))
	}
	s.balances.SetText(txt)
	s.signers.RemoveAll()
	if len(w.Signers) == 0 {
		s.signers.Add(widget.NewLabel("No accounts yet: they are made on the first connect."))
	}
	for _, sg := range w.Signers {
		hop := fmt.Sprintf("hop %d", sg.Hop+1)
		if sg.Hop < 0 {
			hop = "funder's own"
		}
		line := fmt.Sprintf("%s  %s, %s, epoch %d: %s, escrow %s", sg.Address, hop, sg.State, sg.Epoch,
			money(sg.Balance, c), money(sg.Escrow, c))
		if !sg.UnlockAt.IsZero() {
			if left := time.Until(sg.UnlockAt); left > 0 {
				line += fmt.Sprintf("; withdrawal possible in %s", left.Round(time.Minute))
			} else {
				line += "; withdrawal possible now"
			}
		}
		l := widget.NewLabel(line)
		l.Wrapping = fyne.TextWrapWord
		s.signers.Add(l)
	}
}

// showQR shows addr as a QR code (Options.QRCode), for a phone's wallet
// to scan; nothing without an encoder or an address.
func (s *walletScreen) showQR(addr string) {
	if addr == s.qrOf {
		return
	}
	s.qrOf = addr
	if s.a.opt.QRCode == nil || addr == "" {
		s.qr.Hide()
		return
	}
	img, err := s.a.opt.QRCode(addr)
	if err != nil {
		s.qr.Hide()
		return
	}
	s.qr.Image = img
	s.qr.Refresh()
	s.qr.Show()
}
