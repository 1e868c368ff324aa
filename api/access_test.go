package api

import (
	"errors"
	"os/user"
	"strings"
	"testing"
)

// fakeUsers is a user database: uid → name and gids.
type fakeUsers map[string]struct {
	name string
	gids []string
}

func (f fakeUsers) lookup(uid string) (string, []string, error) {
	u, ok := f[uid]
	if !ok {
		return "", nil, user.UnknownUserIdError(0)
	}
	return u.name, u.gids, nil
}

func fakeGroups(groups map[string]string) func(string) (string, error) {
	return func(name string) (string, error) {
		gid, ok := groups[name]
		if !ok {
			return "", user.UnknownGroupError(name)
		}
		return gid, nil
	}
}

func TestAccessPolicy(t *testing.T) {
	users := fakeUsers{
		"1000": {"alice", []string{"1000", "990", "27"}}, // pexia as a supplementary group
		"1001": {"bob", []string{"1001", "27"}},
		"1002": {"svc", []string{"990"}}, // pexia as the primary group
		"1003": {"carol", nil},
	}
	groups := fakeGroups(map[string]string{"pexia": "990", "sudo": "27"})
	for _, tc := range []struct {
		name  string
		group string
		cred  peerCred
		want  string // empty: allowed; else a substring of the refusal
		// access is what an allowed peer may do.
		access Access
	}{
		{"root", "pexia", peerCred{uid: 0, gid: 0}, "", AccessAdmin},
		{"root without group", "", peerCred{uid: 0, gid: 5}, "", AccessAdmin},
		{"daemon's user", "pexia", peerCred{uid: 4242, gid: 4242}, "", AccessAdmin},
		{"daemon's user in the group", "pexia", peerCred{uid: 4242, gid: 990}, "", AccessAdmin},
		{"supplementary member", "pexia", peerCred{uid: 1000, gid: 1000}, "", AccessMember},
		{"primary member", "pexia", peerCred{uid: 1002, gid: 1002}, "", AccessMember},
		{"effective group", "pexia", peerCred{uid: 1003, gid: 990}, "", AccessMember},
		{"unknown uid with effective group", "pexia", peerCred{uid: 5000, gid: 990}, "", AccessMember},
		{"non-member", "pexia", peerCred{uid: 1001, gid: 1001},
			`uid 1001 (bob) may not use pexiad: only root and members of group "pexia" may; add the user to the group (sudo usermod -aG pexia bob) and log in again`, ""},
		{"other group", "sudo", peerCred{uid: 1002, gid: 1002}, `members of group "sudo"`, ""},
		{"no group configured", "", peerCred{uid: 1000, gid: 990}, "uid 1000 (alice) may not use pexiad: only root and the daemon's own user may", ""},
		{"group missing", "pexia-gone", peerCred{uid: 1000, gid: 1000}, `group "pexia-gone", whose members may, does not exist`, ""},
		{"unknown uid", "pexia", peerCred{uid: 5000, gid: 5000}, "uid 5000 may not use pexiad: look up its groups", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := accessPolicy{selfUID: 4242, group: tc.group, lookupGroup: groups, lookupUser: users.lookup}
			access, err := a.check(tc.cred)
			switch {
			case tc.want == "" && access != tc.access:
				t.Fatalf("check(%+v) = %q, want %q", tc.cred, access, tc.access)
			case tc.want == "" && err != nil:
				t.Fatalf("check(%+v) = %v, want allowed", tc.cred, err)
			case tc.want != "" && err == nil:
				t.Fatalf("check(%+v) allowed, want refused with %q", tc.cred, tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("check(%+v) = %q, want it to contain %q", tc.cred, err, tc.want)
			}
		})
	}
}

// TestAccessPolicyUserDatabase runs the policy against this machine's real
// user database: nobody's primary group is nogroup here.
func TestAccessPolicyUserDatabase(t *testing.T) {
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	g, err := user.LookupGroupId(nobody.Gid)
	if err != nil {
		t.Skipf("nobody's group %s: %v", nobody.Gid, err)
	}
	var uid uint32
	for _, c := range nobody.Uid {
		uid = uid*10 + uint32(c-'0')
	}
	if access, err := newAccessPolicy(0, g.Name).check(peerCred{uid: uid, gid: uid}); err != nil || access != AccessMember {
		t.Errorf("nobody for its own primary group %s: %q, %v; want a member", g.Name, access, err)
	}
	_, err = newAccessPolicy(0, "root").check(peerCred{uid: uid, gid: uid})
	if err == nil || !strings.Contains(err.Error(), "(nobody) may not use pexiad") {
		t.Errorf("nobody allowed as a member of root: %v", err)
	}
	if _, err := newAccessPolicy(0, "pexia-no-such-group").check(peerCred{uid: uid}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing group: %v", err)
	}
}

func TestErrorIs(t *testing.T) {
	for code, want := range codeSentinels {
		if err := error(&Error{Code: code}); !errors.Is(err, want) {
			t.Errorf("Error{Code: %q} does not match %v", code, want)
		}
	}
	if errors.Is(&Error{Code: "internal"}, ErrInvalid) {
		t.Error("internal error matches ErrInvalid")
	}
}
