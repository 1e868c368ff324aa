package ui

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// appName names, for people, the application pexiad knows by its
// executable's path ("[name]" with only the process name known,
// "(unknown)" when the flow's owner was not found): the name of the
// installed application whose desktop entry runs that program, or else
// the program's file name.
func appName(path string, installed []desktopApp) string {
	switch {
	case path == "" || path == "(unknown)":
		return "Unknown program"
	case strings.HasPrefix(path, "[") && strings.HasSuffix(path, "]"):
		path = path[1 : len(path)-1]
	}
	base := filepath.Base(path)
	for _, app := range installed {
		if execBase(app.Exec) == base {
			return app.Name
		}
	}
	return base
}

// execBase returns the file name of the program a desktop entry's Exec
// line runs, past an "env VAR=value" prefix.
func execBase(exec string) string {
	fs := strings.Fields(exec)
	for i := 0; i < len(fs); i++ {
		f := strings.Trim(fs[i], `"`)
		if filepath.Base(f) == "env" || strings.Contains(f, "=") {
			continue
		}
		return filepath.Base(f)
	}
	return ""
}

// owner says whose an application is when it is not this user's:
// "" for uid, " (root)", " (user 1001)", or " (owner unknown)".
func owner(uid uint32, known bool, self int) string {
	switch {
	case !known:
		return " (owner unknown)"
	case int(uid) == self:
		return ""
	case uid == 0:
		return " (root)"
	}
	return fmt.Sprintf(" (user %d)", uid)
}

// appKeyName names an application by the budget's per-app key,
// "uid:path" ("?" for an unknown uid).
func appKeyName(key string, installed []desktopApp, self int) string {
	u, path, found := strings.Cut(key, ":")
	if !found {
		return appName(key, installed)
	}
	uid, err := strconv.ParseUint(u, 10, 32)
	return appName(path, installed) + owner(uint32(uid), err == nil, self)
}

// profileOf returns the profile an action sends through: "tunnel(work)"
// is profile work; a plain tunnel takes the connection's circuit; direct
// and block take none ("").
func profileOf(action string) string {
	if p, ok := strings.CutPrefix(action, "tunnel("); ok {
		return strings.TrimSuffix(p, ")")
	}
	if action == "tunnel" {
		return defaultProfile
	}
	return ""
}

// formatBytes renders a byte count in binary units.
func formatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
