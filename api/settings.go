package api

import (
	"fmt"
	"math/big"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Circuit lengths the daemon builds.
const (
	MinHops = 1
	MaxHops = 5
)

// MaxPaddingKbps is the highest padding rate: 2048 cells of 4 KiB per
// second each way.
const MaxPaddingKbps = 65536

// DNSMode is how the daemon handles name resolution while connected.
type DNSMode string

// The DNS modes.
const (
	// DNSTunnel points the system resolver into the tunnel, intercepts
	// every query to port 53 and resolves names at the exit: no query
	// leaves the machine in the clear. The default.
	DNSTunnel DNSMode = "tunnel"
	// DNSSystem leaves the system resolver alone; queries go wherever it
	// sends them, outside the tunnel, and reveal the names looked up.
	DNSSystem DNSMode = "system"
)

// MaxFloorKbps is the highest floor rate at the budget's limit.
const MaxFloorKbps = 100_000

// LimitAction is what the daemon does once the month's budget is spent.
type LimitAction string

// The actions at the budget's limit.
const (
	// LimitStop holds the traffic: the session stays, with the kill
	// switch blocking as before, and resumes by itself when the budget is
	// raised or the month rolls over. The default.
	LimitStop LimitAction = "stop"
	// LimitThrottle goes on through the tunnel at FloorKbps, paid past
	// the budget at that rate.
	LimitThrottle LimitAction = "throttle"
	// LimitDirect sends new flows straight out, outside the tunnel, until
	// the budget is raised or the month rolls over. With the kill switch
	// on it needs the admin's AllowDirectAtLimit.
	LimitDirect LimitAction = "direct"
)

// Settings is the user's configuration: GET and PUT /v1/settings. PUT
// replaces the whole object, so clients read, change and write it back.
type Settings struct {
	// Hops is the default circuit length, MinHops to MaxHops.
	Hops int `json:"hops"`
	// ExitCountries limits exits to these ISO 3166-1 alpha-2 countries
	// (upper case); empty allows any.
	ExitCountries []string `json:"exit_countries"`
	// PriceCapPerGB refuses nodes that charge more per 10^9 bytes; zero
	// means no cap.
	PriceCapPerGB Amount `json:"price_cap_per_gb"`
	// KillSwitch blocks traffic outside the tunnel while connected or
	// reconnecting, and after the daemon stops unexpectedly, until the
	// user disconnects; Lockdown (which needs KillSwitch) keeps blocking
	// while disconnected too, from early boot.
	KillSwitch bool `json:"kill_switch"`
	Lockdown   bool `json:"lockdown"`
	// AllowLAN exempts the local networks from the kill switch: the
	// networks the machine is on (its interfaces' prefixes, within the
	// private and link-local ranges, followed as they change), the
	// prefixes in LANCIDRs and link-local multicast (mDNS). Other private
	// destinations, wider multicast (SSDP) and DNS stay blocked. Off by
	// default: the local network sees nothing unless the user asks.
	AllowLAN bool `json:"allow_lan"`
	// LANCIDRs are further prefixes AllowLAN treats as local, e.g. a
	// network behind a LAN router: "10.20.0.0/16". At most MaxLANCIDRs.
	LANCIDRs []string `json:"lan_cidrs,omitempty"`
	// ExcludeCIDRs are prefixes routed outside the tunnel, e.g.
	// "192.168.0.0/16". A set that covers a whole address family (a /0,
	// or e.g. 0.0.0.0/1 with 128.0.0.0/1) is refused: nothing of that
	// family would go through the tunnel while the status says connected.
	ExcludeCIDRs []string `json:"exclude_cidrs"`
	DNSMode      DNSMode  `json:"dns_mode"`
	// ExcludedDNS is admin-only: where the programs `pexia exclude` routes
	// around the tunnel resolve names. DNSTunnel (the default; also when
	// empty) keeps their queries to the in-tunnel resolver in the tunnel,
	// answered at the exit like everyone's; DNSSystem sends them to the
	// system's own resolvers around the tunnel, which then see the names.
	ExcludedDNS DNSMode `json:"excluded_dns"`
	// PaddingKbps turns on constant-rate padding ("bandwidth burning"):
	// the circuit carries exactly this many kilobits per second each way,
	// idle or busy, which hides the timing and volume of the traffic from
	// the relays and the network but caps throughput at that rate, and
	// every padding cell is paid like traffic (Budget.PaddingPerHour).
	// Zero turns it off; at most MaxPaddingKbps.
	PaddingKbps int `json:"padding_kbps"`
	// MonthlyBudget is the most the wallet pays out per month. A member
	// may not raise it above MaxMonthlyBudget.
	MonthlyBudget Amount `json:"monthly_budget"`
	// Network names the network (chain, RPC endpoint, contracts) to pay
	// on: one of Networks, which the admin configures. Empty uses the
	// admin's default.
	Network string `json:"network,omitempty"`
	// NetworkFile and RPCURL are admin-only (see the package doc): the
	// absolute path of a network file used instead of Network, and a
	// JSON-RPC endpoint used instead of the network's. Empty uses the
	// network named by Network.
	NetworkFile string `json:"network_file,omitempty"`
	RPCURL      string `json:"rpc_url,omitempty"`
	// FiatRate is admin-only: the fixed price of one whole token that
	// amounts are estimated in, "<decimal> <ISO 4217 code>", e.g.
	// "2500 USD". Empty shows no fiat estimate. FiatRateSetAt is when it
	// was last changed (read-only: the daemon sets it).
	FiatRate      string    `json:"fiat_rate,omitempty"`
	FiatRateSetAt time.Time `json:"fiat_rate_set_at,omitzero"`
	// TimeZone is the IANA zone (e.g. "Europe/Berlin") whose calendar
	// months are the budget periods: a month rolls over at midnight of the
	// 1st there. Empty uses the system's local zone. A change applies to
	// the current month while nothing was spent in it; otherwise from the
	// next month, so that no month's spend is split.
	TimeZone string `json:"time_zone,omitempty"`
	// AtLimit is what happens once the month's budget is spent (empty is
	// LimitStop). FloorKbps is the rate LimitThrottle keeps, 1 to
	// MaxFloorKbps kilobits per second each way; what it carries is paid
	// past the budget, so a member may choose it only when the admin set
	// no MaxMonthlyBudget. AllowDirectAtLimit is admin-only: it lets
	// LimitDirect send traffic outside the tunnel with the kill switch on
	// (without it, LimitDirect needs kill_switch off).
	AtLimit            LimitAction `json:"at_limit,omitempty"`
	FloorKbps          int         `json:"floor_kbps,omitempty"`
	AllowDirectAtLimit bool        `json:"allow_direct_at_limit,omitempty"`
	// Networks lists the networks the admin allows, by name, and
	// MaxMonthlyBudget the highest monthly budget a member may set (zero:
	// no limit). Both are read-only: the admin sets them in pexiad's
	// configuration, and PUT ignores them.
	Networks         []string `json:"networks,omitempty"`
	MaxMonthlyBudget Amount   `json:"max_monthly_budget"`
	// Currency is the token that PriceCapPerGB and MonthlyBudget are in.
	// It is read-only: PUT ignores it.
	Currency Currency `json:"currency"`
}

// adminOnlySettings are the JSON names of the fields only an admin may
// change, with their values.
func (s Settings) adminOnlySettings() [][2]string {
	return [][2]string{{"network_file", s.NetworkFile}, {"rpc_url", s.RPCURL}, {"fiat_rate", s.FiatRate},
		{"allow_direct_at_limit", fmt.Sprint(s.AllowDirectAtLimit)}, {"excluded_dns", string(s.ExcludedDNSMode())}}
}

// ExcludedDNSMode is ExcludedDNS, DNSTunnel when empty.
func (s Settings) ExcludedDNSMode() DNSMode {
	if s.ExcludedDNS == "" {
		return DNSTunnel
	}
	return s.ExcludedDNS
}

// ClearReadOnly zeroes the fields a PUT ignores (Networks,
// MaxMonthlyBudget, Currency, FiatRateSetAt).
func (s *Settings) ClearReadOnly() {
	s.Networks, s.MaxMonthlyBudget, s.Currency, s.FiatRateSetAt = nil, Amount{}, Currency{}, time.Time{}
}

// CheckChange reports whether caller may replace the settings cur (as the
// Backend reports them, with Networks and MaxMonthlyBudget) with next. A
// member may not change an admin-only field (network_file, rpc_url,
// fiat_rate, excluded_dns) nor
// set a monthly_budget above cur.MaxMonthlyBudget: ErrForbidden. Nobody
// may choose a network outside cur.Networks: ErrInvalid.
func CheckChange(caller Caller, cur, next Settings) error {
	if next.Network != cur.Network && next.Network != "" && !slices.Contains(cur.Networks, next.Network) {
		allowed := "none"
		if len(cur.Networks) > 0 {
			allowed = strings.Join(cur.Networks, ", ")
		}
		return fmt.Errorf("%w settings: network: %q is not one of the networks the admin allows (%s)", ErrInvalid, next.Network, allowed)
	}
	if caller.Admin() {
		return nil
	}
	var changed []string
	was := cur.adminOnlySettings()
	for i, f := range next.adminOnlySettings() {
		if f[1] != was[i][1] {
			changed = append(changed, f[0])
		}
	}
	if len(changed) > 0 {
		return fmt.Errorf("%w: %s: only an admin (root) may change this; members choose among the networks the admin allows with network=NAME",
			ErrForbidden, strings.Join(changed, ", "))
	}
	if next.AtLimit == LimitThrottle && (cur.AtLimit != LimitThrottle || next.FloorKbps != cur.FloorKbps) && !cur.MaxMonthlyBudget.IsZero() {
		return fmt.Errorf("%w: at_limit: throttle pays past the budget, which the admin limits to %s (smallest units); only an admin (root) may choose it",
			ErrForbidden, cur.MaxMonthlyBudget)
	}
	if next.MonthlyBudget.Cmp(cur.MonthlyBudget) != 0 {
		return CheckBudget(caller, cur, next.MonthlyBudget)
	}
	return nil
}

// CheckBudget reports whether caller may set the monthly budget to
// monthly under the limit in cur (as the Backend reports it): a member
// may not exceed cur.MaxMonthlyBudget (ErrForbidden).
func CheckBudget(caller Caller, cur Settings, monthly Amount) error {
	if caller.Admin() || cur.MaxMonthlyBudget.IsZero() || monthly.Cmp(cur.MaxMonthlyBudget) <= 0 {
		return nil
	}
	return fmt.Errorf("%w: monthly_budget: %s is above the admin's limit of %s (smallest units); only an admin (root) may set more",
		ErrForbidden, monthly, cur.MaxMonthlyBudget)
}

// Validate reports every bad field of s in one error that wraps
// ErrInvalid and names each field by its JSON name, e.g. "invalid
// settings: hops: 9 out of range 1-5; lockdown: needs kill_switch on".
func (s Settings) Validate() error {
	var msgs []string
	bad := func(field, format string, args ...any) {
		msgs = append(msgs, field+": "+fmt.Sprintf(format, args...))
	}
	if s.Hops < MinHops || s.Hops > MaxHops {
		bad("hops", "%d out of range %d-%d", s.Hops, MinHops, MaxHops)
	}
	seen := make(map[string]bool)
	for _, c := range s.ExitCountries {
		if err := checkCountry(c); err != nil {
			bad("exit_countries", "%v", err)
		} else if seen[c] {
			bad("exit_countries", "%s listed twice", c)
		}
		seen[c] = true
	}
	if s.PaddingKbps < 0 || s.PaddingKbps > MaxPaddingKbps {
		bad("padding_kbps", "%d out of range 0-%d", s.PaddingKbps, MaxPaddingKbps)
	}
	if s.Lockdown && !s.KillSwitch {
		bad("lockdown", "needs kill_switch on")
	}
	switch s.AtLimit {
	case "", LimitStop, LimitDirect:
	case LimitThrottle:
		if s.FloorKbps == 0 {
			bad("at_limit", "throttle needs floor_kbps, the rate to keep (1-%d)", MaxFloorKbps)
		}
	default:
		bad("at_limit", "%q is not one of %q, %q, %q", s.AtLimit, LimitStop, LimitThrottle, LimitDirect)
	}
	if s.FloorKbps < 0 || s.FloorKbps > MaxFloorKbps {
		bad("floor_kbps", "%d out of range 0-%d", s.FloorKbps, MaxFloorKbps)
	}
	if s.AtLimit == LimitDirect && s.KillSwitch && !s.AllowDirectAtLimit {
		bad("at_limit", "direct would send traffic outside the tunnel, which the kill switch forbids: turn kill_switch off, or have the admin set allow_direct_at_limit")
	}
	var excl []netip.Prefix
	for _, c := range s.ExcludeCIDRs {
		if err := checkExclude(c); err != nil {
			bad("exclude_cidrs", "%v", err)
		} else {
			excl = append(excl, netip.MustParsePrefix(c))
		}
	}
	if fam := coveredFamily(excl); fam != "" {
		bad("exclude_cidrs", "together they cover all of %s: nothing of it would go through the tunnel", fam)
	}
	if len(s.LANCIDRs) > MaxLANCIDRs {
		bad("lan_cidrs", "%d prefixes, at most %d", len(s.LANCIDRs), MaxLANCIDRs)
	}
	for _, c := range s.LANCIDRs {
		if err := checkLAN(c); err != nil {
			bad("lan_cidrs", "%v", err)
		}
	}
	switch s.DNSMode {
	case DNSTunnel, DNSSystem:
	default:
		bad("dns_mode", "%q is not one of %q, %q", s.DNSMode, DNSTunnel, DNSSystem)
	}
	switch s.ExcludedDNS {
	case "", DNSTunnel, DNSSystem:
	default:
		bad("excluded_dns", "%q is not one of %q, %q", s.ExcludedDNS, DNSTunnel, DNSSystem)
	}
	if s.Network != "" {
		if err := checkNetworkName(s.Network); err != nil {
			bad("network", "%v", err)
		}
	}
	if s.NetworkFile != "" && !filepath.IsAbs(s.NetworkFile) {
		bad("network_file", "%q is not an absolute path", s.NetworkFile)
	}
	if s.RPCURL != "" {
		if err := checkRPCURL(s.RPCURL); err != nil {
			bad("rpc_url", "%v", err)
		}
	}
	if s.FiatRate != "" {
		if _, _, err := ParseFiatRate(s.FiatRate); err != nil {
			bad("fiat_rate", "%v", err)
		}
	}
	if s.TimeZone != "" {
		if _, err := LoadTimeZone(s.TimeZone); err != nil {
			bad("time_zone", "%v", err)
		}
	}
	if len(msgs) > 0 {
		return fmt.Errorf("%w settings: %s", ErrInvalid, strings.Join(msgs, "; "))
	}
	return nil
}

// checkNetworkName accepts a network's name: 1 to 64 letters, digits,
// '.', '_' or '-'.
func checkNetworkName(n string) error {
	if len(n) > 64 || strings.IndexFunc(n, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}) >= 0 {
		return fmt.Errorf("%q is not a network name (up to 64 letters, digits, '.', '_', '-')", n)
	}
	return nil
}

// checkCountry accepts an upper-case ISO 3166-1 alpha-2 code.
func checkCountry(c string) error {
	if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
		return fmt.Errorf("%q is not a two-letter upper-case country code such as DE", c)
	}
	return nil
}

func checkExclude(c string) error {
	p, err := netip.ParsePrefix(c)
	if err != nil {
		return fmt.Errorf("%q is not a CIDR prefix such as 192.168.0.0/16", c)
	}
	if p != p.Masked() {
		return fmt.Errorf("%q has host bits set; did you mean %s?", c, p.Masked())
	}
	if p.Bits() == 0 {
		return fmt.Errorf("%q would exclude all traffic from the tunnel", c)
	}
	return nil
}

// coveredFamily returns "IPv4" or "IPv6" if the union of ps (each already
// checked by checkExclude) is that whole address family, however it is
// split or overlaps, else "". A single /0 is refused by checkExclude.
func coveredFamily(ps []netip.Prefix) string {
	for _, fam := range []struct {
		name string
		v4   bool
	}{{"IPv4", true}, {"IPv6", false}} {
		var in []netip.Prefix
		for _, p := range ps {
			if p.Addr().Is4() == fam.v4 && p.Bits() > 0 {
				in = append(in, p)
			}
		}
		if coversAll(in, fam.v4) {
			return fam.name
		}
	}
	return ""
}

// coversAll reports whether the prefixes ps, all of one family, cover
// every address of it: sorted by first address, each must start at or
// before the address after the highest one covered so far.
func coversAll(ps []netip.Prefix, v4 bool) bool {
	if len(ps) == 0 {
		return false
	}
	slices.SortFunc(ps, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	next := netip.IPv6Unspecified() // the lowest address not yet covered
	if v4 {
		next = netip.IPv4Unspecified()
	}
	for _, p := range ps {
		if p.Addr().Compare(next) > 0 {
			return false // a gap before p
		}
		last := lastAddr(p)
		if n := last.Next(); !n.IsValid() {
			return true // covered up to the family's highest address
		} else if n.Compare(next) > 0 {
			next = n
		}
	}
	return false
}

// lastAddr is the highest address of the masked prefix p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// MaxLANCIDRs is how many prefixes lan_cidrs may list.
const MaxLANCIDRs = 32

// checkLAN accepts a prefix that can be a local network: no wider than
// /8 (IPv4) or /16 (IPv6), so it cannot open a large part of the internet.
func checkLAN(c string) error {
	p, err := netip.ParsePrefix(c)
	if err != nil {
		return fmt.Errorf("%q is not a CIDR prefix such as 10.20.0.0/16", c)
	}
	if p != p.Masked() {
		return fmt.Errorf("%q has host bits set; did you mean %s?", c, p.Masked())
	}
	if min := 8; p.Addr().Is4() && p.Bits() < min || p.Addr().Is6() && p.Bits() < 2*min {
		return fmt.Errorf("%q is too wide for a local network (at most /8 for IPv4, /16 for IPv6)", c)
	}
	return nil
}

func checkRPCURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "ws", "wss":
	default:
		return fmt.Errorf("%q: scheme must be http, https, ws or wss", s)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", s)
	}
	return nil
}

// ParseFiatRate parses a fiat_rate setting, "<decimal> <code>" such as
// "2500 USD" or "0.0125 EUR": the price of one whole token, positive, and
// an upper-case three-letter ISO 4217 code.
func ParseFiatRate(v string) (perToken *big.Rat, code string, err error) {
	num, code, ok := strings.Cut(strings.TrimSpace(v), " ")
	code = strings.TrimSpace(code)
	if !ok || len(code) != 3 || strings.IndexFunc(code, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
		return nil, "", fmt.Errorf("%q is not a price and a currency code such as \"2500 USD\"", v)
	}
	r, err := parseDecimal(num)
	if err != nil {
		return nil, "", fmt.Errorf("%q: %v", v, err)
	}
	if r.Sign() <= 0 {
		return nil, "", fmt.Errorf("%q: the price must be positive", v)
	}
	return r, code, nil
}

// parseDecimal parses digits with at most one '.', exactly.
func parseDecimal(s string) (*big.Rat, error) {
	whole, frac, _ := strings.Cut(s, ".")
	digits := func(d string) bool {
		return strings.IndexFunc(d, func(r rune) bool { return r < '0' || r > '9' }) < 0
	}
	if whole+frac == "" || !digits(whole) || !digits(frac) || len(s) > 64 {
		return nil, fmt.Errorf("%q is not a decimal number such as 2500 or 0.0125", s)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, fmt.Errorf("%q is not a decimal number such as 2500 or 0.0125", s)
	}
	return r, nil
}

// LoadTimeZone loads the IANA zone name of a time_zone setting ("Local"
// and "UTC" included).
func LoadTimeZone(name string) (*time.Location, error) {
	if strings.ContainsAny(name, "\x00\\") || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return nil, fmt.Errorf("%q is not a time zone name such as Europe/Berlin", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%q is not a known time zone (such as Europe/Berlin)", name)
	}
	return loc, nil
}
