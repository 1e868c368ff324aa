// Package owner finds the process that owns a flow the TUN delivered: the
// local socket whose addresses are the flow's source and destination, and
// the process holding it. The rule engine (package rules) matches its
// application conditions against what it finds.
//
// On Linux, Table asks the kernel's socket table through netlink
// sock_diag (SOCK_DIAG_BY_FAMILY: the exact four-tuple for TCP, a dump of
// the source port for UDP) for the socket's uid and inode, finds the
// process holding that inode among /proc/<pid>/fd, and reads the
// process's executable, comm and cgroup (and from the cgroup the
// desktop-entry id, rules.DesktopID). Each step is cached: the inode's
// process (checked again with one readlink before it is trusted), the
// processes that owned recent flows, whose descriptors are searched
// before the whole of /proc since a browser opens its connections from a
// few processes (first the lowest descriptor numbers that were free at
// the last look, where the kernel puts a new socket, then the numbers
// new since, then all), and each process's details (keyed by pid and
// start time, so a reused pid is not mistaken for the old process). A
// socket that none of these find costs a walk of every process's
// descriptors.
//
// The fallback when the owner is gone: a flow whose socket no longer
// exists yields ErrNotFound and an unknown Owner; a socket that outlived
// its process (a TCP socket closing after its process exited) yields
// ErrGone and an Owner with only the socket's uid. Either way the rules
// see an unknown process, which fails every application condition (see
// package rules), so such a flow takes the first rule without one, or the
// default. ICMP echo flows are looked up by their identifier in the
// kernel's ping socket table (/proc/net/icmp and icmp6 of the namespace
// New was called in; sock_diag does not dump ping sockets), where an
// unprivileged ping socket's local port is its identifier. A ping sent
// from a raw socket (a program with CAP_NET_RAW where ping sockets are not
// permitted) is not found: its owner is unknown.
//
// Other systems get ErrNotSupported from New.
//
// ARCHITECTURE.md puts the process lookup in netstack; it lives here
// instead because netstack must stay self-contained (internal/deptest)
// while the lookup's result is the rule engine's Owner, and because the
// lookup reads the OS, which package rules must not.
package owner

import (
	"errors"
	"net/netip"

	"github.com/pexia-network/pexia/rules"
)

// Errors of Owner. The Owner returned with them is still the best known:
// the rules treat it as an unknown process.
var (
	// ErrNotSupported: this OS has no lookup yet.
	ErrNotSupported = errors.New("finding the process of a flow is not supported on this OS yet")
	// ErrNotFound: no local socket has the flow's addresses (it closed
	// already, or the flow came from another host or namespace).
	ErrNotFound = errors.New("no local socket for the flow")
	// ErrGone: the socket exists but no process holds it any more.
	ErrGone = errors.New("the process that owned the flow's socket is gone")
)

// Finder is what the daemon asks for a new flow's owner.
type Finder interface {
	Owner(proto rules.Proto, src, dst netip.AddrPort) (rules.Owner, error)
}

var _ Finder = (*Table)(nil)
