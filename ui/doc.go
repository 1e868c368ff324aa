// Package ui is the Fyne desktop app. It talks to pexiad over the local API
// only (api.Client) and holds no logic that the CLI would also need.
//
// One file per screen: home.go (the connect control, the circuit, live
// throughput, this month's spend), budget.go, apps.go (split-tunnel rules,
// installed applications, and what each application did this month from
// GET /v1/apps, named by its desktop entry), wallet.go (with the funder's
// QR code, drawn by the encoder Options.QRCode gives, so that this package
// imports only api and Fyne) and settings.go (with the entry guards, and
// the admin-only settings read-only for a member); failure.go turns API
// errors and error states into what the user can do about them, and
// limit.go, shown in the failure banner and on the Budget screen, says
// what happens once the month's budget is spent and offers the choices
// (raise the budget, keep traffic held, throttle to the floor, go direct)
// as the settings' at_limit.
//
// Every API call runs off the UI goroutine (App.call); results come back
// through App.do, which hands them to fyne.Do. The package does not import
// fyne.io/fyne/v2/app, so its tests run with Fyne's test driver and no
// display; cmd/pexia-gui makes the real app and window and calls New.
//
// Departures from ARCHITECTURE.md: the circuit's build progress is shown
// in stages the API reports (requested, circuit built, connected); the
// API reports no per-hop progress while building.
package ui
