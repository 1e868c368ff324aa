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
// a localhost TCP port would invite, so there are no tokens.
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
