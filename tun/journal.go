package tun

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pexia-network/pexia/internal/atomicfile"
)

// Journal files, one per component, in the caller's state directory. Each is
// written atomically before the component changes the system and removed
// after the change has been undone, so at any instant the file on disk names
// everything that might need undoing. Separate files keep the components
// independent: none has to coordinate writes with another.
const (
	journalDevice     = "tun-device.json"
	journalRoutes     = "tun-routes.json"
	journalKillSwitch = "tun-killswitch.json"
	journalDNS        = "tun-dns.json"
)

// deviceJournal records a TUN interface this package created.
type deviceJournal struct {
	NetNS string `json:"netns,omitempty"`
	Name  string `json:"name"`
}

// routesJournal records the policy rules and routes of one Routes.Up.
type routesJournal struct {
	NetNS  string      `json:"netns,omitempty"`
	Table  int         `json:"table"`
	Rules  []ruleSpec  `json:"rules"`
	Routes []routeSpec `json:"routes"`
}

// killSwitchJournal records an installed kill-switch table.
type killSwitchJournal struct {
	NetNS string `json:"netns,omitempty"`
	Table string `json:"table"`
}

// dnsJournal records a DNS hand-over together with everything needed to
// restore the previous configuration byte for byte.
type dnsJournal struct {
	Mode  string `json:"mode"` // "resolved" or "file"
	Iface string `json:"iface,omitempty"`
	// File mode: the resolver file and its state before the hand-over.
	Path    string      `json:"path,omitempty"`
	Existed bool        `json:"existed,omitempty"`
	Symlink string      `json:"symlink,omitempty"` // link target, if it was a symlink
	Content []byte      `json:"content,omitempty"` // bytes, if it was a regular file
	Perm    fs.FileMode `json:"perm,omitempty"`
}

func writeJournal(dir, name string, v any) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("journal %s: %w", name, err)
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("journal %s: %w", name, err)
	}
	if err := atomicfile.Write(filepath.Join(dir, name), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("journal %s: %w", name, err)
	}
	return nil
}

// readJournal loads the named entry into v and reports whether it existed.
func readJournal(dir, name string, v any) (bool, error) {
	if dir == "" {
		return false, nil
	}
	data, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("journal %s: %w", name, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("journal %s: %w", name, err)
	}
	return true, nil
}

func removeJournal(dir, name string) error {
	if dir == "" {
		return nil
	}
	err := os.Remove(filepath.Join(dir, name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("journal %s: %w", name, err)
	}
	return nil
}
