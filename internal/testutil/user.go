package testutil

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"testing"
)

// User is a throwaway system user with a group of its own.
type User struct {
	Name, Group string
	UID, GID    uint32
}

// NewUser adds a system user and its group, with random names starting
// with prefix, both removed when the test ends. It skips the test when it
// does not run as root or the shadow tools are missing.
func NewUser(t testing.TB, prefix string) User {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a system user and group")
	}
	for _, tool := range []string{"useradd", "groupadd", "userdel", "groupdel"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
	}
	var r [4]byte
	rand.Read(r[:])
	u := User{Name: prefix + "u" + hex.EncodeToString(r[:]), Group: prefix + "g" + hex.EncodeToString(r[:])}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	run("groupadd", "--system", u.Group)
	t.Cleanup(func() { exec.Command("groupdel", u.Group).Run() })
	run("useradd", "--system", "--no-create-home", "--gid", u.Group, "--shell", "/usr/sbin/nologin", u.Name)
	t.Cleanup(func() { exec.Command("userdel", u.Name).Run() })
	pu, err := user.Lookup(u.Name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.ParseUint(pu.Uid, 10, 32)
	gid, _ := strconv.ParseUint(pu.Gid, 10, 32)
	u.UID, u.GID = uint32(uid), uint32(gid)
	return u
}
