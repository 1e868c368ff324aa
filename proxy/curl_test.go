package proxy

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/testutil"
)

// TestCurl drives the proxy with curl, a client written by someone else.
func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	testutil.CheckGoroutines(t)
	up := startUpstream(t, false)
	tlsUp := startUpstream(t, true)
	d := newTestDialer(map[string]string{"curl.pexia.test": "127.0.0.1", "example.com": "127.0.0.1"})
	_, open := startServer(t, Config{Dialer: d}, modeSniff)
	_, locked := startServer(t, Config{Dialer: d, Username: "alice", Password: "s3cret"}, modeSniff)

	named := "http://curl.pexia.test:" + up.port() + "/path?q=1"
	wantNamed := "GET curl.pexia.test:" + up.port() + " /path?q=1 body="
	tests := []struct {
		name     string
		args     []string
		want     string
		wantDial string // the dialer must have been asked for exactly this (the name unresolved)
	}{
		{"socks5-hostname", []string{"--socks5-hostname", open, named}, wantNamed, "tcp curl.pexia.test:" + up.port()},
		{"socks5h URL with auth", []string{"--proxy", "socks5h://alice:s3cret@" + locked, named}, wantNamed, "tcp curl.pexia.test:" + up.port()},
		{"socks5 local resolution of an IP", []string{"--socks5", open, up.URL + "/ip"}, "GET " + up.Listener.Addr().String() + " /ip body=", "tcp " + up.Listener.Addr().String()},
		{"http proxy", []string{"--proxy", "http://" + open, named}, wantNamed, "tcp curl.pexia.test:" + up.port()},
		{"http proxy with auth", []string{"--proxy", "http://" + locked, "--proxy-user", "alice:s3cret", named}, wantNamed, "tcp curl.pexia.test:" + up.port()},
		{"http proxy tunnel", []string{"--proxy", "http://" + open, "--proxytunnel", named}, wantNamed, "tcp curl.pexia.test:" + up.port()},
		{"https through CONNECT", []string{"--proxy", "http://" + open, "--insecure", "https://example.com:" + tlsUp.port() + "/s"}, "GET example.com:" + tlsUp.port() + " /s body=", "tcp example.com:" + tlsUp.port()},
		{"https through socks5h", []string{"--socks5-hostname", open, "--insecure", "https://example.com:" + tlsUp.port() + "/s"}, "GET example.com:" + tlsUp.port() + " /s body=", "tcp example.com:" + tlsUp.port()},
		{"POST", []string{"--proxy", "http://" + open, "--data-binary", "form=1", named}, "POST curl.pexia.test:" + up.port() + " /path?q=1 body=form=1", "tcp curl.pexia.test:" + up.port()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			args := append([]string{"--silent", "--show-error", "--fail", "--max-time", "10"}, tt.args...)
			cmd := exec.CommandContext(ctx, curl, args...)
			// No proxy settings from the environment.
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			if string(out) != tt.want {
				t.Errorf("got %q, want %q", out, tt.want)
			}
			// Plain HTTP requests may reuse an upstream connection that an
			// earlier case opened, so look at every call so far.
			calls := d.calls()
			found := false
			for _, c := range calls {
				found = found || c == tt.wantDial
			}
			if !found {
				t.Errorf("dialer calls %v, want %q", calls, tt.wantDial)
			}
		})
	}
	t.Run("wrong credentials", func(t *testing.T) {
		for _, args := range [][]string{
			{"--proxy", "socks5h://alice:nope@" + locked, named},
			{"--proxy", "http://" + locked, "--proxy-user", "alice:nope", named},
		} {
			cmd := exec.Command(curl, append([]string{"--silent", "--fail", "--max-time", "10"}, args...)...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
			if out, err := cmd.CombinedOutput(); err == nil {
				t.Errorf("curl %v succeeded with wrong credentials: %q", args, out)
			}
		}
	})
}
