// Package apitest provides an in-memory api.Backend with plausible data and
// a helper that serves a Backend on a real unix socket, for tests of the
// API's clients (the pexia CLI, the desktop app) without a daemon.
package apitest

import (
	"context"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/rules"
)

// daysLeft is what the Backend's remaining budget lasts at its demand.
var daysLeft = 9.2

// Currency is the token of Backend's amounts.
var Currency = api.Currency{Symbol: "PEX", Decimals: 18, Token: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
	Price: &api.Price{Fiat: "USD", PerToken: "0.5", Source: api.PriceFixed, AsOf: time.Date(2026, 3, 22, 12, 0, 0, 0, time.UTC)}}

// Tokens returns whole tokens of Currency as an Amount; it panics on a
// malformed literal, which is a bug in the test.
func Tokens(s string) api.Amount {
	a, err := api.ParseAmount(s, Currency.Decimals)
	if err != nil {
		panic(err)
	}
	return a
}

// Backend is an in-memory api.Backend. Connect moves to connecting, then
// after ConnectDelay to connected with a circuit of the requested length,
// publishing a state event at each step and a circuit event; Disconnect
// goes back. FailNext makes a method fail once. It is safe for concurrent
// use; Close stops its timers and ends every event stream.
type Backend struct {
	feed *api.Feed

	mu       sync.Mutex
	status   api.Status   // guarded by mu
	circuit  api.Circuit  // guarded by mu
	settings api.Settings // guarded by mu
	budget   api.Budget   // guarded by mu
	wallet   api.Wallet   // guarded by mu
	rules    rules.Set    // guarded by mu
	apps     api.Apps     // guarded by mu
	delay    time.Duration
	fail     map[string]error // method → error for its next call
	calls    []string
	timers   []*time.Timer
	closed   bool
}

var _ api.Backend = (*Backend)(nil)

// NewBackend returns a disconnected Backend with default settings, a
// 10-token monthly budget partly spent, and a funded wallet.
func NewBackend() *Backend {
	now := time.Now().UTC().Truncate(time.Second)
	start := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	return &Backend{
		feed:  api.NewFeed(256),
		fail:  make(map[string]error),
		rules: rules.DefaultSet(),
		apps:  defaultApps(),
		status: api.Status{State: api.StateDisconnected, Since: now, KillSwitch: true, ExcludedDNS: api.DNSTunnel, Mode: api.ModeTUN, BytesUp: 3 << 20, BytesDown: 250 << 20,
			Guards: []api.Guard{
				{Address: "0x00000000000000000000000000000000000a11ce", Country: "DE", Added: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), Expires: time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)},
				{Address: "0x00000000000000000000000000000000000b0b00", Country: "CH", Added: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC), Expires: time.Date(2027, 1, 20, 0, 0, 0, 0, time.UTC), Failures: 1},
			}},
		settings: api.Settings{
			Hops: 3, KillSwitch: true, DNSMode: api.DNSTunnel, ExcludedDNS: api.DNSTunnel, ExitCountries: []string{},
			ExcludeCIDRs: []string{}, MonthlyBudget: Tokens("10"), Currency: Currency,
		},
		budget: api.Budget{
			Monthly: Tokens("10"), PeriodStart: start, PeriodEnd: start.AddDate(0, 1, 0),
			Spent: Tokens("4.82"), Issued: Tokens("4.9"), Remaining: Tokens("5.18"),
			Forecast: Tokens("9.98"), ForecastLow: Tokens("9.91"), ForecastHigh: Tokens("10.002"),
			RatePerHour: Tokens("0.012"), Tickets: 95012, Wins: 2410,
			DemandPerHour: Tokens("0.0235"), DaysLeft: &daysLeft, RunOutProbability: 0.034, TimeZone: "UTC",
			PerHop: []api.SpendTotal{
				{Key: "0", Issued: Tokens("1.6"), Spent: Tokens("1.58"), Tickets: 31000, Wins: 790},
				{Key: "1", Issued: Tokens("1.6"), Spent: Tokens("1.6"), Tickets: 31000, Wins: 800},
				{Key: "2", Issued: Tokens("1.7"), Spent: Tokens("1.64"), Tickets: 33012, Wins: 820},
			},
			PerApp: []api.SpendTotal{
				{Key: "1000:/usr/lib/firefox/firefox", Issued: Tokens("3.1"), Spent: Tokens("3.05"), Tickets: 61000, Wins: 1550},
				{Key: "0:/usr/bin/apt", Issued: Tokens("1.7"), Spent: Tokens("1.67"), Tickets: 33000, Wins: 840},
				{Key: "?:(unknown)", Issued: Tokens("0.1"), Spent: Tokens("0.1"), Tickets: 12, Wins: 20},
			},
			PerDay: []api.SpendTotal{
				{Key: start.Format("2006-01-02"), Issued: Tokens("4.9"), Spent: Tokens("4.82"), Tickets: 95012, Wins: 2410},
			},
			Currency: Currency, AtLimit: api.LimitStop,
		},
		wallet: api.Wallet{
			Funder: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", Token: Currency,
			FunderBalance: Tokens("250"), Balance: Tokens("40.5"), Escrow: Tokens("2"),
			PendingWinners: 3, PendingAmount: Tokens("0.006"),
			Signers: []api.Signer{{Address: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", Funder: "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
				Hop: 0, Epoch: 2969, State: api.AccountCurrent, Balance: Tokens("40.5"), Escrow: Tokens("2")}},
			Epoch: 2969, NextRotation: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC),
		},
	}
}

// SetConnectDelay sets how long Connect stays in connecting.
func (b *Backend) SetConnectDelay(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.delay = d
}

// FailNext makes the next call of method (e.g. "Status") return err.
func (b *Backend) FailNext(method string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fail[method] = err
}

// Calls returns the names of the methods called so far, in order.
func (b *Backend) Calls() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.calls)
}

// Publish sends ev to every event stream.
func (b *Backend) Publish(ev api.Event) { b.feed.Publish(ev) }

// Subscribers returns the number of open event subscriptions.
func (b *Backend) Subscribers() int { return b.feed.Subscribers() }

// Close stops pending state changes and ends every event stream.
func (b *Backend) Close() {
	b.mu.Lock()
	b.closed = true
	for _, t := range b.timers {
		t.Stop()
	}
	b.mu.Unlock()
	b.feed.Close()
}

// enter records a call and returns the error queued for it; b.mu is held
// on return.
func (b *Backend) enter(method string) error {
	b.mu.Lock()
	b.calls = append(b.calls, method)
	err := b.fail[method]
	delete(b.fail, method)
	return err
}

func (b *Backend) setStateLocked(s api.State) api.Event {
	b.status.State = s
	b.status.Since = time.Now()
	st := b.status
	return api.Event{Type: api.EventState, Time: st.Since, State: &st}
}

// Status implements api.Backend.
func (b *Backend) Status(ctx context.Context) (api.Status, error) {
	err := b.enter("Status")
	defer b.mu.Unlock()
	return b.status, err
}

// Connect implements api.Backend.
func (b *Backend) Connect(ctx context.Context, req api.ConnectRequest) (api.Status, error) {
	if err := b.enter("Connect"); err != nil {
		b.mu.Unlock()
		return api.Status{}, err
	}
	hops := req.Hops
	if hops == 0 {
		hops = b.settings.Hops
	}
	country := req.Country
	if country == "" && len(b.settings.ExitCountries) > 0 {
		country = b.settings.ExitCountries[0]
	}
	if country == "" {
		country = "NL"
	}
	b.status.AtLimit, b.status.Error, b.status.Reason = "", "", ""
	ev := b.setStateLocked(api.StateConnecting)
	st := b.status
	// Published under b.mu, as every state change is, so the events
	// leave in the order the states changed: with no delay the connect's
	// end could otherwise be published before its start.
	b.feed.Publish(ev)
	b.timers = append(b.timers, time.AfterFunc(b.delay, func() { b.finishConnect(hops, country) }))
	b.mu.Unlock()
	return st, nil
}

func (b *Backend) finishConnect(hops int, country string) {
	b.mu.Lock()
	if b.closed || b.status.State != api.StateConnecting {
		b.mu.Unlock()
		return
	}
	now := time.Now()
	c := api.Circuit{Profile: "default", BuiltAt: now, BuildMS: 840, Currency: Currency}
	for i := range hops {
		h := api.Hop{
			Address:    fmt.Sprintf("0x%040x", 0xa11ce+i),
			Host:       "node" + strconv.Itoa(i) + ".example.net:8443",
			Country:    []string{"DE", "FR", "SE", "CH", "NL"}[i%5],
			Role:       api.RoleRelay,
			PricePerGB: Tokens("0.01"),
			LatencyMS:  12.5 * float64(i+1),
			BytesUp:    1 << 20, BytesDown: 30 << 20,
			Paid: Tokens("0.0003"),
		}
		if i == hops-1 {
			h.Role, h.Country, h.PricePerGB = api.RoleExit, country, Tokens("0.02")
		}
		c.Hops = append(c.Hops, h)
	}
	b.circuit = c
	exit := c.Hops[len(c.Hops)-1]
	b.status.Profile, b.status.ExitCountry, b.status.ExitAddr, b.status.ExitHost = c.Profile, exit.Country, exit.Address, exit.Host
	b.status.RateUp, b.status.RateDown = 150_000, 2_500_000
	ev := b.setStateLocked(api.StateConnected)
	b.feed.Publish(api.Event{Type: api.EventCircuit, Time: now, Circuit: &c})
	b.feed.Publish(ev)
	b.limitLocked() // a spent budget holds the new session at once
	b.mu.Unlock()
}

// Disconnect implements api.Backend.
func (b *Backend) Disconnect(ctx context.Context) (api.Status, error) {
	if err := b.enter("Disconnect"); err != nil {
		b.mu.Unlock()
		return api.Status{}, err
	}
	b.circuit = api.Circuit{}
	b.status.Profile, b.status.ExitCountry, b.status.ExitAddr, b.status.ExitHost = "", "", "", ""
	b.status.RateUp, b.status.RateDown = 0, 0
	b.status.AtLimit, b.status.Error, b.status.Reason = "", "", ""
	ev := b.setStateLocked(api.StateDisconnected)
	st := b.status
	b.feed.Publish(ev)
	b.mu.Unlock()
	return st, nil
}

// Circuit implements api.Backend.
func (b *Backend) Circuit(ctx context.Context) (api.Circuit, error) {
	err := b.enter("Circuit")
	defer b.mu.Unlock()
	if err == nil && b.status.State != api.StateConnected {
		err = fmt.Errorf("%w: no circuit while %s", api.ErrNotConnected, b.status.State)
	}
	return b.circuit, err
}

// Settings implements api.Backend.
func (b *Backend) Settings(ctx context.Context) (api.Settings, error) {
	err := b.enter("Settings")
	defer b.mu.Unlock()
	return b.settings, err
}

// SetSettings implements api.Backend.
func (b *Backend) SetSettings(ctx context.Context, s api.Settings) (api.Settings, error) {
	if err := b.enter("SetSettings"); err != nil {
		b.mu.Unlock()
		return api.Settings{}, err
	}
	defer b.mu.Unlock()
	s.Currency = Currency
	b.settings = s
	b.status.KillSwitch, b.status.Lockdown, b.status.ExcludedDNS = s.KillSwitch, s.Lockdown, s.ExcludedDNSMode()
	b.setBudgetLocked(s.MonthlyBudget)
	b.limitLocked()
	return b.settings, nil
}

// Budget implements api.Backend.
func (b *Backend) Budget(ctx context.Context) (api.Budget, error) {
	err := b.enter("Budget")
	defer b.mu.Unlock()
	return b.budget, err
}

// SetBudget implements api.Backend.
func (b *Backend) SetBudget(ctx context.Context, monthly api.Amount) (api.Budget, error) {
	if err := b.enter("SetBudget"); err != nil {
		b.mu.Unlock()
		return api.Budget{}, err
	}
	defer b.mu.Unlock()
	b.setBudgetLocked(monthly)
	b.settings.MonthlyBudget = monthly
	b.limitLocked()
	return b.budget, nil
}

func (b *Backend) setBudgetLocked(monthly api.Amount) {
	b.budget.Monthly = monthly
	rem := new(big.Int).Sub(monthly.Big(), b.budget.Spent.Big())
	b.budget.Remaining = api.NewAmount(rem) // clamped at 0
}

// SpendAll spends what is left of the month's budget, as traffic would,
// and publishes the spend. The Backend is then at the budget's limit and does what its settings'
// at_limit says, as pexiad does: with stop (the default) or direct a
// connected session holds in the error state with
// api.ReasonBudgetExhausted; with throttle it stays connected at the
// floor. Status.AtLimit names the action in force and Budget.Limited is
// set. A change of at_limit while at the limit applies the new action; a
// budget raised above the spend resumes the session.
func (b *Backend) SpendAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.budget.Spent = b.budget.Monthly
	b.budget.Remaining = api.Amount{}
	b.feed.Publish(api.Event{Type: api.EventSpend, Time: time.Now(),
		Spend: &api.Spend{Node: b.status.ExitAddr, PeriodSpent: b.budget.Spent, Currency: Currency}})
	b.limitLocked()
}

// limitLocked brings the budget's and the session's state at the limit up
// to date with the spend and the settings, publishing a state event if
// the session's state changes.
func (b *Backend) limitLocked() {
	action := b.settings.AtLimit
	if action == "" {
		action = api.LimitStop
	}
	b.budget.AtLimit, b.budget.FloorKbps = action, 0
	if action == api.LimitThrottle {
		b.budget.FloorKbps = b.settings.FloorKbps
	}
	limited := b.budget.Spent.Cmp(b.budget.Monthly) >= 0
	b.budget.Limited = limited
	held := b.status.State == api.StateError && b.status.AtLimit != ""
	if b.status.State != api.StateConnected && !held {
		return // no session to hold
	}
	state, at, msg, reason := api.StateConnected, api.LimitAction(""), "", ""
	if limited {
		at = action
		switch action {
		case api.LimitStop:
			state, reason = api.StateError, api.ReasonBudgetExhausted
			msg = "at the budget's limit, traffic is held (the tunnel stays up) until the budget is raised or the month ends: budget: budget exhausted for this period"
		case api.LimitDirect:
			state, reason = api.StateError, api.ReasonBudgetExhausted
			msg = "at the budget's limit, traffic goes direct, outside the tunnel, until the budget is raised or the month ends: budget: budget exhausted for this period"
		}
	}
	if state == b.status.State && at == b.status.AtLimit {
		return
	}
	b.status.AtLimit, b.status.Error, b.status.Reason = at, msg, reason
	b.feed.Publish(b.setStateLocked(state))
}

// Wallet implements api.Backend.
func (b *Backend) Wallet(ctx context.Context) (api.Wallet, error) {
	err := b.enter("Wallet")
	defer b.mu.Unlock()
	return b.wallet, err
}

// Subscribe implements api.Backend.
func (b *Backend) Subscribe() (<-chan api.Event, func()) {
	b.mu.Lock()
	b.calls = append(b.calls, "Subscribe")
	b.mu.Unlock()
	return b.feed.Subscribe()
}

// Serve serves b on a fresh unix socket in a temporary directory until
// the test ends, and returns the socket's path. cfg's zero value allows
// only root and the test's own user.
func Serve(tb testing.TB, b api.Backend, cfg api.ServerConfig) string {
	tb.Helper()
	// A short directory: socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "pexia-api")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "pexiad.sock")
	l, err := api.Listen(path, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	srv := api.NewServer(b, cfg)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			tb.Errorf("api server shutdown: %v", err)
		}
		if err := <-done; err != nil {
			tb.Errorf("api server: %v", err)
		}
	})
	return path
}
