package ui

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// desktopApp is an installed application, from its desktop entry.
type desktopApp struct {
	// ID is the desktop-entry id ("org.mozilla.firefox"): the file's path
	// under an applications directory, without ".desktop", with "/"
	// turned into "-" (the XDG rule), as rules match it.
	ID   string
	Name string
	Exec string
	Icon string
}

// applicationDirs returns the XDG applications directories, most
// important first.
func applicationDirs() []string {
	data := os.Getenv("XDG_DATA_HOME")
	if data == "" {
		if home, err := os.UserHomeDir(); err == nil {
			data = filepath.Join(home, ".local", "share")
		}
	}
	dirs := []string{}
	if data != "" {
		dirs = append(dirs, filepath.Join(data, "applications"))
	}
	sys := os.Getenv("XDG_DATA_DIRS")
	if sys == "" {
		sys = "/usr/local/share:/usr/share"
	}
	for _, d := range strings.Split(sys, ":") {
		if d != "" {
			dirs = append(dirs, filepath.Join(d, "applications"))
		}
	}
	return dirs
}

// installedApps lists the applications of the desktop entries in dirs
// that a menu shows (not NoDisplay or Hidden), by name; an id found in an
// earlier directory hides the same id in later ones.
func installedApps(dirs []string) []desktopApp {
	seen := map[string]bool{}
	var out []desktopApp
	for _, dir := range dirs {
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".desktop") {
				return nil
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return nil
			}
			id := strings.ReplaceAll(strings.TrimSuffix(rel, ".desktop"), string(filepath.Separator), "-")
			if seen[id] {
				return nil
			}
			seen[id] = true
			if app, ok := readDesktopEntry(p); ok {
				app.ID = id
				out = append(out, app)
			}
			return nil
		})
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}

// readDesktopEntry reads the [Desktop Entry] group of an application
// entry; ok is false for other types and entries a menu hides.
func readDesktopEntry(path string) (app desktopApp, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return app, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in, typ, hidden := false, "", false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			in = line == "[Desktop Entry]"
			continue
		}
		k, v, found := strings.Cut(line, "=")
		if !in || !found {
			continue
		}
		switch strings.TrimSpace(k) {
		case "Type":
			typ = strings.TrimSpace(v)
		case "Name":
			app.Name = strings.TrimSpace(v)
		case "Exec":
			app.Exec = strings.TrimSpace(v)
		case "Icon":
			app.Icon = strings.TrimSpace(v)
		case "NoDisplay", "Hidden":
			hidden = hidden || strings.TrimSpace(v) == "true"
		}
	}
	return app, typ == "Application" && app.Name != "" && !hidden
}
