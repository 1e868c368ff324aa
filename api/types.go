package api

import (
	"fmt"
	"math/big"
	"time"
)

// Default locations of the local API.
const (
	// DefaultSocketPath is where pexiad listens unless configured otherwise.
	DefaultSocketPath = "/run/pexia/pexiad.sock"
	// DefaultGroup is the group whose members may use the API; packages
	// create it, and pexiad passes it as ServerConfig.Group by default.
	DefaultGroup = "pexia"
)

// State is the tunnel's connection state.
//
//	disconnected ──Connect──▶ connecting ──circuit up──▶ connected
//	     ▲                        │                        │ circuit lost
//	     │                        ▼                        ▼
//	     └──Disconnect──────── error ◀──gave up──── reconnecting
//
// Disconnect returns to disconnected from any state. In error the tunnel
// is down, and with the kill switch on traffic stays blocked, until the
// user connects or disconnects again.
type State string

// The states a Status can report.
const (
	StateDisconnected State = "disconnected"
	StateConnecting   State = "connecting"
	StateConnected    State = "connected"
	StateReconnecting State = "reconnecting"
	StateError        State = "error"
)

// The Reasons a Status can give for its Error.
const (
	// ReasonNoFunds: the wallet or a hop's account holds too little to
	// pay the circuit; deposit to the lottery account.
	ReasonNoFunds = "no_funds"
	// ReasonNoNodes: no node passes the filters (countries, price cap,
	// hops); widen them.
	ReasonNoNodes = "no_nodes"
	// ReasonChainUnreachable: the chain's JSON-RPC endpoint does not
	// answer; check the network or choose another endpoint.
	ReasonChainUnreachable = "chain_unreachable"
	// ReasonBudgetExhausted: this period's budget is spent or too small
	// for the circuit's price; raise the budget or wait for the next
	// period.
	ReasonBudgetExhausted = "budget_exhausted"
)

// Mode is how traffic reaches the daemon.
type Mode string

// The modes a Status can report.
const (
	// ModeTUN: the whole machine's traffic goes through the pexia0 device.
	ModeTUN Mode = "tun"
	// ModeProxy: only applications configured to use the daemon's local
	// proxies (Status.ProxyAddrs) are tunnelled; no root-level routing.
	ModeProxy Mode = "proxy"
)

// Status is the daemon's state at a moment: GET /v1/status, and the payload
// of "state" events.
type Status struct {
	State State `json:"state"`
	// Error explains StateError (and the last failure while reconnecting);
	// empty otherwise.
	Error string `json:"error,omitempty"`
	// Reason classifies Error for a client that explains how to get out
	// of it: one of the Reason* constants, or empty when the daemon knows
	// no better than the message.
	Reason string `json:"reason,omitempty"`
	// Since is when State was entered.
	Since time.Time `json:"since"`
	// Profile names the circuit profile in use (see hop.Profile).
	Profile string `json:"profile,omitempty"`
	// ExitCountry is the exit node's ISO 3166-1 alpha-2 country, ExitAddr
	// its account address (0x…, EIP-55) and ExitHost the host of its
	// signaling URL; empty while not connected.
	ExitCountry string `json:"exit_country,omitempty"`
	ExitAddr    string `json:"exit_addr,omitempty"`
	ExitHost    string `json:"exit_host,omitempty"`
	// BytesUp and BytesDown count tunnelled payload since the daemon
	// started; RateUp and RateDown are bytes per second over the last few
	// seconds.
	BytesUp   uint64 `json:"bytes_up"`
	BytesDown uint64 `json:"bytes_down"`
	RateUp    uint64 `json:"rate_up"`
	RateDown  uint64 `json:"rate_down"`
	// KillSwitch: the firewall blocks traffic outside the tunnel while
	// connected or reconnecting; Lockdown: also while disconnected.
	KillSwitch bool `json:"kill_switch"`
	Lockdown   bool `json:"lockdown"`
	// ExcludedDNS is where the programs `pexia exclude` routes around the
	// tunnel resolve names (Settings.ExcludedDNS). ExcludedDNSServers are
	// the system resolvers their queries to the tunnel's resolver go to
	// while the exclusion is in place with excluded_dns=system; empty with
	// tunnel, before any program was excluded, and when no system
	// resolver was found (their queries then stay in the tunnel).
	ExcludedDNS        DNSMode  `json:"excluded_dns,omitempty"`
	ExcludedDNSServers []string `json:"excluded_dns_servers,omitempty"`
	Mode               Mode     `json:"mode"`
	// ProxyAddrs lists the local proxies as URLs with the credentials
	// every client must give (SOCKS5 username/password, HTTP
	// Proxy-Authorization Basic), e.g.
	// "socks5://pexia:5f0c…@127.0.0.1:1080"; empty when none run. Only API
	// users see them: whoever may use the API may use the tunnel.
	ProxyAddrs []string `json:"proxy_addrs,omitempty"`
	// UDPFlows lists the UDP flows and ICMP echo (ping) flows open on the
	// circuit, with what each lost: a circuit that cannot take more drops
	// datagrams rather than queue them, each flow in a small queue of its
	// own, here and at the exit. Only GET /v1/status fills it; "state"
	// events leave it out.
	UDPFlows []UDPFlow `json:"udp_flows,omitempty"`
	// Circuits lists the live circuits: the connection's (Default) first,
	// then one per profile that a tunnel rule sent a flow to, named by
	// the profile. Only GET /v1/status fills it.
	Circuits []Circuit `json:"circuits,omitempty"`
	// Guards are the entry guards of the connected network: the first
	// hop of every circuit of two hops or more is one of them, kept for
	// weeks. Only GET /v1/status fills it.
	Guards []Guard `json:"guards,omitempty"`
	// AtLimit is the action in force because the month's budget is spent
	// (Settings.AtLimit); empty while the budget lasts.
	AtLimit LimitAction `json:"at_limit,omitempty"`
}

// Guard is one entry guard: a node kept as the first hop of circuits, so
// that few nodes ever see the client's address. It is replaced when it
// expires or after failing several times in a row.
type Guard struct {
	Address  string    `json:"address"`
	Country  string    `json:"country,omitempty"`
	Added    time.Time `json:"added"`
	Expires  time.Time `json:"expires"`
	Failures int       `json:"failures,omitempty"` // in a row
}

// UDPFlow is one UDP flow through the circuit: the datagrams between one
// local socket and one destination; or one ICMP echo flow: the pings of
// one app to one address. Counts are datagrams (echo requests and
// replies) since the flow opened.
type UDPFlow struct {
	// Protocol is "udp", or "icmp" for an echo flow.
	Protocol string `json:"protocol,omitempty"`
	// Destination is the address the flow goes to ("host:port", an IP
	// address alone for icmp); only admins see it, members get an empty
	// string.
	Destination string `json:"destination,omitempty"`
	// Sent counts datagrams that entered the circuit, Received those that
	// came back from the exit.
	Sent     uint64 `json:"sent"`
	Received uint64 `json:"received"`
	// DroppedUp counts datagrams dropped here before entering the
	// circuit, because the flow sent faster than its share of the
	// circuit; DroppedDown those that arrived and were dropped because
	// the application did not read them in time.
	DroppedUp   uint64 `json:"dropped_up"`
	DroppedDown uint64 `json:"dropped_down"`
	// ExitDroppedUp counts datagrams that reached the exit and were
	// dropped there because the flow's destination side was behind;
	// ExitDroppedDown those the exit dropped on the way back because the
	// circuit could not take them. They are the exit's counts as it last
	// reported them (within a quarter of a second).
	ExitDroppedUp   uint64 `json:"exit_dropped_up"`
	ExitDroppedDown uint64 `json:"exit_dropped_down"`
}

// ConnectRequest is the body of POST /v1/connect. Zero fields take the
// values from Settings.
type ConnectRequest struct {
	// Hops is the circuit length, 1 to MaxHops; 0 uses Settings.Hops.
	Hops int `json:"hops,omitempty"`
	// Country is the exit's ISO 3166-1 alpha-2 code (upper case); empty
	// uses Settings.ExitCountries.
	Country string `json:"country,omitempty"`
}

// Validate reports the first bad field of r.
func (r ConnectRequest) Validate() error {
	if r.Hops != 0 && (r.Hops < MinHops || r.Hops > MaxHops) {
		return fmt.Errorf("%w connect request: hops: %d out of range %d-%d", ErrInvalid, r.Hops, MinHops, MaxHops)
	}
	if r.Country != "" {
		if err := checkCountry(r.Country); err != nil {
			return fmt.Errorf("%w connect request: country: %v", ErrInvalid, err)
		}
	}
	return nil
}

// Role is a hop's place in a circuit.
type Role string

// The roles a Hop can have.
const (
	RoleRelay Role = "relay"
	RoleExit  Role = "exit"
)

// Hop is one node of a circuit, entry first.
type Hop struct {
	// Address is the node's account address (0x…, EIP-55); Host the host
	// (and port) of its signaling URL; Country its ISO 3166-1 alpha-2
	// country as registered.
	Address string `json:"address"`
	Host    string `json:"host"`
	Country string `json:"country,omitempty"`
	Role    Role   `json:"role"`
	// PricePerGB is the node's announced price for 10^9 bytes.
	PricePerGB Amount `json:"price_per_gb"`
	// LatencyMS is the latest round trip from the client to this hop
	// through the circuit, in milliseconds.
	LatencyMS float64 `json:"latency_ms"`
	// BytesUp and BytesDown count what this hop carried on this circuit.
	BytesUp   uint64 `json:"bytes_up"`
	BytesDown uint64 `json:"bytes_down"`
	// Paid is the expected value of the tickets issued to this hop on this
	// circuit.
	Paid Amount `json:"paid"`
}

// Circuit is the circuit carrying the default profile's traffic:
// GET /v1/circuit, and the payload of "circuit" events.
type Circuit struct {
	Profile string `json:"profile,omitempty"`
	// Default marks the connection's own circuit, which flows without a
	// profile ride.
	Default bool  `json:"default,omitempty"`
	Hops    []Hop `json:"hops"`
	// BuiltAt is when the circuit finished building; BuildMS how long
	// building took, in milliseconds.
	BuiltAt time.Time `json:"built_at"`
	BuildMS int64     `json:"build_ms"`
	// Currency is the token that PricePerGB and Paid are in.
	Currency Currency `json:"currency"`
}

// Currency says how to display amounts of a token.
type Currency struct {
	// Symbol is the token's symbol, e.g. "PEX".
	Symbol string `json:"symbol"`
	// Decimals is the number of decimal places of one whole token: an
	// Amount of 10^Decimals is 1 token.
	Decimals int `json:"decimals"`
	// Token is the ERC20 contract address, empty for the chain's native
	// coin.
	Token string `json:"token,omitempty"`
	// Price is a fiat estimate of one whole token, for display only; nil
	// when the admin configured none (Settings.FiatRate).
	Price *Price `json:"price,omitempty"`
}

// Price sources.
const (
	// PriceFixed is a rate the admin set in the settings (fiat_rate).
	PriceFixed = "fixed"
)

// Price is the fiat value of one whole token. It is exact: PerToken is a
// decimal string, and Value computes with rationals.
type Price struct {
	// Fiat is the currency's ISO 4217 code, e.g. "USD".
	Fiat string `json:"fiat"`
	// PerToken is the price of one whole token in Fiat, a decimal such as
	// "2500" or "0.0125".
	PerToken string `json:"per_token"`
	// Source is where the price comes from: PriceFixed.
	Source string `json:"source"`
	// AsOf is when the price was set or fetched: its age is now − AsOf.
	AsOf time.Time `json:"as_of"`
}

// Value renders a (smallest units of a token with decimals places) in the
// price's currency, rounded to the cent, half away from zero: "$2.41" for
// USD, "2.41 EUR" otherwise; "" if the price does not parse.
func (p *Price) Value(a Amount, decimals int) string {
	if p == nil {
		return ""
	}
	r, err := parseDecimal(p.PerToken)
	if err != nil {
		return ""
	}
	if decimals < 0 {
		decimals = 0
	}
	r.Mul(r, new(big.Rat).SetFrac(a.Big(), pow10(decimals)))
	if p.Fiat == "USD" {
		return "$" + r.FloatString(2)
	}
	return r.FloatString(2) + " " + p.Fiat
}

// Budget is the spending state of the current budget period:
// GET and PUT /v1/budget.
type Budget struct {
	// Monthly is the budget: the most the account pays out per period.
	Monthly Amount `json:"monthly"`
	// PeriodStart and PeriodEnd bound the current period [start, end).
	PeriodStart time.Time `json:"period_start"`
	PeriodEnd   time.Time `json:"period_end"`
	// Spent is what winning tickets took from the account this period:
	// the actual spend. Issued is the expected value of every ticket
	// issued this period; Remaining is Monthly − Spent, at least 0.
	Spent     Amount `json:"spent"`
	Issued    Amount `json:"issued"`
	Remaining Amount `json:"remaining"`
	// Forecast is the expected total spend of the period, with a 95 %
	// band [ForecastLow, ForecastHigh].
	Forecast     Amount `json:"forecast"`
	ForecastLow  Amount `json:"forecast_low"`
	ForecastHigh Amount `json:"forecast_high"`
	// RatePerHour is the current spend rate the throttle allows.
	RatePerHour Amount `json:"rate_per_hour"`
	// DemandPerHour is the expected value issued per hour since the
	// period's first ticket: the current rate of use. Zero before a minute
	// of use.
	DemandPerHour Amount `json:"demand_per_hour"`
	// DaysLeft is how many days what is left of the budget lasts at
	// DemandPerHour; absent while that rate is unknown.
	DaysLeft *float64 `json:"days_left,omitempty"`
	// RunOutProbability is the chance that the budget runs out before the
	// period ends if use keeps its current rate (1 while the throttle is
	// already holding traffic back, or once it is spent).
	RunOutProbability float64 `json:"run_out_probability"`
	// TimeZone is the zone whose calendar months are the periods.
	TimeZone string `json:"time_zone,omitempty"`
	// PaddingPerHour is what padding costs per hour on the current circuit
	// (Settings.PaddingKbps at every hop's price), paid idle or busy; zero
	// without padding or circuit.
	PaddingPerHour Amount `json:"padding_per_hour"`
	// Tickets issued and Wins paid this period.
	Tickets uint64 `json:"tickets"`
	Wins    uint64 `json:"wins"`
	// PerHop breaks the period's spend down by hop index ("0" is the
	// entry), PerDay by calendar day (YYYY-MM-DD), PerApp by application
	// ("uid:executable"; its share of expected value, see Apps) and
	// PerProfile by circuit profile (the tickets its circuits issued and
	// the winners among them).
	PerHop     []SpendTotal `json:"per_hop,omitempty"`
	PerDay     []SpendTotal `json:"per_day,omitempty"`
	PerApp     []SpendTotal `json:"per_app,omitempty"`
	PerProfile []SpendTotal `json:"per_profile,omitempty"`
	// Currency is the token of every amount above.
	Currency Currency `json:"currency"`
	// AtLimit is what happens once the budget is spent (the setting, with
	// the default filled in) and FloorKbps the rate kept by
	// LimitThrottle; Limited says the budget is spent now and AtLimit is
	// in force.
	AtLimit   LimitAction `json:"at_limit"`
	FloorKbps int         `json:"floor_kbps,omitempty"`
	Limited   bool        `json:"limited"`
}

// SpendTotal is the spend under one key of a breakdown.
type SpendTotal struct {
	Key     string `json:"key"`
	Issued  Amount `json:"issued"`
	Spent   Amount `json:"spent"`
	Tickets uint64 `json:"tickets"`
	Wins    uint64 `json:"wins"`
}

// BudgetRequest is the body of PUT /v1/budget.
type BudgetRequest struct {
	// Monthly is the new budget per period, in smallest units.
	Monthly Amount `json:"monthly"`
}

// Wallet is the paying side of the client: GET /v1/wallet.
type Wallet struct {
	// Funder is the address that owns the lottery accounts (0x…).
	Funder string `json:"funder"`
	// Token is the currency tickets are paid in.
	Token Currency `json:"token"`
	// FunderBalance is what the funder holds outside the lottery, ready
	// to deposit.
	FunderBalance Amount `json:"funder_balance"`
	// Balance and Escrow sum the lottery accounts of all signers: Balance
	// pays winners, Escrow is the penalty deposit.
	Balance Amount `json:"balance"`
	Escrow  Amount `json:"escrow"`
	// PendingWinners counts winning tickets that nodes have not claimed on
	// chain yet, worth PendingAmount; the balance drops when they do.
	PendingWinners uint64 `json:"pending_winners"`
	PendingAmount  Amount `json:"pending_amount"`
	// Signers are the ticket-signing keys and their accounts: one per hop
	// position and epoch, current, next and retired ones not yet emptied
	// back to the funder.
	Signers []Signer `json:"signers"`
	// Epoch is the current rotation epoch of the per-hop accounts and
	// NextRotation when the next begins: circuits built after it pay
	// every hop from new addresses.
	Epoch        uint64    `json:"epoch"`
	NextRotation time.Time `json:"next_rotation,omitzero"`
}

// Account states of a Signer.
const (
	AccountCurrent = "current" // pays hops of new circuits
	AccountNext    = "next"    // funded ahead of the next rotation
	AccountRetired = "retired" // of an earlier epoch; being returned to the funder
	AccountLegacy  = "legacy"  // the funder's own account, from before per-hop accounts
)

// Signer is one ticket-signing key's lottery account.
type Signer struct {
	Address string `json:"address"`
	// Funder is the account's funder: for a hop account its own address,
	// funded by the wallet's funder; what the hop sees.
	Funder string `json:"funder,omitempty"`
	// Hop is the hop position the account pays (0 = first hop); -1 for
	// the legacy account.
	Hop   int    `json:"hop"`
	Epoch uint64 `json:"epoch"`
	// State is one of the Account* constants.
	State   string `json:"state,omitempty"`
	Balance Amount `json:"balance"`
	Escrow  Amount `json:"escrow"`
	// FunderBalance is the coin the account's funder holds outside the
	// lottery (gas and deposits not yet made).
	FunderBalance Amount `json:"funder_balance"`
	// UnlockAt is when a requested withdrawal becomes possible; zero when
	// none is pending. Warned is the amount of that withdrawal.
	UnlockAt time.Time `json:"unlock_at,omitzero"`
	Warned   Amount    `json:"warned"`
}

// Runtime is GET /v1/debug/runtime, admin only: the daemon process's Go
// runtime figures, for watching its resource use over time.
type Runtime struct {
	Goroutines int `json:"goroutines"`
	// HeapAlloc, HeapInuse and Sys are runtime.MemStats' fields of the
	// same names, in bytes; NumGC counts completed collections.
	HeapAlloc uint64 `json:"heap_alloc"`
	HeapInuse uint64 `json:"heap_inuse"`
	Sys       uint64 `json:"sys"`
	NumGC     uint32 `json:"num_gc"`
}
