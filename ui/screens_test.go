package ui

import (
	"context"
	"image"
	"slices"
	"sync"
	"testing"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/api/apitest"
)

// TestWallet shows the funder, balances and accounts, and copies the
// funder's address.
func TestWallet(t *testing.T) {
	b := apitest.NewBackend()
	h := serve(t, b, Options{})
	scr := h.a.wallet.content
	h.untilText(scr, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
	h.untilText(scr, "Ready to deposit: 250 PEX (≈ $125.00)\nIn the lottery: 40.5 PEX (≈ $20.25)\nEscrow: 2 PEX (≈ $1.00)")
	h.untilText(scr, "3 winning tickets not yet claimed by nodes, worth 0.006 PEX")
	h.untilText(scr, "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC  hop 1, current, epoch 2969: 40.5 PEX")
	h.tap(h.a.wallet.copyBtn)
	if got := h.a.fa.Clipboard().Content(); got != "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" {
		t.Fatalf("the clipboard holds %q after Copy", got)
	}
}

// TestSettings changes settings through the form; a malformed value is
// refused before it reaches pexiad. The test's user is pexiad's own (an
// admin), so the admin-only settings are editable.
func TestSettings(t *testing.T) {
	b := apitest.NewBackend()
	h := serve(t, b, Options{})
	s := h.a.settings
	h.until("the settings loaded", func() bool { return !s.save.Disabled() && s.hops.Selected == "3" })
	h.until("the admin-only settings editable", func() bool { return !s.rpcURL.Disabled() && !s.adminNote.Visible() })

	h.ui(func() { s.padding.SetText("lots") })
	before := len(b.Calls())
	h.tap(s.save)
	h.untilText(s.content, `padding: "lots" is not a whole number`)
	if slices.Contains(b.Calls()[before:], "SetSettings") {
		t.Fatal("a malformed padding reached pexiad")
	}

	h.ui(func() {
		s.padding.SetText("0")
		s.hops.SetSelected("2")
		s.countries.SetText("ch, nl")
		s.killSwitch.SetChecked(false)
		s.priceCap.SetText("0.05")
	})
	h.tap(s.save)
	h.untilText(s.content, "Saved.")
	got, err := h.c.Settings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.Hops != 2 || !slices.Equal(got.ExitCountries, []string{"CH", "NL"}) || got.KillSwitch || got.PriceCapPerGB.Cmp(apitest.Tokens("0.05")) != 0 {
		t.Fatalf("pexiad's settings after Save: hops %d, countries %v, kill switch %v, price cap %s",
			got.Hops, got.ExitCountries, got.KillSwitch, got.PriceCapPerGB.Format(18, 6))
	}
}

// TestMemberSeesAdminSettingsReadOnly: before pexiad says the user is an
// admin (and for a member, whom it never does), the admin-only settings
// are read-only and say who can change them.
func TestMemberSeesAdminSettingsReadOnly(t *testing.T) {
	b := apitest.NewBackend()
	t.Cleanup(b.Close)
	h := startApp(t, b, "/nonexistent/pexiad.sock", Options{})
	s := h.a.settings
	h.untilBanner("pexiad is not running")
	h.ui(func() {
		s.set(api.Settings{Hops: 3, RPCURL: "http://127.0.0.1:8545", MaxMonthlyBudget: apitest.Tokens("20"), Currency: apitest.Currency})
	})
	h.until("rpc_url and fiat_rate read-only, time_zone editable", func() bool {
		return s.rpcURL.Disabled() && s.networkFile.Disabled() && s.fiatRate.Disabled() && !s.timeZone.Disabled()
	})
	h.untilText(s.content, adminOnly)
	h.untilText(s.content, "Highest monthly budget a member may set: 20 PEX (≈ $10.00)")
}

// TestWalletQRCode: the Wallet screen shows the funder's address as the QR
// code the app's encoder makes of it.
func TestWalletQRCode(t *testing.T) {
	b := apitest.NewBackend()
	var mu sync.Mutex
	var asked []string
	qr := image.NewGray(image.Rect(0, 0, 29, 29))
	h := serve(t, b, Options{QRCode: func(text string) (image.Image, error) {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, text)
		return qr, nil
	}})
	s := h.a.wallet
	h.until("the QR code shown", func() bool { return s.qr.Visible() && s.qr.Image == qr })
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(asked, []string{"0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}) {
		t.Fatalf("the encoder was asked for %q, want the funder's address once", asked)
	}
}

// TestWindowFitsNarrowWidth: with every screen loaded, nothing makes the
// window wider than the 720 points pexia-gui opens it at (a long line
// that does not wrap would, and would push the controls off where the
// user expects them).
func TestWindowFitsNarrowWidth(t *testing.T) {
	b := apitest.NewBackend()
	h := serve(t, b, Options{})
	h.untilText(h.a.apps.content, "Prepaid for circuits no application has used yet")
	h.untilText(h.a.settings.content, "1. 0x00000000000000000000000000000000000a11ce in DE")
	h.untilText(h.a.wallet.content, "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC")
	h.untilText(h.a.budget.content, "hop 3")
	var w float32
	h.ui(func() { w = h.a.root.MinSize().Width })
	if w > 720 {
		t.Fatalf("the window needs %.0f points of width, more than 720", w)
	}
	t.Logf("the window needs %.0f points of width", w)
}
