package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/pexia-network/pexia/internal/atomicfile"
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
