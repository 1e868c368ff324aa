// Package api is pexiad's local API: the JSON types, the HTTP server the
// daemon runs on a unix socket, and the typed client that the pexia CLI and
// the desktop app use. Tailscale's LocalAPI is the model: the daemon runs
// as root and owns the machine's network; the user's tools never need root
// and only ever talk to it through this package.
//
// # Transport and access
//
// HTTP/1.1 with JSON bodies on a unix socket (DefaultSocketPath). Listen
// creates the socket with mode 0660 and group ServerConfig.Group, so the
// kernel already keeps out users outside the group; the server then checks
// every connection's peer credentials (SO_PEERCRED) and answers 403 unless
// the peer is root, the daemon's own user, or a member of the group
// (primary or supplementary, from the user database via os/user). The
// second check keeps the API closed if the socket's mode or group is ever
// loosened, and gives a clear message instead of a bare EACCES. A unix
// socket also rules out the browser-based attacks (DNS rebinding, CSRF) that
// a localhost TCP port would invite, so there are no tokens. What an
// allowed caller may then do depends on who it is; see below.
//
// # Who may do what
//
// Callers come in two kinds (Access), decided per connection from the
// peer credentials and handed to the Backend in every request's context
// (CallerFrom):
//
//   - admin: root, or the user pexiad runs as. Root owns the machine and
//     the funder key anyway; pexiad's own user is its operator.
//   - member: any other user the access check lets in, i.e. a member of
//     ServerConfig.Group (primary, supplementary or effective group).
//
// Everyone else gets 403 before any endpoint runs. The network the funder
// pays on — the network file with its chain ID and contract addresses,
// and the JSON-RPC endpoint — and the funder key are the admin's: they come
// from pexiad's flags and its configuration file, which must belong to
// root, and through the API only an admin may override the network. A
// member uses the tunnel and chooses within what the admin allows, so
// nothing a member sends can make the daemon sign for, deposit to or route
// through a network the admin did not configure.
//
//	endpoint / field                 member                      admin
//	GET  /v1/status, /v1/circuit     yes                         yes
//	GET  /v1/settings, /v1/budget    yes                         yes
//	GET  /v1/wallet, /v1/events      yes                         yes
//	POST /v1/connect, /v1/disconnect yes                         yes
//	PUT  /v1/settings:
//	  hops, exit_countries,          yes                         yes
//	  price_cap_per_gb, kill_switch,
//	  lockdown, allow_lan, lan_cidrs,
//	  exclude_cidrs, dns_mode,
//	  padding_kbps, time_zone
//	  at_limit stop or direct        yes (direct: kill_switch    yes
//	                                 off or the admin's consent)
//	  at_limit throttle, floor_kbps  only with no                yes
//	                                 max_monthly_budget (it pays
//	                                 past the budget)
//	  monthly_budget                 up to max_monthly_budget    any
//	  network                        one of networks             one of networks
//	  network_file, rpc_url,         no (403 if changed)         yes
//	  fiat_rate, allow_direct_at_limit,
//	  excluded_dns
//	  networks, max_monthly_budget,  read-only: set in pexiad's configuration
//	  currency
//	  fiat_rate_set_at               read-only: when fiat_rate last changed
//	PUT  /v1/budget                  up to max_monthly_budget    any
//	GET  /v1/debug/runtime           no (403)                    yes
//	GET  /v1/rules, POST /v1/rules/test  yes                     yes
//	POST /v1/rules/add:
//	  tunnel and block rules         yes                         yes
//	  direct rules                   only with match.uid exactly yes
//	                                 [their own uid]
//	POST /v1/rules/remove, /move     only rules they added       yes
//	PUT  /v1/rules/default           tunnel or block             any
//	POST /v1/profiles                add; replace only their own yes
//	POST /v1/profiles/remove         only profiles they added    yes
//	POST /v1/exclude                 only their own processes    any
//	                                 (real and effective uid)
//	GET  /v1/apps                    their own uid's apps        every app
//
// The proxy credentials in Status.ProxyAddrs (proxy mode) are shown to
// members and admins alike: whoever may use the API may use the tunnel.
// The destinations of Status.UDPFlows are shown to admins only: they tell
// where every user of the machine sends datagrams; members see the flows'
// counters.
//
// # Split-tunnel rules
//
// The rules (package rules) apply to every user of the machine, so a
// member's changes may make other users' traffic more private — tunnel
// it, with any profile, or block it — but never send it around the
// tunnel: a member's direct rule must name their own uid (match.uid
// exactly [uid]) and the default can only be made direct by an admin.
// (The exclude_cidrs setting, older than the rules, is the exception: a
// member may still set it, and it routes its prefixes around the tunnel
// for everyone.)
// Each rule and profile records who added it (added_by, absent for an
// admin's, set by the daemon whatever the request says); a member may
// remove or move only their own rules and replace or remove only their
// own profiles, so no member can undo another's or the admin's rules.
// A member's tunnel rule may sit above an admin's block rule: block rules
// are the users' choice, not a limit the admin sets. Every change is
// checked by ApplyRulesChange, in the server and again by the Backend
// atomically with the change.
//
// A member's PUT /v1/settings must carry the admin-only fields as it read
// them; the Server refuses a change (CheckChange, 403 "forbidden") and so
// does the daemon, atomically with the change. A network_file set by an
// admin takes the place of network until an admin clears it.
//
// # Endpoints
//
// All under /v1; a future incompatible change gets /v2 beside it.
//
//	GET  /v1/status      Status
//	POST /v1/connect     ConnectRequest → Status
//	POST /v1/disconnect  → Status
//	GET  /v1/circuit     Circuit (409 not_connected when there is none)
//	GET  /v1/settings    Settings
//	PUT  /v1/settings    Settings → Settings (the whole object; Validate first)
//	GET  /v1/budget      Budget
//	PUT  /v1/budget      BudgetRequest → Budget
//	GET  /v1/wallet      Wallet
//	GET  /v1/events      stream of Event, one JSON object per line
//	GET  /v1/debug/runtime  Runtime: goroutines and heap of the daemon
//	                        process (admin only; for watching leaks)
//	GET  /v1/rules          rules.Set: rules, default and profiles
//	POST /v1/rules/add      RuleAddRequest → rules.Set
//	POST /v1/rules/remove   RuleRemoveRequest → rules.Set
//	POST /v1/rules/move     RuleMoveRequest → rules.Set
//	PUT  /v1/rules/default  rules.Target → rules.Set
//	POST /v1/rules/test     RuleTest → rules.Explanation
//	POST /v1/profiles       rules.Profile → rules.Set (adds or replaces)
//	POST /v1/profiles/remove  ProfileRemoveRequest → rules.Set
//	POST /v1/exclude        ExcludeRequest → ExcludeResult (pid 0: the
//	                        caller's own process; 501 not_supported off
//	                        Linux; 404 for a Backend without ExcludeBackend)
//	GET  /v1/apps           Apps: flows, bytes and spend per application
//	                        this budget period (404 for a Backend without
//	                        AppsBackend)
//
// The rules endpoints are served for a Backend that implements
// RulesBackend (404 otherwise). A rule change is saved and used for the
// next flow; flows already open keep their way.
//
// Request bodies are limited to MaxBodyBytes and decoded strictly: unknown
// fields, trailing data and a wrong method are errors (400, 400, 405), so a
// typo in a client never silently does nothing.
//
// # JSON conventions
//
// Field names are snake_case and stable within /v1; new fields may appear,
// so readers of responses must ignore fields they do not know (the Client
// does). Times are RFC 3339. Byte counts are integers, rates are bytes per
// second. Token amounts are Amount values: decimal strings of the token's
// smallest unit ("1500000000000000000" for 1.5 tokens of 18 decimals), never
// floats, because JSON numbers lose precision past 2^53 in most readers;
// objects holding amounts carry the Currency needed to display them.
//
// # Errors
//
// A failed request answers {"error": "message", "code": "invalid"} with a
// matching HTTP status. The Backend signals the kind by wrapping one of the
// sentinels in errors.go (ErrInvalid → 400, ErrNotConnected and ErrBusy →
// 409, ErrUnavailable → 503, context.DeadlineExceeded → 504; anything else
// is 500); the Client turns the
// body back into an *Error that carries the daemon's message and matches
// the same sentinel with errors.Is.
//
// # Events
//
// GET /v1/events streams newline-delimited JSON (application/x-ndjson),
// flushed after every event. The first event is always a "state" event with
// the current Status, so a client needs no separate Status call to start.
// Each stream has a bounded queue between the daemon and the connection:
// the server drains the Backend's channel at once, and a client that falls
// more than ServerConfig.EventBuffer events behind, or does not take an
// event within ServerConfig.EventWriteTimeout, is disconnected. The daemon
// never waits for a slow reader; the reader reconnects and starts again
// from a fresh state event. Feed is a ready-made fan-out for the Backend's
// Subscribe with the same never-block rule.
//
// Package apitest has an in-memory Backend and a helper serving it on a
// real socket, for testing clients without a daemon.
package api
