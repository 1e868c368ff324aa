package rules

import (
	"path"
	"strconv"
	"strings"
)

// launchers are the launcher names that may sit between "app-" and the
// application id in a unit name (systemd's desktop-environment
// integration: app[-<launcher>]-<id>-<random>.scope). Only these are
// taken for a launcher, since many ids hold an unescaped dash.
var launchers = map[string]bool{
	"gnome": true, "kde": true, "flatpak": true, "xfce": true, "cinnamon": true, "mate": true,
	"lxqt": true, "budgie": true, "sway": true, "niri": true, "hyprland": true, "dbus": true, "systemd": true,
}

// DesktopID returns the desktop-entry id that a cgroup v2 path names, or
// "" if it names none. Desktop sessions put each launched app in its own
// unit, named after its desktop entry:
//
//	app-firefox-1234.scope                    → firefox
//	app-gnome-org.gnome.Terminal-5678.scope   → org.gnome.Terminal
//	app-flatpak-org.mozilla.firefox-91.scope  → org.mozilla.firefox
//	app-org.kde.konsole@a1b2.service          → org.kde.konsole
//	gnome-launched-firefox.desktop-4321.scope → firefox (older GNOME)
//	snap.firefox.firefox-<uuid>.scope         → firefox_firefox (the snap's desktop file)
//
// The innermost such unit of the path wins (a terminal's child started in
// its own scope is its own app). systemd's \x2d escape is undone.
func DesktopID(cgroup string) string {
	for p := cgroup; p != "/" && p != "." && p != ""; p = path.Dir(p) {
		if id := unitDesktopID(path.Base(p)); id != "" {
			return id
		}
	}
	return ""
}

func unitDesktopID(unit string) string {
	if rest, ok := strings.CutPrefix(unit, "snap."); ok {
		rest, ok = strings.CutSuffix(rest, ".scope")
		if !ok {
			return ""
		}
		name, app, ok := strings.Cut(rest, ".")
		if !ok {
			return ""
		}
		if i := strings.LastIndexByte(app, '-'); i > 0 {
			app = app[:i]
		}
		return unescape(name + "_" + app)
	}
	if rest, ok := strings.CutPrefix(unit, "gnome-launched-"); ok {
		i := strings.Index(rest, ".desktop-")
		if i <= 0 {
			return ""
		}
		return unescape(rest[:i])
	}
	rest, ok := strings.CutPrefix(unit, "app-")
	if !ok {
		return ""
	}
	switch {
	case strings.HasSuffix(rest, ".scope"):
		rest = strings.TrimSuffix(rest, ".scope")
		i := strings.LastIndexByte(rest, '-')
		if i <= 0 {
			return ""
		}
		rest = rest[:i] // the random part
	case strings.HasSuffix(rest, ".service"):
		rest = strings.TrimSuffix(rest, ".service")
		if i := strings.IndexByte(rest, '@'); i >= 0 {
			rest = rest[:i]
		}
	default:
		return ""
	}
	if l, id, ok := strings.Cut(rest, "-"); ok && launchers[l] && id != "" {
		rest = id
	}
	rest = strings.TrimSuffix(unescape(rest), ".desktop")
	if rest == "" {
		return ""
	}
	return rest
}

// unescape undoes systemd's \xNN escapes in a unit name.
func unescape(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
