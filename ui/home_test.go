package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/api/apitest"
)

// TestConnectFlow taps Connect and follows every state the home screen
// shows: connecting with its stages, the circuit drawn hop by hop with
// country, price and round trip, connected with the exit, live
// throughput, reconnecting, and disconnect.
func TestConnectFlow(t *testing.T) {
	b := apitest.NewBackend()
	b.SetConnectDelay(time.Hour) // the test moves the state on itself
	h := serve(t, b, Options{})
	home := h.a.home.content

	h.untilText(home, "Disconnected")
	h.untilText(home, "Spent 4.82 PEX (≈ $2.41) of 10 PEX (≈ $5.00)")
	h.tap(h.a.home.button)
	h.untilText(home, "Connecting…")
	h.untilText(home, "Building the circuit")
	h.untilText(home, "[Cancel]")

	// The daemon reports the circuit, then the state.
	now := time.Now()
	c := api.Circuit{Profile: "default", BuiltAt: now, BuildMS: 912, Currency: apitest.Currency, Hops: []api.Hop{
		{Address: "0x1", Host: "a.example.net:8443", Country: "DE", Role: api.RoleRelay, PricePerGB: apitest.Tokens("0.01"), LatencyMS: 11},
		{Address: "0x2", Host: "b.example.net:8443", Country: "SE", Role: api.RoleRelay, PricePerGB: apitest.Tokens("0.015"), LatencyMS: 24},
		{Address: "0x3", Host: "c.example.net:8443", Country: "CH", Role: api.RoleExit, PricePerGB: apitest.Tokens("0.02"), LatencyMS: 37},
	}}
	b.Publish(api.Event{Type: api.EventCircuit, Time: now, Circuit: &c})
	h.untilText(home, "Circuit of 3 hops built; starting the tunnel")
	for _, want := range []string{
		"1. Entry  DE  ·  0.01 PEX (≈ $0.01)/GB  ·  11 ms  ·  a.example.net:8443",
		"2. Relay  SE  ·  0.015 PEX (≈ $0.01)/GB  ·  24 ms",
		"3. Exit  CH  ·  0.02 PEX (≈ $0.01)/GB  ·  37 ms",
		"Built in 912 ms",
	} {
		h.untilText(home, want)
	}
	st := api.Status{State: api.StateConnected, Since: now, ExitCountry: "CH", ExitHost: "c.example.net:8443", Mode: api.ModeTUN, KillSwitch: true}
	b.Publish(api.Event{Type: api.EventState, Time: now, State: &st})
	h.untilText(home, "Connected")
	h.untilText(home, "Exit in CH · c.example.net:8443")
	h.untilText(home, "[Disconnect]")

	for i := range 5 {
		tp := api.Throughput{RateDown: uint64(i+1) * 1_000_000, RateUp: 125_000}
		b.Publish(api.Event{Type: api.EventThroughput, Time: now, Throughput: &tp})
	}
	h.untilText(home, "↓ 40.0 Mbit/s   ↑ 1.0 Mbit/s")
	h.until("the chart holds five samples", func() bool { return len(h.a.home.chart.values) == 5 })
	sp := api.Spend{Hop: 2, Issued: apitest.Tokens("0.001"), PeriodSpent: apitest.Tokens("4.9"), Currency: apitest.Currency}
	b.Publish(api.Event{Type: api.EventSpend, Time: now, Spend: &sp})
	h.untilText(home, "Spent 4.9 PEX (≈ $2.45) of 10 PEX")

	re := api.Status{State: api.StateReconnecting, Error: "hop: circuit stalled", KillSwitch: true}
	b.Publish(api.Event{Type: api.EventState, Time: now, State: &re})
	h.untilText(home, "Reconnecting…")
	h.untilText(home, "The kill switch blocks traffic meanwhile. Last failure: hop: circuit stalled")

	h.tap(h.a.home.button) // Disconnect
	h.untilText(home, "Disconnected")
	h.untilText(home, "No circuit.")
	h.until("the throughput chart cleared", func() bool { return len(h.a.home.chart.values) == 0 })
	h.untilText(home, "↓ 0 bit/s")
	if calls := strings.Join(b.Calls(), " "); !strings.Contains(calls, "Connect") || !strings.Contains(calls, "Disconnect") {
		t.Fatalf("the backend saw %s; want a Connect and a Disconnect", calls)
	}

	// Now the backend's own connect, start to end.
	b.SetConnectDelay(0)
	h.tap(h.a.home.button)
	h.untilText(home, "Connected")
	h.untilText(home, "3. Exit  NL")
	h.untilText(home, "Exit in NL · node2.example.net:8443")
}
