package main

import (
	"bytes"
	"encoding/json"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/api/apitest"
)

func TestUnits(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{formatBytes(0), "0 B"},
		{formatBytes(1023), "1023 B"},
		{formatBytes(1536), "1.5 KiB"},
		{formatBytes(250 << 20), "250.0 MiB"},
		{formatBytes(1342177280), "1.25 GiB"},
		{formatBytes(3 << 40), "3.00 TiB"},
		{formatRate(0), "0 bit/s"},
		{formatRate(100), "800 bit/s"},
		{formatRate(118_750), "950 kbit/s"},
		{formatRate(2_500_000), "20.0 Mbit/s"},
		{formatRate(131_250_000), "1.05 Gbit/s"},
		{formatDuration(45 * time.Second), "45s"},
		{formatDuration(3*time.Minute + 12*time.Second + 400*time.Millisecond), "3m12s"},
		{formatDuration(2*time.Hour + 5*time.Minute), "2h05m"},
		{formatDuration(76 * time.Hour), "3d4h"},
		{tokens(apitest.Tokens("4.82"), apitest.Currency), "4.82 PEX"},
		{tokens(apitest.Tokens("0.0000001"), apitest.Currency), "<0.000001 PEX"},
		{tokens(api.AmountOf(1500), api.Currency{}), "<0.000001 tokens"},
		{tokensUSD(apitest.Tokens("4.82"), apitest.Currency), "4.82 PEX ($2.41)"},
		{shortAddr("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"), "0x7099…79C8"},
		{shortAddr("node"), "node"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestSetSetting(t *testing.T) {
	wd, _ := os.Getwd()
	for _, tc := range []struct {
		kv    string
		check func(api.Settings) bool
		err   string
	}{
		{"hops=4", func(s api.Settings) bool { return s.Hops == 4 }, ""},
		{" hops = 2 ", func(s api.Settings) bool { return s.Hops == 2 }, ""},
		{"exit_countries=de, nl", func(s api.Settings) bool { return strings.Join(s.ExitCountries, ",") == "DE,NL" }, ""},
		{"exit_countries=any", func(s api.Settings) bool { return len(s.ExitCountries) == 0 && s.ExitCountries != nil }, ""},
		{"exit_countries=", func(s api.Settings) bool { return len(s.ExitCountries) == 0 }, ""},
		{"price_cap_per_gb=0.05", func(s api.Settings) bool { return s.PriceCapPerGB.String() == "50000000000000000" }, ""},
		{"price_cap_per_gb=none", func(s api.Settings) bool { return s.PriceCapPerGB.IsZero() }, ""},
		{"kill_switch=off", func(s api.Settings) bool { return !s.KillSwitch }, ""},
		{"lockdown=YES", func(s api.Settings) bool { return s.Lockdown }, ""},
		{"allow_lan=1", func(s api.Settings) bool { return s.AllowLAN }, ""},
		{"lan_cidrs=10.20.0.0/16, fd12::/48", func(s api.Settings) bool { return strings.Join(s.LANCIDRs, " ") == "10.20.0.0/16 fd12::/48" }, ""},
		{"lan_cidrs=none", func(s api.Settings) bool { return len(s.LANCIDRs) == 0 }, ""},
		{"exclude_cidrs=10.0.0.0/8,fd00::/8", func(s api.Settings) bool { return len(s.ExcludeCIDRs) == 2 }, ""},
		{"exclude_cidrs=none", func(s api.Settings) bool { return len(s.ExcludeCIDRs) == 0 }, ""},
		{"dns_mode=System", func(s api.Settings) bool { return s.DNSMode == api.DNSSystem }, ""},
		{"excluded_dns=system", func(s api.Settings) bool { return s.ExcludedDNS == api.DNSSystem }, ""},
		{"monthly_budget=12.5", func(s api.Settings) bool { return s.MonthlyBudget.Cmp(apitest.Tokens("12.5")) == 0 }, ""},
		{"network_file=net.json", func(s api.Settings) bool { return s.NetworkFile == filepath.Join(wd, "net.json") }, ""},
		{"network_file=", func(s api.Settings) bool { return s.NetworkFile == "" }, ""},
		{"rpc_url=http://127.0.0.1:8545", func(s api.Settings) bool { return s.RPCURL == "http://127.0.0.1:8545" }, ""},
		{"fiat_rate=2500.5 USD", func(s api.Settings) bool { return s.FiatRate == "2500.5 USD" }, ""},
		{"fiat_rate=none", func(s api.Settings) bool { return s.FiatRate == "" }, ""},
		{"time_zone=Europe/Berlin", func(s api.Settings) bool { return s.TimeZone == "Europe/Berlin" }, ""},
		{"time_zone=local", func(s api.Settings) bool { return s.TimeZone == "" }, ""},
		{"hops", nil, `"hops" is not KEY=VALUE`},
		{"hops=three", nil, `hops: "three" is not a whole number`},
		{"kill_switch=maybe", nil, `kill_switch: "maybe" is not on or off`},
		{"monthly_budget=none", nil, "monthly_budget: bad amount"},
		{"price_cap_per_gb=-1", nil, "price_cap_per_gb: bad amount"},
		{"price_cap_per_gb=0.0000000000000000001", nil, "more than 18 decimals"},
		{"colour=red", nil, `unknown key "colour"; keys: hops, exit_countries, price_cap_per_gb`},
	} {
		s := apitest.NewBackend()
		cur, _ := s.Settings(t.Context())
		err := setSetting(&cur, tc.kv)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("setSetting(%q) = %v, want an error with %q", tc.kv, err, tc.err)
			}
			continue
		}
		if err != nil || !tc.check(cur) {
			t.Errorf("setSetting(%q) = %v; settings now %+v", tc.kv, err, cur)
		}
	}
}

// fixed renders at a fixed moment in UTC.
var fixed = renderer{now: func() time.Time { return time.Date(2026, 3, 22, 15, 4, 5, 0, time.UTC) }, loc: time.UTC}

func render(f func(io.Writer)) string {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	f(tw)
	tw.Flush()
	return b.String()
}

func TestRenderStatus(t *testing.T) {
	st := api.Status{
		State: api.StateConnected, Since: time.Date(2026, 3, 22, 15, 0, 53, 0, time.UTC), Profile: "default",
		ExitCountry: "CH", ExitAddr: "0x00000000000000000000000000000000000a11cf", ExitHost: "node1.example.net:8443",
		BytesUp: 3 << 20, BytesDown: 250 << 20, RateUp: 150_000, RateDown: 2_500_000,
		KillSwitch: true, Lockdown: true, Mode: api.ModeProxy, ProxyAddrs: []string{"socks5://pexia:0123abcd@127.0.0.1:1080", "http://pexia:0123abcd@127.0.0.1:1080"},
	}
	want := `state        connected for 3m12s (since 15:00:53)
exit         CH 0x00000000000000000000000000000000000a11cf (node1.example.net:8443)
profile      default
mode         proxy
proxy        socks5://pexia:0123abcd@127.0.0.1:1080
proxy        http://pexia:0123abcd@127.0.0.1:1080
sent         3.0 MiB at 1.2 Mbit/s
received     250.0 MiB at 20.0 Mbit/s
kill switch  on, lockdown
`
	if got := render(func(w io.Writer) { fixed.status(w, st) }); got != want {
		t.Errorf("status:\n%s\nwant:\n%s", got, want)
	}
	st = api.Status{State: api.StateError, Error: "no exit in XX", Since: time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC), Mode: api.ModeTUN}
	want = `state        error for 2d6h (since 2026-03-20 09:00)
error        no exit in XX
mode         tun
sent         0 B at 0 bit/s
received     0 B at 0 bit/s
kill switch  off
`
	if got := render(func(w io.Writer) { fixed.status(w, st) }); got != want {
		t.Errorf("status:\n%s\nwant:\n%s", got, want)
	}
}

// TestRenderStatusExcludedDNS: status says where the programs under
// `pexia exclude` resolve names, with the system resolvers in use.
func TestRenderStatusExcludedDNS(t *testing.T) {
	base := api.Status{State: api.StateConnected, Since: time.Date(2026, 3, 22, 15, 0, 53, 0, time.UTC), Mode: api.ModeTUN, KillSwitch: true}
	for _, c := range []struct {
		mode    api.DNSMode
		servers []string
		want    string
	}{
		{api.DNSTunnel, nil, "exclude dns  tunnel\n"},
		{api.DNSSystem, nil, "exclude dns  system\n"},
		{api.DNSSystem, []string{"192.0.2.53", "2001:db8::53"}, "exclude dns  system (192.0.2.53, 2001:db8::53)\n"},
	} {
		st := base
		st.ExcludedDNS, st.ExcludedDNSServers = c.mode, c.servers
		got := render(func(w io.Writer) { fixed.status(w, st) })
		if want := "kill switch  on\n" + c.want; !strings.HasSuffix(got, want) {
			t.Errorf("status with excluded_dns %s %v:\n%s\nwant it to end with:\n%s", c.mode, c.servers, got, want)
		}
	}
}

// TestRenderStatusProfiles: the circuits of the profiles tunnel rules
// named are listed under the connection's profile, then the guards.
func TestRenderStatusProfiles(t *testing.T) {
	exit := func(country, addr string) api.Hop {
		return api.Hop{Country: country, Address: addr, Role: api.RoleExit}
	}
	st := api.Status{State: api.StateConnected, Since: time.Date(2026, 3, 22, 15, 0, 53, 0, time.UTC), Profile: "default-3", Mode: api.ModeTUN,
		Circuits: []api.Circuit{
			{Profile: "default-3", Default: true, Hops: []api.Hop{{}, {}, exit("CH", "0x00000000000000000000000000000000000a11cf")}},
			{Profile: "fast", Hops: []api.Hop{exit("DE", "0x00000000000000000000000000000000000b0b00")}},
			{Profile: "far", Hops: []api.Hop{{}, {}, exit("JP", "0x00000000000000000000000000000000000c0c00")}},
		},
		Guards: []api.Guard{{Address: "0x00000000000000000000000000000000000d0d00", Country: "SE"}, {Address: "0x00000000000000000000000000000000000e0e00", Country: "FI", Failures: 1}}}
	want := `state         connected for 3m12s (since 15:00:53)
profile       default-3
profile fast  1 hop, exit DE 0x0000…0b00
profile far   3 hops, exit JP 0x0000…0c00
guards        SE 0x0000…0d00, FI 0x0000…0e00 (1 failed)
mode          tun
sent          0 B at 0 bit/s
received      0 B at 0 bit/s
kill switch   off
`
	if got := render(func(w io.Writer) { fixed.status(w, st) }); got != want {
		t.Errorf("status:\n%s\nwant:\n%s", got, want)
	}
}

// TestRenderStatusUDPFlows: the flows that lost datagrams come first, with
// their share of loss each way, at the client and at the exit; echo flows
// are listed as pings.
func TestRenderStatusUDPFlows(t *testing.T) {
	st := api.Status{State: api.StateConnected, Mode: api.ModeTUN, UDPFlows: []api.UDPFlow{
		{Protocol: "udp", Destination: "192.0.2.7:443", Sent: 40, Received: 38},
		{Protocol: "udp", Destination: "198.51.100.1:5201", Sent: 9000, Received: 2, DroppedUp: 1000, ExitDroppedDown: 98},
		{Protocol: "udp", Sent: 10, Received: 10, DroppedDown: 10},
		{Protocol: "icmp", Destination: "203.0.113.9", Sent: 20, Received: 18, ExitDroppedUp: 2},
		{Protocol: "icmp", Sent: 3, Received: 3},
	}}
	got := render(func(w io.Writer) { fixed.status(w, st) })
	for _, line := range []string{
		"udp flows    5 open, 2 of them ping; 1110 datagrams dropped",
		"FLOW               SENT  RECEIVED  UP DROPPED AT CLIENT  UP DROPPED AT EXIT  DOWN DROPPED AT EXIT  DOWN DROPPED AT CLIENT",
		"198.51.100.1:5201  9000  2         1000 (10.0%)          0                   98 (98.0%)            0",
		"-                  10    10        0                     0                   0                     10 (50.0%)",
		"ping 203.0.113.9   20    18        0                     2 (10.0%)           0                     0",
		"192.0.2.7:443      40    38        0                     0                   0                     0",
		"ping               3     3         0                     0                   0                     0",
	} {
		if !strings.Contains(got, line+"\n") {
			t.Errorf("status lacks %q:\n%s", line, got)
		}
	}
	if i, j := strings.Index(got, "198.51.100.1"), strings.Index(got, "192.0.2.7"); i < 0 || j < i {
		t.Errorf("flows not ordered by drops:\n%s", got)
	}
}

func TestRenderCircuit(t *testing.T) {
	c := api.Circuit{Profile: "default", BuiltAt: time.Date(2026, 3, 22, 15, 0, 53, 0, time.UTC), BuildMS: 840, Currency: apitest.Currency,
		Hops: []api.Hop{
			{Address: "0x00000000000000000000000000000000000a11ce", Host: "node0.example.net:8443", Country: "DE", Role: api.RoleRelay,
				PricePerGB: apitest.Tokens("0.01"), LatencyMS: 12.5, BytesUp: 1 << 20, BytesDown: 30 << 20, Paid: apitest.Tokens("0.0003")},
			{Address: "0x00000000000000000000000000000000000a11cf", Host: "node1.example.net:8443", Country: "CH", Role: api.RoleExit,
				PricePerGB: apitest.Tokens("0.02"), LatencyMS: 25, BytesUp: 1 << 20, BytesDown: 30 << 20, Paid: apitest.Tokens("0.0006")},
		}}
	want := `profile  default
built    15:00:53 in 840 ms

HOP  ROLE   COUNTRY  NODE         HOST                    PRICE/GB  LATENCY  UP       DOWN      PAID
0    relay  DE       0x0000…11ce  node0.example.net:8443  0.01 PEX  12.5 ms  1.0 MiB  30.0 MiB  0.0003 PEX
1    exit   CH       0x0000…11cf  node1.example.net:8443  0.02 PEX  25.0 ms  1.0 MiB  30.0 MiB  0.0006 PEX
`
	if got := render(func(w io.Writer) { fixed.circuit(w, c) }); got != want {
		t.Errorf("circuit:\n%s\nwant:\n%s", got, want)
	}
}

func TestRenderBudgetWalletSettings(t *testing.T) {
	b := apitest.NewBackend()
	ctx := t.Context()
	bud, _ := b.Budget(ctx)
	bud.PeriodStart, bud.PeriodEnd = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	bud.PerDay = bud.PerDay[:0]
	bud.PerApp = []api.SpendTotal{{Key: "firefox", Spent: apitest.Tokens("4.82"), Issued: apitest.Tokens("4.9"), Tickets: 95012, Wins: 2410}}
	want := `period    2026-03-01 to 2026-03-31 (UTC), 10 days left
budget    10 PEX ($5.00) a month
spent     4.82 PEX ($2.41); 5.18 PEX ($2.59) left
forecast  9.98 PEX ($4.99) at month end, 95% between 9.91 PEX and 10.002 PEX
use       0.0235 PEX/h now; what is left lasts 9.2 days at this rate
run out   3.4% chance before the month ends at this rate
rate      0.012 PEX/h allowed
at limit  stop traffic until the budget is raised or the month ends
price     1 PEX = 0.5 USD (fixed rate set by the admin, set 12:00:00, 3h04m old)
tickets   95012 issued worth 4.9 PEX, 2410 won

HOP  SPENT     ISSUED   TICKETS  WINS
0    1.58 PEX  1.6 PEX  31000    790
1    1.6 PEX   1.6 PEX  31000    800
2    1.64 PEX  1.7 PEX  33012    820

APP      SPENT     ISSUED   TICKETS  WINS
firefox  4.82 PEX  4.9 PEX  95012    2410
`
	if got := render(func(w io.Writer) { fixed.budget(w, bud) }); got != want {
		t.Errorf("budget:\n%s\nwant:\n%s", got, want)
	}
	bud.AtLimit, bud.FloorKbps, bud.Limited = api.LimitThrottle, 500, true
	if got, line := render(func(w io.Writer) { fixed.budget(w, bud) }), "at limit  SPENT: throttle to 500 kbit/s, paid past the budget\n"; !strings.Contains(got, line) {
		t.Errorf("budget spent, throttling: no %q in\n%s", line, got)
	}

	wl, _ := b.Wallet(ctx)
	wl.Signers[0].UnlockAt, wl.Signers[0].Warned = time.Date(2026, 4, 2, 12, 0, 0, 0, time.UTC), apitest.Tokens("1.5")
	want = `funder           0x70997970C51812dc3A010C7d01b50e0d17dc79C8
token            PEX (0x5FbDB2315678afecb367f032d93F642f64180aa3)
funder balance   250 PEX ($125.00)
lottery balance  40.5 PEX ($20.25)
escrow           2 PEX
pending winners  3 worth 0.006 PEX, not yet claimed
hop accounts     epoch 2969, next rotation 2026-12-07 00:00

HOP  EPOCH  STATE    SIGNER                                      FUNDER                                      BALANCE   ESCROW  WITHDRAWAL
0    2969   current  0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC  0x90F79bf6EB2c4f870365E785982E1f101E93b906  40.5 PEX  2 PEX   1.5 PEX unlocks 2026-04-02 12:00 (in 260h56m0s)
`
	if got := render(func(w io.Writer) { fixed.wallet(w, wl) }); got != want {
		t.Errorf("wallet:\n%s\nwant:\n%s", got, want)
	}

	s, _ := b.Settings(ctx)
	s.ExcludeCIDRs = []string{"10.0.0.0/8", "192.168.0.0/16"}
	s.PriceCapPerGB = apitest.Tokens("0.05")
	want = `hops              3
exit_countries    any
price_cap_per_gb  0.05 PEX
kill_switch       on
lockdown          off
allow_lan         off
exclude_cidrs     10.0.0.0/8,192.168.0.0/16
dns_mode          tunnel
excluded_dns      tunnel
monthly_budget    10 PEX
network           (default)
network_file      (default)
rpc_url           (default)
fiat_rate         none
time_zone         (local)
`
	if got := render(func(w io.Writer) { fixed.settings(w, s) }); got != want {
		t.Errorf("settings:\n%s\nwant:\n%s", got, want)
	}
	// The admin's choices and limits are shown with what they allow.
	limited := s
	limited.Network, limited.Networks, limited.MaxMonthlyBudget = "alt", []string{"alt", "main"}, apitest.Tokens("20")
	got := render(func(w io.Writer) { fixed.settings(w, limited) })
	if !strings.Contains(got, "monthly_budget    10 PEX (members at most 20 PEX)\n") || !strings.Contains(got, "network           alt (allowed: alt, main)\n") {
		t.Errorf("settings with limits:\n%s", got)
	}
	// Every key the text shows can be set.
	for _, line := range strings.Split(strings.TrimSpace(want), "\n") {
		key := strings.Fields(line)[0]
		if err := setSetting(&s, key+"=x"); err != nil && strings.Contains(err.Error(), "unknown key") {
			t.Errorf("settings shows %s, which cannot be set", key)
		}
	}
}

func TestRenderEvent(t *testing.T) {
	at := time.Date(2026, 3, 22, 15, 0, 53, 0, time.UTC)
	for _, tc := range []struct {
		ev   api.Event
		want string
	}{
		{api.Event{Type: api.EventState, Time: at, State: &api.Status{State: api.StateConnected, ExitCountry: "CH", ExitAddr: "0x00000000000000000000000000000000000a11cf"}},
			"15:00:53  state       connected via CH 0x0000…11cf\n"},
		{api.Event{Type: api.EventState, Time: at, State: &api.Status{State: api.StateReconnecting, Error: "hop 1 timed out"}},
			"15:00:53  state       reconnecting: hop 1 timed out\n"},
		{api.Event{Type: api.EventThroughput, Time: at, Throughput: &api.Throughput{BytesUp: 3 << 20, BytesDown: 250 << 20, RateUp: 150_000, RateDown: 2_500_000}},
			"15:00:53  throughput  up 1.2 Mbit/s, down 20.0 Mbit/s (total 3.0 MiB sent, 250.0 MiB received)\n"},
		{api.Event{Type: api.EventSpend, Time: at, Spend: &api.Spend{Hop: 1, Node: "0x00000000000000000000000000000000000a11cf", App: "curl",
			Issued: apitest.Tokens("0.0002"), Won: apitest.Tokens("0.002"), PeriodSpent: apitest.Tokens("4.822"), Currency: apitest.Currency}},
			"15:00:53  spend       hop 1 0x0000…11cf: issued 0.0002 PEX, won 0.002 PEX for curl; this month 4.822 PEX\n"},
		{api.Event{Type: api.EventCircuit, Time: at, Circuit: &api.Circuit{BuildMS: 840, Hops: []api.Hop{{Country: "DE"}, {Country: "FR"}, {Country: "CH"}}}},
			"15:00:53  circuit     3 hops DE → FR → CH, built in 840 ms\n"},
		{api.Event{Type: api.EventLog, Time: at.AddDate(0, 0, -1), Log: &api.LogLine{Level: "warn", Message: "chain RPC slow"}},
			"2026-03-21 15:00  log         warn: chain RPC slow\n"},
		{api.Event{Type: api.EventChain, Time: at, Chain: &api.ChainAction{Action: "transfer", Phase: "done", Hop: 1, Amount: api.NewAmount(big.NewInt(104e15)),
			Gas: 21000, To: "0x00000000000000000000000000000000000a11cf"}},
			"15:00:53  chain       transfer done 0.104 ETH, hop 1 to 0x0000…11cf, gas 21000\n"},
		{api.Event{Type: api.EventChain, Time: at, Chain: &api.ChainAction{Action: "warn", Phase: "done", Hop: 0, Amount: api.NewAmount(big.NewInt(5e17)),
			Gas: 51288, UnlockAt: at.Add(24 * time.Hour)}},
			"15:00:53  chain       warn done 0.5 ETH, hop 0, gas 51288, withdrawable 2026-03-23 15:00\n"},
		{api.Event{Type: api.EventChain, Time: at, Chain: &api.ChainAction{Action: "deposit", Phase: "failed", Hop: 2, Amount: api.NewAmount(big.NewInt(1e18)), Error: "insufficient funds"}},
			"15:00:53  chain       deposit failed 1 ETH, hop 2: insufficient funds\n"},
	} {
		var b bytes.Buffer
		fixed.event(&b, tc.ev)
		if b.String() != tc.want {
			t.Errorf("event %s:\n got %q\nwant %q", tc.ev.Type, b.String(), tc.want)
		}
		// The JSON form round-trips.
		raw, _ := json.Marshal(tc.ev)
		var back api.Event
		if err := json.Unmarshal(raw, &back); err != nil || back.Type != tc.ev.Type {
			t.Errorf("event %s does not round-trip: %v", tc.ev.Type, err)
		}
	}
}
