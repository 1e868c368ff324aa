//go:build unix

package keys

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// checkSecretAccess refuses a secret file that its group or others may
// access, or that belongs to another user than this process's (or root).
func checkSecretAccess(path string, fi fs.FileInfo) error {
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("keys: %w: %s may be read by others (mode %04o); run: chmod 600 %s", ErrInsecure, path, perm, path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if uid := os.Geteuid(); int(st.Uid) != uid && st.Uid != 0 {
			return fmt.Errorf("keys: %w: %s belongs to uid %d, not to this process's user (uid %d) or root", ErrInsecure, path, st.Uid, uid)
		}
	}
	return nil
}
