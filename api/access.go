package api

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"slices"
	"strconv"
)

// peerCred identifies the process at the other end of a connection.
type peerCred struct {
	pid      int32
	uid, gid uint32
}

// accessPolicy decides which peers may use the API: root, the daemon's own
// user, and members of group (primary or supplementary, as the user
// database lists them). A peer whose effective group is the group is a
// member too: it could open the 0660 socket anyway.
type accessPolicy struct {
	selfUID uint32
	group   string // empty: no group
	// lookupGroup returns the gid of a group name; lookupUser a user's
	// name and every gid they belong to. os/user in the daemon, fakes in
	// tests.
	lookupGroup func(name string) (gid string, err error)
	lookupUser  func(uid string) (name string, gids []string, err error)
}

func newAccessPolicy(selfUID uint32, group string) accessPolicy {
	return accessPolicy{selfUID: selfUID, group: group, lookupGroup: osLookupGroup, lookupUser: osLookupUser}
}

func osLookupGroup(name string) (string, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return "", err
	}
	return g.Gid, nil
}

func osLookupUser(uid string) (string, []string, error) {
	u, err := user.LookupId(uid)
	if err != nil {
		return "", nil, err
	}
	gids, err := u.GroupIds()
	if err != nil {
		return u.Username, nil, err
	}
	if !slices.Contains(gids, u.Gid) {
		gids = append(gids, u.Gid)
	}
	return u.Username, gids, nil
}

// Access is what a caller may do through the API; see the privilege model
// in the package doc.
type Access string

// The two kinds of caller.
const (
	// AccessAdmin: root or the daemon's own user. May change everything
	// the API offers, the network included.
	AccessAdmin Access = "admin"
	// AccessMember: a member of ServerConfig.Group. Uses the tunnel and
	// chooses within the limits the admin set.
	AccessMember Access = "member"
)

// Caller is who sent a request, as the kernel reported the connection's
// peer (SO_PEERCRED), and what they may do. The Server puts it in every
// request's context for the Backend (CallerFrom).
type Caller struct {
	PID      int32
	UID, GID uint32
	Access   Access
}

// Admin reports whether c may change admin-only state.
func (c Caller) Admin() bool { return c.Access == AccessAdmin }

type callerKey struct{}

// WithCaller returns ctx carrying c, as the Server passes it to the
// Backend. In-process callers of a Backend (the daemon's own start-up
// code, tests) use it to say who they are.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller carried by ctx. A context without one is a
// member's: a Backend that forgets to pass the caller on fails closed.
func CallerFrom(ctx context.Context) Caller {
	if c, ok := ctx.Value(callerKey{}).(Caller); ok {
		return c
	}
	return Caller{Access: AccessMember}
}

// check returns what p may do, or an error whose text tells the user why
// they may not use the API and what to do.
func (a accessPolicy) check(p peerCred) (Access, error) {
	if p.uid == 0 || p.uid == a.selfUID {
		return AccessAdmin, nil
	}
	uid := strconv.FormatUint(uint64(p.uid), 10)
	who := "uid " + uid
	name, gids, uerr := a.lookupUser(uid)
	if name != "" {
		who += " (" + name + ")"
	} else {
		name = who
	}
	if a.group == "" {
		return "", fmt.Errorf("%s may not use pexiad: only root and the daemon's own user may", who)
	}
	gid, err := a.lookupGroup(a.group)
	if err != nil {
		var unknown user.UnknownGroupError
		if errors.As(err, &unknown) {
			return "", fmt.Errorf("%s may not use pexiad: group %q, whose members may, does not exist", who, a.group)
		}
		return "", fmt.Errorf("%s may not use pexiad: look up group %q: %v", who, a.group, err)
	}
	if strconv.FormatUint(uint64(p.gid), 10) == gid || slices.Contains(gids, gid) {
		return AccessMember, nil
	}
	if uerr != nil {
		return "", fmt.Errorf("%s may not use pexiad: look up its groups: %v", who, uerr)
	}
	return "", fmt.Errorf("%s may not use pexiad: only root and members of group %q may; add the user to the group (sudo usermod -aG %s %s) and log in again",
		who, a.group, a.group, name)
}
