//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/testutil"
)

// TestExclude runs curl under `pexia exclude --` as an ordinary user (from
// the system user database, a member of pexiad's group) with the kill
// switch on: not one packet crosses the TUN while it runs (the interface's
// counters prove it), the internet host sees the client's own address,
// and the program runs as that user. The same curl outside the exclusion
// goes through the exit, and the counters move.
func TestExclude(t *testing.T) {
	w := newWorld(t)
	for _, tool := range []string{"useradd", "groupadd", "userdel", "groupdel", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	u := addUser(t)
	ctx := context.Background()
	// A state directory the user can reach (t.TempDir's are root's
	// only), holding the socket, which pexiad gives the group.
	pub, err := os.MkdirTemp("", "pexia-exclude-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(pub) })
	stateDir := filepath.Join(pub, "state")
	for _, d := range []string{pub, stateDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(pub, "pexia")
	b, err := os.ReadFile(w.BinPath("pexia"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cg := "pexia-e2e-" + u.name
	d, cl, exit := startConnected(t, w, true, stateDir, "-group", u.group, "-exclude-cgroup", cg)

	const url = "http://203.0.113.10/ip"
	curlArgs := []string{"curl", "-sS", "--fail", "--max-time", "30", "-4", url}
	asUser := func(args ...string) (string, error) {
		cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		out, err := w.Client.Command(cctx, "setpriv", append([]string{"--reuid", u.uid, "--regid", u.gid, "--init-groups", "--"}, args...)...).CombinedOutput()
		return string(out), err
	}
	counters := func() (tx, rx uint64) {
		t.Helper()
		read := func(name string) uint64 {
			out, err := w.Client.Command(ctx, "cat", "/sys/class/net/pexia0/statistics/"+name).Output()
			if err != nil {
				t.Fatalf("%s of the TUN: %v", name, err)
			}
			n, err := strconv.ParseUint(strings.TrimSpace(string(out)), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		return read("tx_packets"), read("rx_packets")
	}

	// The control: the user's curl, not excluded, through the exit.
	tx0, rx0 := counters()
	out, err := asUser(curlArgs...)
	if err != nil || out != exit.Addr4().String() {
		t.Fatalf("tunnelled curl: %v: %q; want the exit's %s", err, out, exit.Addr4())
	}
	tx1, rx1 := counters()
	if tx1 == tx0 || rx1 == rx0 {
		t.Fatalf("tunnelled curl: TUN counters tx %d→%d rx %d→%d; want both moved", tx0, tx1, rx0, rx1)
	}

	// Excluded: the user id it runs with, then the address the host saw.
	script := "id -u; exec " + strings.Join(curlArgs, " ")
	out, err = asUser(bin, "-socket", d.Socket, "exclude", "--", "sh", "-c", script)
	tx2, rx2 := counters()
	want := u.uid + "\n" + w.Client.Addr4().String()
	if err != nil || out != want {
		t.Fatalf("pexia exclude -- curl: %v: %q; want %q (the user's uid, the client's own address)", err, out, want)
	}
	if tx2 != tx1 || rx2 != rx1 {
		t.Fatalf("excluded curl: TUN counters tx %d→%d rx %d→%d; want no packet on the TUN", tx1, tx2, rx1, rx2)
	}
	t.Logf("excluded curl as uid %s: the host saw %s; TUN tx %d rx %d packets before and after", u.uid, w.Client.Addr4(), tx2, rx2)

	// The user may not move a process of root's.
	sleep := w.Client.Command(ctx, "sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleep.Process.Kill(); sleep.Wait() }()
	pid := strconv.Itoa(sleep.Process.Pid)
	if out, err := asUser(bin, "-socket", d.Socket, "exclude", "-pid", pid); err == nil || !strings.Contains(out, "only an admin") {
		t.Fatalf("member excluding root's process: %v: %s; want refused", err, out)
	}
	if out, err := d.CLI(ctx, "exclude", "-pid", pid); err != nil || !strings.Contains(out, "excluded from the tunnel") {
		t.Fatalf("root excluding a process: %v: %s", err, out)
	}
	if out, err := d.CLI(ctx, "exclude", "-remove", "-pid", pid); err != nil || !strings.Contains(out, "back in the tunnel") {
		t.Fatalf("root putting a process back: %v: %s", err, out)
	}
	if _, err := cl.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
}

type sysUser struct{ name, group, uid, gid string }

// addUser adds a system user and group for the test.
func addUser(t *testing.T) sysUser {
	t.Helper()
	u := testutil.NewUser(t, "pxe")
	return sysUser{name: u.Name, group: u.Group, uid: fmt.Sprint(u.UID), gid: fmt.Sprint(u.GID)}
}
