package api

import (
	"context"
	"fmt"
	"net/http"
)

// ExcludeRequest moves a process into the excluded cgroup, whose programs
// reach the network around the tunnel (`pexia exclude`), or with Remove
// out of it. PID 0 is the caller's own process, as the kernel reported it
// for the connection (SO_PEERCRED): `pexia exclude -- COMMAND` moves
// itself, then runs COMMAND, which keeps the user's identity and
// environment.
type ExcludeRequest struct {
	PID    int32 `json:"pid,omitempty"`
	Remove bool  `json:"remove,omitempty"`
}

// ExcludeResult says what the daemon did.
type ExcludeResult struct {
	PID      int32  `json:"pid"`
	Excluded bool   `json:"excluded"`
	Cgroup   string `json:"cgroup"`
}

// ExcludeBackend is what a Backend implements to serve /v1/exclude; the
// Server answers 404 for it on a Backend without it.
type ExcludeBackend interface {
	// Exclude moves req.PID (the caller's own process if 0) in or out of
	// the excluded cgroup, after CheckExclude with the process's user.
	Exclude(ctx context.Context, req ExcludeRequest) (ExcludeResult, error)
}

// ErrNotSupported: the operating system has no implementation of the
// request yet (501, code "not_supported").
var ErrNotSupported = &Error{Status: http.StatusNotImplemented, Code: "not_supported",
	Message: "not supported on this OS yet"}

// CheckExclude decides whether caller c may move a process whose real and
// effective user ids are ruid and euid in or out of the exclusion: an
// admin any process, a member only their own (both ids theirs, so a
// member cannot take a setuid program, or another user's, around the
// tunnel).
func CheckExclude(c Caller, pid int32, ruid, euid uint32) error {
	if c.Admin() {
		return nil
	}
	if ruid != c.UID || euid != c.UID {
		return fmt.Errorf("%w: process %d belongs to uid %d, not to you (uid %d); only an admin may exclude other users' processes",
			ErrForbidden, pid, euid, c.UID)
	}
	return nil
}

func (s *Server) excludeRoutes() {
	s.routes["/v1/exclude"] = map[string]http.HandlerFunc{http.MethodPost: s.handleExclude}
}

func (s *Server) handleExclude(w http.ResponseWriter, r *http.Request) {
	eb, ok := optionalBackend[ExcludeBackend](s, w, "this pexiad excludes no programs")
	if !ok {
		return
	}
	var in ExcludeRequest
	if !decode(w, r, &in, false) {
		return
	}
	if in.PID < 0 {
		s.reply(w, r, nil, fmt.Errorf("%w: invalid process id %d", ErrInvalid, in.PID))
		return
	}
	res, err := eb.Exclude(r.Context(), in)
	s.reply(w, r, res, err)
}

// Exclude moves a process in or out of the exclusion (see ExcludeRequest).
func (c *Client) Exclude(ctx context.Context, req ExcludeRequest) (ExcludeResult, error) {
	var res ExcludeResult
	err := c.do(ctx, http.MethodPost, "/v1/exclude", req, &res)
	return res, err
}
