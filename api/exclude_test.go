package api

import (
	"errors"
	"testing"
)

// TestCheckExclude: a member may move only processes whose real and
// effective user are theirs (not another user's, not a setuid program's);
// an admin any.
func TestCheckExclude(t *testing.T) {
	admin := Caller{UID: 0, Access: AccessAdmin}
	alice := Caller{UID: 1001, Access: AccessMember}
	for _, c := range []struct {
		name       string
		who        Caller
		ruid, euid uint32
		want       error
	}{
		{"member, own process", alice, 1001, 1001, nil},
		{"member, another user's", alice, 1002, 1002, ErrForbidden},
		{"member, root's", alice, 0, 0, ErrForbidden},
		{"member, setuid root program they started", alice, 1001, 0, ErrForbidden},
		{"member, process that switched to them", alice, 0, 1001, ErrForbidden},
		{"admin, anyone's", admin, 1002, 1002, nil},
	} {
		err := CheckExclude(c.who, 42, c.ruid, c.euid)
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: %v; want %v", c.name, err, c.want)
		}
	}
}
