// Command pexia-gui is the desktop app: a window of five screens (Home,
// Budget, Apps, Wallet, Settings, package ui) that talks to pexiad over
// its local API, and a tray icon with connect, disconnect and the current
// exit. Closing the window keeps the tray; Quit in the tray's menu ends
// the app.
//
//	pexia-gui [-socket PATH] [-screen NAME]
//
// The socket is -socket, else $PEXIA_SOCKET, else api.DefaultSocketPath.
// With $PEXIA_GUI_LOCATE naming a unix socket, pexia-gui answers there
// where a control of the screen shown is drawn (locate.go), for tests that
// click it with the pointer.
package main

import (
	"flag"
	"fmt"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/ui"
)

func main() {
	socket := flag.String("socket", "", "pexiad's API socket (default $PEXIA_SOCKET, else "+api.DefaultSocketPath+")")
	screen := flag.String("screen", "Home", "the screen to open: Home, Budget, Apps, Wallet or Settings")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "pexia-gui: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	path := *socket
	if path == "" {
		path = os.Getenv("PEXIA_SOCKET")
	}
	c := api.NewClient(path)
	defer c.Close()

	fa := app.NewWithID("network.pexia.app")
	w := fa.NewWindow("Pexia")
	w.Resize(fyne.NewSize(720, 760))

	var tray *trayMenu
	u := ui.New(fa, w, c, ui.Options{OnStatus: func(st api.Status) {
		if tray != nil {
			tray.update(st)
		}
	}, QRCode: qrImage})
	u.ApplyAppearance()
	u.Show(*screen)
	if d, ok := fa.(desktop.App); ok {
		tray = newTrayMenu(d, u)
		w.SetCloseIntercept(w.Hide)
	}
	stopLocate, err := startLocate(w)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pexia-gui: %s: %v\n", locateEnv, err)
		os.Exit(1)
	}
	u.Start()
	w.ShowAndRun()
	u.Close()
	stopLocate()
}

// trayMenu is the tray icon's menu: the state and exit, connect or
// disconnect, the window and quit.
type trayMenu struct {
	d      desktop.App
	u      *ui.App
	status *fyne.MenuItem
	toggle *fyne.MenuItem
	menu   *fyne.Menu
}

func newTrayMenu(d desktop.App, u *ui.App) *trayMenu {
	t := &trayMenu{d: d, u: u}
	t.status = fyne.NewMenuItem("Starting…", nil)
	t.status.Disabled = true
	t.toggle = fyne.NewMenuItem("Connect", u.Connect)
	t.menu = fyne.NewMenu("Pexia", t.status, t.toggle,
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Open Pexia", func() { u.Window().Show(); u.Window().RequestFocus() }),
	)
	d.SetSystemTrayMenu(t.menu)
	d.SetSystemTrayIcon(theme.VisibilityOffIcon())
	return t
}

// update follows the status; on the UI goroutine.
func (t *trayMenu) update(st api.Status) {
	label := string(st.State)
	icon := theme.VisibilityOffIcon()
	switch st.State {
	case api.StateConnected:
		label = "Connected"
		if st.ExitCountry != "" {
			label += ": exit in " + st.ExitCountry
		}
		icon = theme.VisibilityIcon()
	case api.StateConnecting, api.StateReconnecting:
		label = "Connecting…"
	case api.StateError:
		label = "Error: " + st.Error
	case api.StateDisconnected:
		label = "Disconnected"
	}
	t.status.Label = label
	if st.State == api.StateDisconnected || st.State == api.StateError {
		t.toggle.Label, t.toggle.Action = "Connect", t.u.Connect
	} else {
		t.toggle.Label, t.toggle.Action = "Disconnect", t.u.Disconnect
	}
	t.menu.Refresh()
	t.d.SetSystemTrayIcon(icon)
}
