//go:build !unix

package keys

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime"
)

// checkSecretAccess cannot tell on this OS who may read a secret file (its
// access is an ACL, not a mode and an owner), so it refuses the file
// rather than trust it.
func checkSecretAccess(path string, _ fs.FileInfo) error {
	return fmt.Errorf("keys: %w: checking who may read the secret file %s is not supported on %s yet", errors.ErrUnsupported, path, runtime.GOOS)
}
