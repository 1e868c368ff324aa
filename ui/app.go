package ui

import (
	"context"
	"errors"
	"image"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"

	"github.com/pexia-network/pexia/api"
)

// callTimeout bounds one API call made for the user.
const callTimeout = 30 * time.Second

// retryEvery is how often the app tries pexiad again while it cannot
// reach it (Retry tries at once).
const retryEvery = 2 * time.Second

// Options configure New.
type Options struct {
	// Title is the window's title; "Pexia" if empty.
	Title string
	// OnStatus, if set, is called on the UI goroutine with every status
	// the app shows (the tray follows it).
	OnStatus func(api.Status)
	// AppDirs are the directories of desktop entries the Apps screen
	// lists; nil uses the XDG applications directories.
	AppDirs []string
	// QRCode, if set, renders text as a QR code: the Wallet screen shows
	// the funder's address as one. (The encoder comes from the caller:
	// this package imports only api and Fyne.)
	QRCode func(text string) (image.Image, error)
}

// App is the desktop app: a window of five screens fed by one
// api.Client. Create it with New, start it with Start and stop it with
// Close.
type App struct {
	fa  fyne.App
	win fyne.Window
	c   *api.Client
	opt Options

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	kick   chan struct{}

	// uiMu is held by every update of the widgets that App.do makes. On
	// a real display fyne.Do runs those on the UI goroutine and uiMu is
	// never contended; under Fyne's test driver fyne.Do runs them on the
	// caller's goroutine, and tests take uiMu to read or tap widgets.
	uiMu sync.Mutex

	root     *fyne.Container
	tabs     *container.AppTabs
	failure  *failureBanner
	home     *homeScreen
	budget   *budgetScreen
	apps     *appsScreen
	wallet   *walletScreen
	settings *settingsScreen

	// Guarded by uiMu (set on the UI goroutine).
	status api.Status
	admin  bool
}

// New builds the app's screens into w. It makes no API call until Start.
func New(fa fyne.App, w fyne.Window, c *api.Client, opt Options) *App {
	if opt.Title == "" {
		opt.Title = "Pexia"
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &App{fa: fa, win: w, c: c, opt: opt, ctx: ctx, cancel: cancel, kick: make(chan struct{}, 1)}
	a.failure = newFailureBanner(a)
	a.home = newHomeScreen(a)
	a.budget = newBudgetScreen(a)
	a.apps = newAppsScreen(a)
	a.wallet = newWalletScreen(a)
	a.settings = newSettingsScreen(a)
	a.tabs = container.NewAppTabs(
		container.NewTabItemWithIcon("Home", theme.HomeIcon(), a.home.content),
		container.NewTabItemWithIcon("Budget", theme.ListIcon(), a.budget.content),
		container.NewTabItemWithIcon("Apps", theme.GridIcon(), a.apps.content),
		container.NewTabItemWithIcon("Wallet", theme.AccountIcon(), a.wallet.content),
		container.NewTabItemWithIcon("Settings", theme.SettingsIcon(), a.settings.content),
	)
	a.tabs.OnSelected = func(it *container.TabItem) {
		if it.Text == "Apps" {
			a.apps.loadUsage()
		}
	}
	w.SetTitle(opt.Title)
	a.root = container.NewBorder(a.failure.content, nil, nil, nil, a.tabs)
	w.SetContent(a.root)
	a.addShortcuts()
	a.showLimit()
	return a
}

// Window returns the app's window.
func (a *App) Window() fyne.Window { return a.win }

// Start follows pexiad: it loads every screen and keeps them current from
// the event stream, and shows what to do while pexiad cannot be reached.
func (a *App) Start() {
	a.wg.Add(1)
	go a.run()
}

// Close stops following pexiad and waits for every API call the app
// started.
func (a *App) Close() {
	a.cancel()
	a.budget.stop()
	a.wg.Wait()
}

// Retry makes the app try pexiad again at once.
func (a *App) Retry() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// Connect asks pexiad to connect with the settings' hops and countries.
func (a *App) Connect() { a.home.connect() }

// Disconnect asks pexiad to disconnect.
func (a *App) Disconnect() { a.home.disconnect() }

// Show brings the named screen ("Home", "Budget", "Apps", "Wallet",
// "Settings") to the front.
func (a *App) Show(screen string) {
	for _, it := range a.tabs.Items {
		if it.Text == screen {
			a.tabs.Select(it)
		}
	}
}

// do runs fn on the UI goroutine (fyne.Do) with uiMu held. Only code off
// the UI goroutine calls it.
func (a *App) do(fn func()) {
	fyne.Do(func() {
		a.uiMu.Lock()
		defer a.uiMu.Unlock()
		fn()
	})
}

// call runs fn off the UI goroutine with a deadline, unless the app is
// closing. fn hands its results to the UI with a.do.
func (a *App) call(fn func(ctx context.Context)) {
	if a.ctx.Err() != nil {
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		ctx, cancel := context.WithTimeout(a.ctx, callTimeout)
		defer cancel()
		fn(ctx)
	}()
}

// errStreamEnded: pexiad ended the event stream (it stopped, or this app
// fell behind); the app reconnects.
var errStreamEnded = errors.New("the connection to pexiad ended")

func (a *App) run() {
	defer a.wg.Done()
	for {
		err := a.follow()
		if a.ctx.Err() != nil {
			return
		}
		if !errors.Is(err, errStreamEnded) {
			f := classify(err)
			a.do(func() { a.failure.show(f) })
			select {
			case <-a.ctx.Done():
				return
			case <-a.kick:
			case <-time.After(retryEvery):
			}
		}
	}
}

// follow loads the state and applies the event stream until it ends.
func (a *App) follow() error {
	ctx, cancel := context.WithCancel(a.ctx)
	defer cancel()
	st, err := a.c.Status(ctx)
	if err != nil {
		return err
	}
	events, err := a.c.Events(ctx)
	if err != nil {
		return err
	}
	a.do(func() {
		a.failure.hide(failureDaemon)
		a.setStatus(st)
	})
	a.refresh()
	for ev := range events {
		a.apply(ev)
	}
	if a.ctx.Err() != nil {
		return a.ctx.Err()
	}
	return errStreamEnded
}

// refresh reloads every screen's data.
func (a *App) refresh() {
	a.home.load()
	a.budget.load()
	a.apps.load()
	a.wallet.load()
	a.settings.load()
	a.call(func(ctx context.Context) {
		// Only an admin may read the runtime figures: the answer says
		// whether this user may change the admin-only settings.
		_, err := a.c.Runtime(ctx)
		admin := err == nil
		a.do(func() {
			a.admin = admin
			a.settings.setAdmin(admin)
			a.showLimit()
		})
	})
}

func (a *App) apply(ev api.Event) {
	switch ev.Type {
	case api.EventState:
		if ev.State != nil {
			st := *ev.State
			a.do(func() { a.setStatus(st) })
		}
	case api.EventThroughput:
		if t := ev.Throughput; t != nil {
			tp := *t
			a.do(func() { a.home.setThroughput(tp) })
		}
	case api.EventCircuit:
		if c := ev.Circuit; c != nil {
			ci := *c
			a.do(func() { a.home.setCircuit(ci) })
		}
	case api.EventSpend:
		if s := ev.Spend; s != nil {
			sp := *s
			a.do(func() {
				a.home.setSpent(sp.PeriodSpent, sp.Currency)
				a.budget.setSpent(sp.PeriodSpent)
			})
		}
	}
}

// setStatusIfNewer shows st, the answer to a request, unless the event
// stream has already shown a later state: a connect's answer
// ("connecting") can arrive after the events of the connect's end.
func (a *App) setStatusIfNewer(st api.Status) {
	if st.State == "" || (!st.Since.IsZero() && st.Since.Before(a.status.Since)) {
		return
	}
	a.setStatus(st)
}

// setStatus shows st everywhere; on the UI goroutine.
func (a *App) setStatus(st api.Status) {
	prev := a.status.State
	a.status = st
	a.home.setStatus(st)
	a.apps.setStatus(st)
	if st.Guards != nil {
		a.settings.setGuards(st.Guards)
	}
	// A status that repeats the state a refused connect left (the event
	// stream reconnecting, a late answer) says nothing new: the refusal's
	// reason stays until the state moves. At the budget's limit the banner
	// offers the choices instead (showLimit).
	switch {
	case st.AtLimit != "":
	case st.State == api.StateError:
		a.failure.show(classifyStatus(st))
	case st.State != prev:
		a.failure.hide(failureConnect)
	}
	a.showLimit()
	if st.State == api.StateConnected && prev != api.StateConnected {
		a.home.load()
	}
	if a.opt.OnStatus != nil {
		a.opt.OnStatus(st)
	}
}

// addShortcuts makes the app keyboard operable beyond Tab and Space:
// Alt+1…5 show a screen, Ctrl+Enter connects or disconnects, F5 reloads.
func (a *App) addShortcuts() {
	c := a.win.Canvas()
	for i, name := range []string{"Home", "Budget", "Apps", "Wallet", "Settings"} {
		c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyName(rune('1' + i)), Modifier: fyne.KeyModifierAlt}, func(fyne.Shortcut) { a.Show(name) })
	}
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyReturn, Modifier: fyne.KeyModifierShortcutDefault}, func(fyne.Shortcut) { a.home.toggle() })
	c.SetOnTypedKey(func(k *fyne.KeyEvent) {
		if k.Name == fyne.KeyF5 {
			a.Retry()
			a.refresh()
		}
	})
}
