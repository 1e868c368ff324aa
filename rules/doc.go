// Package rules is the split-tunnel rule engine: for each new flow it
// decides whether the flow goes through a circuit (and with which circuit
// profile), straight out of the machine, or nowhere.
//
// # Rules
//
// A [Set] is an ordered list of [Rule]s, a default [Target] and the named
// [Profile]s the rules may use. The first rule whose [Match] holds for a
// flow decides it; a flow no rule matches gets the default. Within a
// Match, a field lists alternatives (any one may hold) and the fields
// must all hold; an empty field holds for every flow. A rule must name at
// least one condition: everything else is the default's job.
//
// Conditions on the application (exe, name, desktop, cgroup, uid) are
// read from the flow's [Owner], found by the operating system's socket
// table (package rules/owner on Linux). A flow whose owner could not be
// found — the process already exited, or the OS offers no lookup — fails
// every application condition, so it falls to the first rule without
// one, or to the default.
//
// Domain conditions are matched against the names that DNS answers seen
// by the daemon gave the flow's destination address ([NameLookup]):
// "example.com" holds for that name only, ".example.com" for that name
// and every name under it. An address shared by many names (a CDN) holds
// for a domain when any of its names does, so domain rules are a routing
// aid, not a wall: an application that resolves names elsewhere (DNS over
// HTTPS) or connects to a literal address is matched by address only.
//
// # Actions
//
//   - tunnel: through a circuit; Target.Profile names the circuit profile,
//     empty for the connection's own circuit (the settings' hops and exit
//     countries).
//   - direct: out of the machine's own interface, as if no tunnel existed.
//   - block: refused at once (a TCP reset, an ICMP unreachable for UDP).
//
// # Files
//
// [Store] keeps a Set in a JSON file (format [Version]): every change is
// validated first, written to a temporary file, synced, renamed over the
// old one and the directory synced, and only then used for the next flow.
// A change that does not validate, or that cannot be written, leaves
// both the file and the rules in use as they were. Errors name the rule
// (by position and name) or the profile and the field.
//
// This package is portable: it reads no OS state. The owner lookup lives
// in rules/owner, which has one file per OS.
package rules
