package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/api/apitest"
)

// decode parses a command's -json output into v, failing on unknown
// fields: the output must be exactly the API object.
func decode(t *testing.T, out string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("output %q does not parse as %T: %v", out, v, err)
	}
}

// TestCommandsEndToEnd runs the commands in process against a real API
// server on a unix socket.
func TestCommandsEndToEnd(t *testing.T) {
	b := apitest.NewBackend()
	t.Cleanup(b.Close)
	b.SetConnectDelay(50 * time.Millisecond)
	sock := apitest.Serve(t, b, api.ServerConfig{})
	env := map[string]string{"PEXIA_SOCKET": sock}
	ok := func(args ...string) string {
		t.Helper()
		code, out, errs := runArgs(t, env, args...)
		if code != 0 {
			t.Fatalf("pexia %s: exit %d: %s", strings.Join(args, " "), code, errs)
		}
		return out
	}

	var st api.Status
	decode(t, ok("status", "--json"), &st)
	if st.State != api.StateDisconnected || st.BytesDown != 250<<20 {
		t.Fatalf("status --json = %+v", st)
	}
	if out := ok("status"); !strings.HasPrefix(out, "state        disconnected for ") || !strings.Contains(out, "received     250.0 MiB at 0 bit/s\n") ||
		!strings.Contains(out, "exclude dns  tunnel\n") {
		t.Fatalf("status text:\n%s", out)
	}

	code, _, errs := runArgs(t, env, "circuit")
	if code != 1 || errs != "pexia: not connected: no circuit while disconnected\n" {
		t.Fatalf("circuit while disconnected: exit %d, %q", code, errs)
	}

	decode(t, ok("connect", "-hops", "2", "-country", "ch", "-wait", "-json"), &st)
	if st.State != api.StateConnected || st.ExitCountry != "CH" {
		t.Fatalf("connect -wait = %+v, want connected via CH", st)
	}
	var c api.Circuit
	decode(t, ok("-socket", sock, "circuit", "-json"), &c)
	if len(c.Hops) != 2 || c.Hops[1].Country != "CH" || c.Hops[1].Address != st.ExitAddr {
		t.Fatalf("circuit -json = %+v", c)
	}
	if out := ok("circuit"); !strings.Contains(out, "1    exit   CH") {
		t.Fatalf("circuit text:\n%s", out)
	}

	var bud api.Budget
	decode(t, ok("budget", "set", "12.5", "--json"), &bud)
	if bud.Monthly.Cmp(apitest.Tokens("12.5")) != 0 {
		t.Fatalf("budget set 12.5 = %v", bud.Monthly)
	}
	if out := ok("budget"); !strings.Contains(out, "budget    12.5 PEX ($6.25) a month\n") {
		t.Fatalf("budget text:\n%s", out)
	}
	code, _, errs = runArgs(t, env, "budget", "set", "1.5.0")
	if code != 1 || !strings.Contains(errs, `budget set: bad amount "1.5.0"`) {
		t.Fatalf("budget set 1.5.0: exit %d, %q", code, errs)
	}

	var s api.Settings
	decode(t, ok("settings", "hops=4", "exit_countries=se,nl", "kill_switch=off", "-json"), &s)
	if s.Hops != 4 || strings.Join(s.ExitCountries, ",") != "SE,NL" || s.KillSwitch || s.MonthlyBudget.Cmp(apitest.Tokens("12.5")) != 0 {
		t.Fatalf("settings after set = %+v", s)
	}
	decode(t, ok("settings", "--json"), &s)
	if s.Hops != 4 {
		t.Fatalf("settings not kept: %+v", s)
	}
	code, _, errs = runArgs(t, env, "settings", "lockdown=on", "hops=0")
	if code != 1 || errs != "pexia: invalid settings: hops: 0 out of range 1-5; lockdown: needs kill_switch on\n" {
		t.Fatalf("invalid settings: exit %d, %q", code, errs)
	}
	if out := ok("settings"); !strings.Contains(out, "exit_countries    SE,NL\n") {
		t.Fatalf("settings text:\n%s", out)
	}

	var w api.Wallet
	decode(t, ok("wallet", "-json"), &w)
	if w.Funder == "" || len(w.Signers) != 1 {
		t.Fatalf("wallet -json = %+v", w)
	}

	// events: the current state first, then whatever the daemon publishes.
	go func() {
		for deadline := time.Now().Add(5 * time.Second); b.Subscribers() == 0; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				return // the events command failed; it reports that
			}
		}
		b.Publish(api.Event{Type: api.EventLog, Time: time.Now(), Log: &api.LogLine{Level: "info", Message: "hello"}})
		b.Publish(api.Event{Type: api.EventThroughput, Time: time.Now(), Throughput: &api.Throughput{RateDown: 1000}})
	}()
	out := ok("events", "-count", "3", "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("events -count 3 printed %d lines:\n%s", len(lines), out)
	}
	var evs []api.Event
	for _, l := range lines {
		var ev api.Event
		decode(t, l, &ev)
		evs = append(evs, ev)
	}
	if evs[0].Type != api.EventState || evs[0].State.State != api.StateConnected || evs[1].Log.Message != "hello" || evs[2].Throughput.RateDown != 1000 {
		t.Fatalf("events = %+v", evs)
	}

	decode(t, ok("disconnect", "-json"), &st)
	if st.State != api.StateDisconnected {
		t.Fatalf("disconnect = %+v", st)
	}

	// connect -wait reports a failure the daemon gives.
	b.FailNext("Connect", api.ErrBusy)
	code, _, errs = runArgs(t, env, "connect", "-wait")
	if code != 1 || errs != "pexia: busy\n" {
		t.Fatalf("connect with a busy daemon: exit %d, %q", code, errs)
	}
	// and gives up after -timeout.
	b.SetConnectDelay(time.Hour)
	code, _, errs = runArgs(t, env, "connect", "-wait", "-timeout", "100ms")
	if code != 1 || errs != "pexia: not connected after 100ms (still connecting)\n" {
		t.Fatalf("connect -timeout: exit %d, %q", code, errs)
	}
}
