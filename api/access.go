package api

import (
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

// check returns nil if p may use the API, else an error whose text tells
// the user why and what to do.
func (a accessPolicy) check(p peerCred) error {
	if p.uid == 0 || p.uid == a.selfUID {
		return nil
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
		return fmt.Errorf("%s may not use pexiad: only root and the daemon's own user may", who)
	}
	gid, err := a.lookupGroup(a.group)
	if err != nil {
		var unknown user.UnknownGroupError
		if errors.As(err, &unknown) {
			return fmt.Errorf("%s may not use pexiad: group %q, whose members may, does not exist", who, a.group)
		}
		return fmt.Errorf("%s may not use pexiad: look up group %q: %v", who, a.group, err)
	}
	if strconv.FormatUint(uint64(p.gid), 10) == gid || slices.Contains(gids, gid) {
		return nil
	}
	if uerr != nil {
		return fmt.Errorf("%s may not use pexiad: look up its groups: %v", who, uerr)
	}
	return fmt.Errorf("%s may not use pexiad: only root and members of group %q may; add the user to the group (sudo usermod -aG %s %s) and log in again",
		who, a.group, a.group, name)
}
