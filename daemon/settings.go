package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/atomicfile"
	"github.com/pexia-network/pexia/internal/logger"
)

// loadJSON reads path into v; a missing file leaves v as it is.
func loadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// saveJSON writes v to path atomically (write, fsync, rename).
func saveJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o600)
}

// savedSettings is settings.json. The admin-only fields are kept apart,
// under "admin", and only the daemon writes the file, after checking who
// asked: what is at the top level under their names was written by an
// older pexiad, which let any group member set them, and is ignored.
type savedSettings struct {
	api.Settings
	Admin adminSettings `json:"admin,omitzero"`
}

type adminSettings struct {
	NetworkFile string `json:"network_file,omitempty"`
	RPCURL      string `json:"rpc_url,omitempty"`
}

// loadSettings reads settings.json over def; a missing file gives def.
func loadSettings(path string, def api.Settings, logf logger.Logf) (api.Settings, error) {
	saved := savedSettings{Settings: def}
	if err := loadJSON(path, &saved); err != nil {
		return api.Settings{}, err
	}
	s := saved.Settings
	if s.NetworkFile != "" || s.RPCURL != "" {
		logf("settings: ignoring network_file %q and rpc_url %q saved by an older version, which let any group member set them; an admin sets them again if wanted",
			s.NetworkFile, s.RPCURL)
	}
	s.NetworkFile, s.RPCURL = saved.Admin.NetworkFile, saved.Admin.RPCURL
	s.ClearReadOnly()
	return s, nil
}

// saveSettings writes s to settings.json.
func saveSettings(path string, s api.Settings) error {
	saved := savedSettings{Settings: s, Admin: adminSettings{NetworkFile: s.NetworkFile, RPCURL: s.RPCURL}}
	saved.NetworkFile, saved.RPCURL = "", ""
	saved.ClearReadOnly()
	return saveJSON(path, saved)
}

// CheckAdminFile refuses a file that someone other than root or the
// daemon's own user could have written: a network file decides where the
// funder's coin goes, and pexiad's configuration which networks members
// may choose, so they must be the admin's.
func CheckAdminFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	return checkOwner(path, fi)
}
