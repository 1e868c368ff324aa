// Package daemon is pexiad's core: it connects the machine to circuits of
// paid relays and serves the local API (package api) through the Daemon's
// api.Backend methods.
//
// A connection is a session, from Connect to Disconnect. One goroutine
// (run) owns it: it dials the chain and runs the chain client's event
// follower for the session's life (tickets are issued against the
// follower's account cache, so the JSON-RPC endpoint sees the same polls
// whatever the traffic, and while it is down the cache answers), funds
// the per-hop lottery accounts,
// picks nodes from the directory, brings up the data plane (the TUN with
// its routes, DNS and kill switch, or local SOCKS5/HTTP proxies) and
// builds the first circuit, then replaces the circuit whenever it dies.
// Connect, Disconnect and Close replace the session under one lock, each
// stopping the old session and waiting for its teardown before anything
// else starts, so that at most one session runs; Close joins every
// goroutine the daemon started.
//
// Every new flow of a session is decided by the split-tunnel rules
// (package rules), which the Daemon keeps in rules.json in its state
// directory and shares with every session, so a change made through the
// API applies to the next flow without reconnecting: tunnelled flows use
// the session's circuit (a profile named by a rule gets no circuit of its
// own yet), direct flows are dialled with the bypass mark, blocked ones
// are refused (a reset for TCP, port unreachable for UDP). In TUN mode a
// flow's owner is looked up (rules/owner) only when a rule looks at
// applications; in proxy mode flows have no owner, and one opened by name
// is matched by that name.
//
// Config's seams let a test run this same daemon in-process: DialChain
// hands it a chain client (on contracts/chaintest's in-process EVM, or a
// JSON-RPC endpoint the test can kill), Directory lists the nodes to build
// circuits through (hop/hoptest nodes on loopback, which verify the
// daemon's tickets on that chain), and System records what TUN mode would
// change in the operating system instead of changing it. Their zero
// values are what pexiad runs with.
package daemon
