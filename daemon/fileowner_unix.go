//go:build unix

package daemon

import (
	"fmt"
	"os"
	"syscall"
)

// checkOwner refuses fi unless root or this process's user owns it and
// neither group nor others may write it.
func checkOwner(path string, fi os.FileInfo) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is owned by uid %d; it must belong to root or to pexiad's own user", path, st.Uid)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is writable by group or others (mode %v); make it writable only by its owner (chmod go-w)", path, fi.Mode().Perm())
	}
	return nil
}
