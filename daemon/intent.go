package daemon

import (
	"fmt"
	"path/filepath"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/logger"
)

// intent is the user's target state: connected (with the request that
// asked for it) or disconnected. It is written to the state directory,
// durably, before anything acts on it, so a daemon that stops without a
// disconnect (killed, crashed, shut down with the machine) leaves a record
// that the user still wants to be connected. While it says connected and
// the kill switch is on, traffic stays blocked: after a crash, across
// `pexiad recover`, from early boot, and in the restarted daemon, which
// reconnects. Only a disconnect by the user clears it.
type intent struct {
	Connected bool   `json:"connected"`
	Hops      int    `json:"hops,omitempty"`
	Country   string `json:"country,omitempty"`
}

const intentFile = "target-state.json"

func intentPathIn(dir string) string { return filepath.Join(dir, intentFile) }

func loadIntent(dir string) (intent, error) {
	var in intent
	if err := loadJSON(intentPathIn(dir), &in); err != nil {
		return intent{}, fmt.Errorf("target state: %w", err)
	}
	return in, nil
}

func saveIntent(dir string, in intent) error {
	if err := saveJSON(intentPathIn(dir), in); err != nil {
		return fmt.Errorf("target state: %w", err)
	}
	return nil
}

// blocks reports whether the kill-switch table must stay while no tunnel
// is up: lockdown, or the kill switch with the user's target state
// connected (an unexpected stop, an error, a reconnect).
func blocks(set api.Settings, in intent) bool {
	return set.KillSwitch && (set.Lockdown || in.Connected)
}

// loadPersisted reads the settings and the target state a daemon left in
// dir, for the commands that run without one (recover, early-boot).
func loadPersisted(dir string) (api.Settings, intent, error) {
	set, err := loadSettings(settingsPathIn(dir), defaultSettings(), logger.Discard)
	if err != nil {
		return set, intent{}, fmt.Errorf("settings: %w", err)
	}
	in, err := loadIntent(dir)
	return set, in, err
}

// withDefaults fills in what the commands that run without a daemon need.
func withDefaults(cfg Config) Config {
	if cfg.StateDir == "" {
		cfg.StateDir = "/var/lib/pexia"
	}
	if cfg.TUN.Mark == 0 {
		cfg.TUN.Mark = 0x5078
	}
	cfg.Logf = logger.OrDiscard(cfg.Logf)
	if cfg.System == nil {
		cfg.System = osSystem{stateDir: cfg.StateDir, logf: cfg.Logf}
	}
	return cfg
}
