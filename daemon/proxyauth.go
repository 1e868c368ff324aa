package daemon

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pexia-network/pexia/internal/atomicfile"
)

// ProxyUsername is the username of the proxy mode's credentials; the
// password is random, made once per state directory.
const ProxyUsername = "pexia"

// proxyPasswordFile holds the password in the state directory (mode 0600).
// Removing it and reconnecting makes a new one.
const proxyPasswordFile = "proxy-password"

// proxyPassword returns the proxies' password, making and saving one the
// first time: 128 random bits in hex.
func proxyPassword(stateDir string) (string, error) {
	path := filepath.Join(stateDir, proxyPasswordFile)
	b, err := os.ReadFile(path)
	if err == nil {
		pw := strings.TrimSpace(string(b))
		if raw, err := hex.DecodeString(pw); err == nil && len(raw) >= 16 {
			return pw, nil
		}
		return "", fmt.Errorf("%s does not hold a password of at least 32 hex digits; remove it to make a new one", path)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	pw := hex.EncodeToString(raw[:])
	if err := atomicfile.Write(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", err
	}
	return pw, nil
}

// checkProxyAddr refuses a listen address beyond loopback unless
// allowRemote: on any other address, other machines could reach the
// proxies and (with the credentials) spend the budget. An empty host
// listens on every address.
func checkProxyAddr(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("proxy listen address %q: %v", addr, err)
	}
	if allowRemote {
		return nil
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Unmap().IsLoopback() {
		return nil
	}
	return fmt.Errorf("proxy listen address %q is not a loopback address: other machines could use the proxy; listen on 127.0.0.1 or [::1], or allow it explicitly (pexiad -proxy-allow-remote; clients still need the credentials)", addr)
}

// writeProxyCredentials writes the proxies' URLs, credentials included,
// one per line, to path: readable by root (or pexiad's own user) and by
// group, whose members may use the API anyway, and by no one else. An
// empty group keeps it to the owner.
func writeProxyCredentials(path, group string, urls []string) error {
	gid := -1
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			return fmt.Errorf("group %q: %w", group, err)
		}
		if gid, err = strconv.Atoi(g.Gid); err != nil {
			return fmt.Errorf("group %q has non-numeric gid %q", group, g.Gid)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	// Written 0600 and only then opened to the group: never readable by
	// anyone else, even for a moment.
	if err := atomicfile.Write(path, []byte(strings.Join(urls, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	if gid < 0 {
		return nil
	}
	if err := os.Chown(path, -1, gid); err != nil {
		return err
	}
	return os.Chmod(path, 0o640)
}
