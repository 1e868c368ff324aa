package main

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/pexia-network/pexia/api"
)

// renderer turns API objects into aligned text: "key\tvalue" lines and
// tab-separated tables, for a tabwriter. Times are shown in loc relative
// to now.
type renderer struct {
	now func() time.Time
	loc *time.Location
}

func newRenderer() renderer { return renderer{now: time.Now, loc: time.Local} }

// formatBytes renders a byte count in binary units: "512 B", "1.5 KiB",
// "250.0 MiB", "1.25 GiB".
func formatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	prec := 1
	if i >= 2 { // GiB and up: two decimals
		prec = 2
	}
	return fmt.Sprintf("%.*f %ciB", prec, v, "KMGTP"[i])
}

// formatRate renders bytes per second as bits per second in decimal
// units, as link speeds are quoted: "950 kbit/s", "20.0 Mbit/s".
func formatRate(bytesPerSec uint64) string {
	bits := float64(bytesPerSec) * 8
	switch {
	case bits < 1e3:
		return fmt.Sprintf("%.0f bit/s", bits)
	case bits < 1e6:
		return fmt.Sprintf("%.0f kbit/s", bits/1e3)
	case bits < 1e9:
		return fmt.Sprintf("%.1f Mbit/s", bits/1e6)
	default:
		return fmt.Sprintf("%.2f Gbit/s", bits/1e9)
	}
}

// formatDuration renders a span to the second, with at most two units:
// "45s", "3m12s", "2h05m", "3d4h".
func formatDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

// when renders a time as the clock time if it is today, else with the date.
func (r renderer) when(t time.Time) string {
	t, now := t.In(r.loc), r.now().In(r.loc)
	if t.Year() == now.Year() && t.YearDay() == now.YearDay() {
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02 15:04")
}

// tokens renders an amount in whole tokens with its symbol: "4.82 PEX".
func tokens(a api.Amount, cur api.Currency) string {
	cur = currencyOf(cur)
	return a.Format(cur.Decimals, 6) + " " + cur.Symbol
}

// tokensUSD adds the fiat estimate when the admin set a price: "4.82 PEX
// ($2.41)". It is exact (api.Price.Value), never a float.
func tokensUSD(a api.Amount, cur api.Currency) string {
	s := tokens(a, cur)
	if v := cur.Price.Value(a, currencyOf(cur).Decimals); v != "" {
		s += " (" + v + ")"
	}
	return s
}

// price describes the fiat price with its source and age: "1 PEX = 0.5 USD
// (fixed rate set by the admin, 3h0m old)".
func (r renderer) price(cur api.Currency) string {
	p := cur.Price
	source := p.Source
	if source == api.PriceFixed {
		source = "fixed rate set by the admin"
	}
	age := "age unknown"
	if !p.AsOf.IsZero() {
		age = "set " + r.when(p.AsOf) + ", " + formatDuration(max(r.now().Sub(p.AsOf), 0)) + " old"
	}
	return fmt.Sprintf("1 %s = %s %s (%s, %s)", currencyOf(cur).Symbol, p.PerToken, p.Fiat, source, age)
}

// percent renders a probability, never rounding a possibility to "0%" or
// a doubt to "100%".
func percent(p float64) string {
	switch {
	case p <= 0:
		return "0%"
	case p >= 1:
		return "100%"
	case p < 0.001:
		return "<0.1%"
	case p > 0.999:
		return ">99.9%"
	}
	return fmt.Sprintf("%.1f%%", 100*p)
}

// shortAddr shortens a 0x address for tables: "0x7099…79C8".
func shortAddr(a string) string {
	if len(a) == 42 && strings.HasPrefix(a, "0x") {
		return a[:6] + "…" + a[38:]
	}
	return a
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (r renderer) status(w io.Writer, st api.Status) {
	state := string(st.State)
	if !st.Since.IsZero() {
		state += fmt.Sprintf(" for %s (since %s)", formatDuration(r.now().Sub(st.Since)), r.when(st.Since))
	}
	fmt.Fprintf(w, "state\t%s\n", state)
	if st.Error != "" {
		fmt.Fprintf(w, "error\t%s\n", st.Error)
	}
	if st.ExitAddr != "" || st.ExitCountry != "" {
		exit := strings.TrimSpace(st.ExitCountry + " " + st.ExitAddr)
		if st.ExitHost != "" {
			exit += " (" + st.ExitHost + ")"
		}
		fmt.Fprintf(w, "exit\t%s\n", exit)
	}
	if st.Profile != "" {
		fmt.Fprintf(w, "profile\t%s\n", st.Profile)
	}
	// The circuits of the profiles tunnel rules named.
	for _, c := range st.Circuits {
		if c.Default || len(c.Hops) == 0 {
			continue
		}
		exit := c.Hops[len(c.Hops)-1]
		hops := "hops"
		if len(c.Hops) == 1 {
			hops = "hop"
		}
		fmt.Fprintf(w, "profile %s\t%d %s, exit %s\n", c.Profile, len(c.Hops), hops, strings.TrimSpace(exit.Country+" "+shortAddr(exit.Address)))
	}
	// The entry guards: every circuit of two hops or more enters at one.
	if len(st.Guards) > 0 {
		var gs []string
		for _, g := range st.Guards {
			s := strings.TrimSpace(g.Country + " " + shortAddr(g.Address))
			if g.Failures > 0 {
				s += fmt.Sprintf(" (%d failed)", g.Failures)
			}
			gs = append(gs, s)
		}
		fmt.Fprintf(w, "guards\t%s\n", strings.Join(gs, ", "))
	}
	fmt.Fprintf(w, "mode\t%s\n", orDash(string(st.Mode)))
	// The proxies' URLs carry the credentials every client must give,
	// as curl -x and most libraries take them.
	for _, a := range st.ProxyAddrs {
		fmt.Fprintf(w, "proxy\t%s\n", a)
	}
	fmt.Fprintf(w, "sent\t%s at %s\n", formatBytes(st.BytesUp), formatRate(st.RateUp))
	fmt.Fprintf(w, "received\t%s at %s\n", formatBytes(st.BytesDown), formatRate(st.RateDown))
	ks := onOff(st.KillSwitch)
	if st.Lockdown {
		ks += ", lockdown"
	}
	fmt.Fprintf(w, "kill switch\t%s\n", ks)
	// Where the programs under `pexia exclude` resolve names, and the
	// system resolvers in use for them.
	if st.ExcludedDNS != "" {
		dns := string(st.ExcludedDNS)
		if len(st.ExcludedDNSServers) > 0 {
			dns += " (" + strings.Join(st.ExcludedDNSServers, ", ") + ")"
		}
		fmt.Fprintf(w, "exclude dns\t%s\n", dns)
	}
	udpFlows(w, st.UDPFlows)
}

// udpFlows lists the UDP flows and what each lost: the flows that dropped
// datagrams first, most drops first, then the others up to maxFlowRows.
func udpFlows(w io.Writer, flows []api.UDPFlow) {
	if len(flows) == 0 {
		return
	}
	const maxFlowRows = 10
	drops := func(f api.UDPFlow) uint64 { return f.DroppedUp + f.DroppedDown + f.ExitDroppedUp + f.ExitDroppedDown }
	flows = slices.Clone(flows)
	slices.SortStableFunc(flows, func(a, b api.UDPFlow) int { return cmp.Compare(drops(b), drops(a)) })
	var total uint64
	pings := 0
	for _, f := range flows {
		total += drops(f)
		if f.Protocol == "icmp" {
			pings++
		}
	}
	fmt.Fprintf(w, "udp flows\t%d open, %d of them ping; %d datagrams dropped\n", len(flows), pings, total)
	fmt.Fprint(w, "\nFLOW\tSENT\tRECEIVED\tUP DROPPED AT CLIENT\tUP DROPPED AT EXIT\tDOWN DROPPED AT EXIT\tDOWN DROPPED AT CLIENT\n")
	for i, f := range flows {
		if i == maxFlowRows {
			fmt.Fprintf(w, "(%d more)\n", len(flows)-i)
			break
		}
		name := orDash(f.Destination)
		if f.Protocol == "icmp" {
			name = strings.TrimSuffix("ping "+f.Destination, " ")
		}
		// Each share is of the datagrams that reached that point.
		upAtExit := f.Sent - min(f.ExitDroppedUp, f.Sent)
		fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\t%s\t%s\n", name, f.Sent, f.Received,
			lossOf(f.DroppedUp, f.Sent), lossOf(f.ExitDroppedUp, upAtExit),
			lossOf(f.ExitDroppedDown, f.Received+f.DroppedDown), lossOf(f.DroppedDown, f.Received))
	}
}

// lossOf shows dropped datagrams and their share of the flow's datagrams
// (delivered plus dropped) in that direction.
func lossOf(dropped, delivered uint64) string {
	if dropped == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%.1f%%)", dropped, 100*float64(dropped)/float64(dropped+delivered))
}

func (r renderer) circuit(w io.Writer, c api.Circuit) {
	if c.Profile != "" {
		fmt.Fprintf(w, "profile\t%s\n", c.Profile)
	}
	fmt.Fprintf(w, "built\t%s in %d ms\n\n", r.when(c.BuiltAt), c.BuildMS)
	fmt.Fprint(w, "HOP\tROLE\tCOUNTRY\tNODE\tHOST\tPRICE/GB\tLATENCY\tUP\tDOWN\tPAID\n")
	for i, h := range c.Hops {
		latency := "-" // not measured yet (a free hop is never measured)
		if h.LatencyMS > 0 {
			latency = fmt.Sprintf("%.1f ms", h.LatencyMS)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i, h.Role, orDash(h.Country), shortAddr(h.Address), orDash(h.Host),
			tokens(h.PricePerGB, c.Currency), latency, formatBytes(h.BytesUp), formatBytes(h.BytesDown), tokens(h.Paid, c.Currency))
	}
}

func (r renderer) budget(w io.Writer, b api.Budget) {
	cur := b.Currency
	if !b.PeriodStart.IsZero() {
		loc := r.loc // months are the daemon's, in its zone
		if z, err := api.LoadTimeZone(b.TimeZone); err == nil && b.TimeZone != "" {
			loc = z
		}
		period := b.PeriodStart.In(loc).Format("2006-01-02") + " to " + b.PeriodEnd.Add(-time.Nanosecond).In(loc).Format("2006-01-02")
		if b.TimeZone != "" {
			period += " (" + b.TimeZone + ")"
		}
		if left := b.PeriodEnd.Sub(r.now()); left > 0 {
			period += fmt.Sprintf(", %d days left", int(math.Ceil(left.Hours()/24)))
		} else {
			period += ", ended"
		}
		fmt.Fprintf(w, "period\t%s\n", period)
	}
	fmt.Fprintf(w, "budget\t%s a month\n", tokensUSD(b.Monthly, cur))
	fmt.Fprintf(w, "spent\t%s; %s left\n", tokensUSD(b.Spent, cur), tokensUSD(b.Remaining, cur))
	fmt.Fprintf(w, "forecast\t%s at month end, 95%% between %s and %s\n", tokensUSD(b.Forecast, cur), tokens(b.ForecastLow, cur), tokens(b.ForecastHigh, cur))
	if b.DaysLeft != nil {
		fmt.Fprintf(w, "use\t%s/h now; what is left lasts %s at this rate\n", tokens(b.DemandPerHour, cur), formatDays(*b.DaysLeft))
	} else {
		fmt.Fprint(w, "use\tno use this month yet\n")
	}
	fmt.Fprintf(w, "run out\t%s chance before the month ends at this rate\n", percent(b.RunOutProbability))
	fmt.Fprintf(w, "rate\t%s/h allowed\n", tokens(b.RatePerHour, cur))
	fmt.Fprintf(w, "at limit\t%s\n", atLimit(b))
	if cur.Price != nil {
		fmt.Fprintf(w, "price\t%s\n", r.price(cur))
	}
	if !b.PaddingPerHour.IsZero() {
		fmt.Fprintf(w, "padding\t%s/h on this circuit, idle or busy\n", tokens(b.PaddingPerHour, cur))
	}
	fmt.Fprintf(w, "tickets\t%d issued worth %s, %d won\n", b.Tickets, tokens(b.Issued, cur), b.Wins)
	for _, t := range []struct {
		title string
		rows  []api.SpendTotal
	}{{"HOP", b.PerHop}, {"DAY", b.PerDay}, {"APP", b.PerApp}, {"PROFILE", b.PerProfile}} {
		if len(t.rows) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s\tSPENT\tISSUED\tTICKETS\tWINS\n", t.title)
		for _, row := range t.rows {
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\n", orDash(row.Key), tokens(row.Spent, cur), tokens(row.Issued, cur), row.Tickets, row.Wins)
		}
	}
}

// atLimit says what happens once the budget is spent, and whether it is.
func atLimit(b api.Budget) string {
	var s string
	switch b.AtLimit {
	case api.LimitThrottle:
		s = fmt.Sprintf("throttle to %d kbit/s, paid past the budget", b.FloorKbps)
	case api.LimitDirect:
		s = "traffic goes direct, outside the tunnel"
	default:
		s = "stop traffic until the budget is raised or the month ends"
	}
	if b.Limited {
		return "SPENT: " + s
	}
	return s
}

func (r renderer) wallet(w io.Writer, wl api.Wallet) {
	cur := wl.Token
	fmt.Fprintf(w, "funder\t%s\n", orDash(wl.Funder))
	token := currencyOf(cur).Symbol
	if cur.Token != "" {
		token += " (" + cur.Token + ")"
	} else {
		token += " (native coin)"
	}
	fmt.Fprintf(w, "token\t%s\n", token)
	fmt.Fprintf(w, "funder balance\t%s\n", tokensUSD(wl.FunderBalance, cur))
	fmt.Fprintf(w, "lottery balance\t%s\n", tokensUSD(wl.Balance, cur))
	fmt.Fprintf(w, "escrow\t%s\n", tokens(wl.Escrow, cur))
	fmt.Fprintf(w, "pending winners\t%d worth %s, not yet claimed\n", wl.PendingWinners, tokens(wl.PendingAmount, cur))
	if !wl.NextRotation.IsZero() {
		fmt.Fprintf(w, "hop accounts\tepoch %d, next rotation %s\n", wl.Epoch, wl.NextRotation.In(r.loc).Format("2006-01-02 15:04"))
	}
	if len(wl.Signers) == 0 {
		return
	}
	fmt.Fprint(w, "\nHOP\tEPOCH\tSTATE\tSIGNER\tFUNDER\tBALANCE\tESCROW\tWITHDRAWAL\n")
	for _, s := range wl.Signers {
		unlock := "-"
		if !s.UnlockAt.IsZero() {
			unlock = "unlocks " + s.UnlockAt.In(r.loc).Format("2006-01-02 15:04")
			if !s.Warned.IsZero() {
				unlock = tokens(s.Warned, cur) + " " + unlock
			}
			if left := s.UnlockAt.Sub(r.now()); left > 0 {
				unlock += " (in " + left.Round(time.Minute).String() + ")"
			} else {
				unlock += " (now)"
			}
		}
		hop := fmt.Sprint(s.Hop)
		if s.Hop < 0 {
			hop = "-"
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", hop, s.Epoch, orDash(s.State), s.Address, orDash(s.Funder),
			tokens(s.Balance, cur), tokens(s.Escrow, cur), unlock)
	}
}

func (r renderer) settings(w io.Writer, s api.Settings) {
	cur := s.Currency
	countries := "any"
	if len(s.ExitCountries) > 0 {
		countries = strings.Join(s.ExitCountries, ",")
	}
	priceCap := "none"
	if !s.PriceCapPerGB.IsZero() {
		priceCap = tokens(s.PriceCapPerGB, cur)
	}
	excl := "none"
	if len(s.ExcludeCIDRs) > 0 {
		excl = strings.Join(s.ExcludeCIDRs, ",")
	}
	orDefault := func(v string) string {
		if v == "" {
			return "(default)"
		}
		return v
	}
	budget := tokens(s.MonthlyBudget, cur)
	if !s.MaxMonthlyBudget.IsZero() {
		budget += " (members at most " + tokens(s.MaxMonthlyBudget, cur) + ")"
	}
	network := orDefault(s.Network)
	if len(s.Networks) > 0 {
		network += " (allowed: " + strings.Join(s.Networks, ", ") + ")"
	}
	for _, kv := range [][2]string{
		{"hops", fmt.Sprint(s.Hops)},
		{"exit_countries", countries},
		{"price_cap_per_gb", priceCap},
		{"kill_switch", onOff(s.KillSwitch)},
		{"lockdown", onOff(s.Lockdown)},
		{"allow_lan", onOff(s.AllowLAN)},
		{"exclude_cidrs", excl},
		{"dns_mode", string(s.DNSMode)},
		{"excluded_dns", string(s.ExcludedDNSMode())},
		{"monthly_budget", budget},
		{"network", network},
		{"network_file", orDefault(s.NetworkFile)},
		{"rpc_url", orDefault(s.RPCURL)},
		{"fiat_rate", fiatRate(s, r)},
		{"time_zone", orLocal(s.TimeZone)},
	} {
		fmt.Fprintf(w, "%s\t%s\n", kv[0], kv[1])
		if kv[0] == "allow_lan" && len(s.LANCIDRs) > 0 {
			fmt.Fprintf(w, "lan_cidrs\t%s\n", strings.Join(s.LANCIDRs, ","))
		}
	}
}

// event writes one event as a line: time, type, summary.
func (r renderer) event(w io.Writer, ev api.Event) {
	var msg string
	switch {
	case ev.State != nil:
		st := ev.State
		msg = string(st.State)
		if st.ExitCountry != "" && st.State == api.StateConnected {
			msg += " via " + strings.TrimSpace(st.ExitCountry+" "+shortAddr(st.ExitAddr))
		}
		if st.Error != "" {
			msg += ": " + st.Error
		}
	case ev.Throughput != nil:
		t := ev.Throughput
		msg = fmt.Sprintf("up %s, down %s (total %s sent, %s received)", formatRate(t.RateUp), formatRate(t.RateDown), formatBytes(t.BytesUp), formatBytes(t.BytesDown))
	case ev.Spend != nil:
		s := ev.Spend
		msg = fmt.Sprintf("hop %d %s: issued %s", s.Hop, shortAddr(s.Node), tokens(s.Issued, s.Currency))
		if !s.Won.IsZero() {
			msg += ", won " + tokens(s.Won, s.Currency)
		}
		if s.App != "" {
			msg += " for " + s.App
		}
		msg += "; this month " + tokens(s.PeriodSpent, s.Currency)
	case ev.Circuit != nil:
		c := ev.Circuit
		var path []string
		for _, h := range c.Hops {
			path = append(path, orDash(h.Country))
		}
		msg = fmt.Sprintf("%d hops %s, built in %d ms", len(c.Hops), strings.Join(path, " → "), c.BuildMS)
	case ev.Log != nil:
		msg = ev.Log.Level + ": " + ev.Log.Message
	case ev.Chain != nil:
		c := ev.Chain
		// Hop accounts hold the chain's native coin, which pexiad calls ETH.
		msg = fmt.Sprintf("%s %s %s, hop %d", c.Action, c.Phase, tokens(c.Amount, api.Currency{Symbol: "ETH", Decimals: 18}), c.Hop)
		if c.To != "" {
			msg += " to " + shortAddr(c.To)
		}
		if c.Gas != 0 {
			msg += fmt.Sprintf(", gas %d", c.Gas)
		}
		if !c.UnlockAt.IsZero() {
			msg += ", withdrawable " + r.when(c.UnlockAt)
		}
		if c.Error != "" {
			msg += ": " + c.Error
		}
	}
	fmt.Fprintf(w, "%s  %-10s  %s\n", r.when(ev.Time), ev.Type, msg)
}

// formatDays renders a number of days: "12.3 days", "1 day", "5 hours".
func formatDays(d float64) string {
	switch {
	case d < 1:
		return fmt.Sprintf("%.0f hours", d*24)
	case d < 1.05:
		return "1 day"
	case d >= 10000:
		return "more than 10000 days"
	}
	return fmt.Sprintf("%.1f days", d)
}

// fiatRate shows the fiat_rate setting with when it was set.
func fiatRate(s api.Settings, r renderer) string {
	if s.FiatRate == "" {
		return "none"
	}
	if s.FiatRateSetAt.IsZero() {
		return s.FiatRate
	}
	return s.FiatRate + " (set " + r.when(s.FiatRateSetAt) + ")"
}

func orLocal(zone string) string {
	if zone == "" {
		return "(local)"
	}
	return zone
}
