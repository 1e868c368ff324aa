//go:build linux

package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/api/apitest"
	"github.com/pexia-network/pexia/internal/testutil"
)

// helperEnv makes the test binary act as an API client: it calls Status on
// the socket named by helperSocketEnv and prints a helperResult.
const (
	helperEnv       = "PEXIA_API_TEST_HELPER"
	helperSocketEnv = "PEXIA_API_TEST_SOCKET"
)

type helperResult struct {
	UID     int    `json:"uid"`
	OK      bool   `json:"ok"`
	State   string `json:"state"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(runHelper())
	}
	testutil.VerifyTestMain(m)
}

func runHelper() int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := api.NewClient(os.Getenv(helperSocketEnv)).Status(ctx)
	r := helperResult{UID: os.Getuid(), OK: err == nil, State: string(st.State)}
	var ae *api.Error
	if errors.As(err, &ae) {
		r.Code = ae.Code
	}
	if err != nil {
		r.Message = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(r)
	return 0
}

// TestPeerCredentials runs a real client as another user (nobody) against
// real sockets: refused by the peer-credential check, allowed as a member
// of the socket's group, and kept out by the socket's mode.
func TestPeerCredentials(t *testing.T) {
	requireRoot(t, "runs a client as another user")
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	grp, err := user.LookupGroupId(nobody.Gid)
	if err != nil {
		t.Skipf("nobody's group: %v", err)
	}
	uid, _ := strconv.ParseUint(nobody.Uid, 10, 32)
	gid, _ := strconv.ParseUint(nobody.Gid, 10, 32)

	// Everything nobody touches must be reachable by it: a 0755 directory
	// outside the test's private temporary tree, and a copy of this binary.
	dir, err := os.MkdirTemp("", "pexia-peercred")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "api.test")
	copyFile(t, bin)

	// A group nobody is not a member of, and not the default one: the
	// refusal must name it.
	var other string
	for _, name := range []string{"daemon", "users", "adm", "sys", "bin"} {
		if g, err := user.LookupGroup(name); err == nil && g.Gid != nobody.Gid && g.Gid != "0" && name != api.DefaultGroup {
			other = name
			break
		}
	}
	if other == "" {
		t.Skip("no group other than nobody's and root's on this machine")
	}

	b := apitest.NewBackend()
	t.Cleanup(b.Close)
	for i, tc := range []struct {
		name     string
		cfg      api.ServerConfig
		wantOK   bool
		wantCode string
		wantMsg  string
		wantSub  string // a part of the message
	}{
		{"refused by peer credentials", api.ServerConfig{Mode: 0o666}, false, "forbidden",
			fmt.Sprintf("uid %d (nobody) may not use pexiad: only root and the daemon's own user may", uid), ""},
		{"member of the socket's group", api.ServerConfig{Group: grp.Name}, true, "", "", ""},
		{"kept out by the socket's mode", api.ServerConfig{}, false, "forbidden", "", "only root may use pexiad"},
		{"kept out of another group's socket", api.ServerConfig{Group: other}, false, "forbidden", "",
			fmt.Sprintf("members of group %q may use pexiad; add your user to it (sudo usermod -aG %s $USER)", other, other)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strconv.Itoa(i), "pexiad.sock")
			serve(t, b, path, tc.cfg)
			cmd := exec.Command(bin, "-test.run=^$")
			cmd.Env = []string{helperEnv + "=1", helperSocketEnv + "=" + path}
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("helper as nobody: %v: %s", err, out)
			}
			var r helperResult
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("helper output %q: %v", out, err)
			}
			t.Logf("helper as uid %d: %+v", r.UID, r)
			if r.UID != int(uid) {
				t.Fatalf("helper ran as uid %d, want %d", r.UID, uid)
			}
			if r.OK != tc.wantOK || r.Code != tc.wantCode || tc.wantMsg != "" && r.Message != tc.wantMsg || !strings.Contains(r.Message, tc.wantSub) {
				t.Fatalf("helper got ok=%v code=%q %q; want ok=%v code=%q %q (containing %q)", r.OK, r.Code, r.Message, tc.wantOK, tc.wantCode, tc.wantMsg, tc.wantSub)
			}
			if tc.wantOK && r.State != string(api.StateDisconnected) {
				t.Fatalf("allowed helper read state %q", r.State)
			}
		})
	}

	// Root, in this process, is allowed on the strictest socket.
	path := filepath.Join(dir, "root", "pexiad.sock")
	serve(t, b, path, api.ServerConfig{Mode: 0o600})
	if _, err := api.NewClient(path).Status(testCtx(t)); err != nil {
		t.Fatalf("root refused: %v", err)
	}
}

// serve runs a Server for b on path until the test ends.
func serve(t *testing.T, b api.Backend, path string, cfg api.ServerConfig) {
	t.Helper()
	cfg.Logf = t.Logf
	l, err := api.Listen(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := api.NewServer(b, cfg)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	})
}

// copyFile copies the running test binary to dst, executable by all.
func copyFile(t *testing.T, dst string) {
	t.Helper()
	src, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
