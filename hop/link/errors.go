package link

import "errors"

// Errors callers branch on. A closed link, listener or channel reports an
// error matching net.ErrClosed.
var (
	// ErrPinMismatch means the node presented a TLS certificate other than the
	// pinned one: the registry entry is stale or someone is in the path.
	ErrPinMismatch = errors.New("link: signaling certificate does not match pin")

	// ErrExhausted means the link has used up its SCTP stream identifiers;
	// dial a fresh link for further channels.
	ErrExhausted = errors.New("link: no stream identifiers left on this link")
)
