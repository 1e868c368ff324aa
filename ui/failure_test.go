package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/api/apitest"
	"github.com/pexia-network/pexia/internal/testutil"
)

// TestDaemonNotRunning starts the app with no pexiad at the socket: it
// says so and how to start it; once pexiad listens there, Retry brings the
// screens up.
func TestDaemonNotRunning(t *testing.T) {
	dir, err := os.MkdirTemp("", "pexia-ui")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "pexiad.sock")
	b := apitest.NewBackend()
	t.Cleanup(b.Close)
	h := startApp(t, b, path, Options{})
	h.untilBanner("pexiad is not running")
	h.untilBanner("Start it (sudo systemctl start pexiad)")
	h.untilBanner("(no socket at " + path + ")")
	h.untilBanner("[Retry]")

	l, err := api.Listen(path, api.ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	srv := api.NewServer(b, api.ServerConfig{})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("api server shutdown: %v", err)
		}
		<-done
	})
	h.tap(h.a.failure.action)
	h.until("the banner to go", func() bool { return !h.a.failure.content.Visible() })
	h.untilText(h.a.home.content, "Disconnected")
}

// TestPermissionDenied: pexiad refuses the user; the app shows the
// daemon's message, which names the group to join.
func TestPermissionDenied(t *testing.T) {
	b := apitest.NewBackend()
	msg := `permission denied on /run/pexia/pexiad.sock: only root and members of group "pexia" may use pexiad; add your user to it (sudo usermod -aG pexia $USER) and log in again`
	b.FailNext("Status", &api.Error{Status: 403, Code: "forbidden", Message: msg})
	h := serve(t, b, Options{})
	h.untilBanner("Permission denied")
	h.untilBanner("sudo usermod -aG pexia $USER")
	h.untilBanner("Join the group the message names")
	h.tap(h.a.failure.action) // Retry: this time pexiad answers
	h.until("the banner to go", func() bool { return !h.a.failure.content.Visible() })
	h.untilText(h.a.home.content, "Disconnected")
}

// TestErrorStates: each error state the daemon reports is explained with
// its way out, and the banner's button opens the screen that helps.
func TestErrorStates(t *testing.T) {
	b := apitest.NewBackend()
	h := serve(t, b, Options{})
	h.untilText(h.a.home.content, "Disconnected")
	for _, tc := range []struct {
		reason, msg, title, fix, screen string
	}{
		{api.ReasonNoFunds, "fund hop 1: wallet holds too little: needs 2 PEX, holds 0.5 PEX", "No funds", "Deposit to your lottery account", "Wallet"},
		{api.ReasonNoNodes, "dir: no node passes the filter (exit countries: IS)", "No nodes match", "Allow more exit countries", "Settings"},
		{api.ReasonChainUnreachable, "chain: RPC endpoint unavailable: dial tcp 127.0.0.1:8545: connection refused", "The chain is unreachable", "Check the network connection", "Settings"},
		{api.ReasonBudgetExhausted, "budget: budget exhausted for this period", "Budget exhausted", "Raise this month's budget", "Budget"},
		{"", "hop 2 refused the circuit", "Could not connect", "Connect again", ""},
	} {
		t.Run(tc.title, func(t *testing.T) {
			h.ui(func() { h.a.Show("Home") })
			st := api.Status{State: api.StateError, Error: tc.msg, Reason: tc.reason}
			b.Publish(api.Event{Type: api.EventState, Time: time.Now(), State: &st})
			h.untilBanner(tc.title)
			h.untilBanner(tc.msg)
			h.untilBanner(tc.fix)
			h.untilText(h.a.home.content, "Error: "+tc.title)
			h.untilText(h.a.home.content, "[Connect]")
			if tc.screen == "" {
				h.untilBanner("[Retry]")
				return
			}
			h.untilBanner("[Open " + tc.screen + "]")
			h.tap(h.a.failure.action)
			h.until(tc.screen+" shown", func() bool { return h.a.tabs.Selected().Text == tc.screen })
		})
	}
	// Connecting again clears the error.
	h.tap(h.a.home.button)
	h.untilText(h.a.home.content, "Connected")
	h.until("the banner to go", func() bool { return !h.a.failure.content.Visible() })
}

// TestConnectRefused: pexiad refuses the connect itself (the chain is
// down); the app says so and keeps the connect control usable.
func TestConnectRefused(t *testing.T) {
	b := apitest.NewBackend()
	b.FailNext("Connect", fmt.Errorf("%w: chain: RPC endpoint unavailable", api.ErrUnavailable))
	var statuses atomic.Int32 // statuses applied
	h := serve(t, b, Options{OnStatus: func(api.Status) { statuses.Add(1) }})
	h.untilText(h.a.home.content, "Disconnected")
	h.tap(h.a.home.button)
	h.untilBanner("The chain is unreachable")
	h.untilBanner("RPC endpoint unavailable")
	h.until("the connect control enabled again", func() bool { return !h.a.home.button.Disabled() })
	if got := h.screenText(h.a.home.content); !strings.Contains(got, "[Connect]") {
		t.Fatalf("the home screen shows no Connect control:\n%s", got)
	}
	// A status that only repeats the state the connect failed in (the
	// event stream reconnecting, a late answer) keeps the reason shown.
	seen := statuses.Load()
	b.Publish(api.Event{Type: api.EventState, Time: time.Now(), State: &api.Status{State: api.StateDisconnected, Since: time.Now()}})
	h.until("the repeated status applied", func() bool { return statuses.Load() > seen })
	h.untilBanner("The chain is unreachable")
	// A new state does clear it.
	b.Publish(api.Event{Type: api.EventState, Time: time.Now(), State: &api.Status{State: api.StateConnecting, Since: time.Now()}})
	h.until("the banner to go", func() bool { return !h.a.failure.content.Visible() })
}

// TestPermissionDeniedNoGroup: pexiad started with no group (-group "")
// lets only root use it, so there is no group to join; the fix line says
// what to do instead, whether the socket's permissions refuse the user or
// pexiad's own check does. A user outside a group that exists is still
// told to join it.
func TestPermissionDeniedNoGroup(t *testing.T) {
	other := testutil.NewUser(t, "pxgr") // its group is one the app's user is not in
	for _, tc := range []struct {
		name string
		cfg  api.ServerConfig
		want string
	}{
		// The socket, root's with no group, refuses the user (api.Client's dial).
		{"socket", api.ServerConfig{}, "pexiad lets no group use it"},
		// Anyone may reach the socket; pexiad's access check refuses.
		{"server", api.ServerConfig{Mode: 0o666}, "pexiad lets no group use it"},
		// A group may use pexiad, and the user is not in it.
		{"group", api.ServerConfig{Group: other.Group}, "Join the group the message names"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := apitest.NewBackend()
			t.Cleanup(b.Close)
			socket := apitest.Serve(t, b, tc.cfg)
			banner := permissionDenied(t, socket)
			if !strings.Contains(banner, tc.want) {
				t.Fatalf("the fix line does not say %q; the banner: %s", tc.want, banner)
			}
			if tc.cfg.Group == "" && strings.Contains(banner, "Join the group") {
				t.Fatalf("with no group the banner says to join one: %s", banner)
			}
		})
	}
}
