package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/tun"
)

// TestMemberExclude runs a real API server on a real daemon (TUN mode over
// a recording System; the exclusion itself real, its table in a network
// namespace of the test's) and sends requests as a real non-root member,
// identified by SO_PEERCRED: the member may move their own process in and
// out of the exclusion, not root's; root may move any.
func TestMemberExclude(t *testing.T) {
	member := newTestUser(t)
	pub := publicDir(t)
	var r [4]byte
	rand.Read(r[:])
	ns := "pexiatest-" + hex.EncodeToString(r[:])
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("needs ip netns: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })

	w := newWorld(t, 0, 0)
	cfg := w.config()
	cfg.Mode, cfg.System = api.ModeTUN, newFakeSystem()
	d := w.daemon(cfg)
	ex := tun.Exclusion{Cgroup: "pexiatest-" + hex.EncodeToString(r[:]), NetNS: "/run/netns/" + ns}
	d.excl.ex = ex
	c := serveAPI(t, d, pub, member.group, w.lg.Logf)

	sleep := func(as *testUser) int32 {
		t.Helper()
		cmd := exec.Command("sleep", "60")
		if as != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: as.uid, Gid: as.gid}}
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return int32(cmd.Process.Pid)
	}
	mine, roots := sleep(&member), sleep(nil)
	excluded := func(pid int32) bool {
		cg, err := tun.ProcessCgroup(int(pid))
		if err != nil {
			t.Fatal(err)
		}
		return ex.Contains(cg)
	}
	op := func(pid int32, remove bool) apiOp {
		return apiOp{Method: "POST", Path: "/v1/exclude", Body: api.ExcludeRequest{PID: pid, Remove: remove}}
	}
	steps := []struct {
		as       *testUser
		op       apiOp
		code     int
		pid      int32
		excluded bool
	}{
		{&member, op(mine, false), http.StatusOK, mine, true},
		{&member, op(roots, false), http.StatusForbidden, roots, false},
		{&member, op(mine, true), http.StatusOK, mine, false},
		{&member, op(-1, false), http.StatusBadRequest, mine, false},
		{&member, op(mine, true), http.StatusBadRequest, mine, false}, // not excluded
		{nil, op(roots, false), http.StatusOK, roots, true},
		{&member, op(roots, true), http.StatusForbidden, roots, true},
		{nil, op(mine, false), http.StatusOK, mine, true},
		{nil, op(roots, true), http.StatusOK, roots, false},
	}
	for i, s := range steps {
		who := "root"
		if s.as != nil {
			who = "member"
		}
		code, body := c.call(s.as, s.op)
		if code != s.code {
			t.Fatalf("step %d: %s %v: %d %s; want %d", i+1, who, s.op.Body, code, body, s.code)
		}
		if got := excluded(s.pid); got != s.excluded {
			t.Fatalf("step %d: %s %v: process %d excluded %v; want %v (%s)", i+1, who, s.op.Body, s.pid, got, s.excluded, body)
		}
		if code == http.StatusForbidden && !strings.Contains(body, "only an admin") {
			t.Fatalf("step %d: refusal %s", i+1, body)
		}
	}
	// The member's own process, PID 0: the child client itself, which
	// exits at once; the daemon moved it, or the call fails.
	if code, body := c.call(&member, op(0, false)); code != http.StatusOK || !strings.Contains(body, `"excluded":true`) {
		t.Fatalf("member excluding itself: %d %s", code, body)
	}
}

// TestExcludedDNSSetting: excluded_dns is an admin's setting. A real
// member's change is refused (403) and changes nothing; root's is saved,
// shown in the settings, and at once puts the system's resolver into the
// exclusion's table in place (a real one, in a namespace of the test's);
// setting it back to tunnel takes the redirect out.
func TestExcludedDNSSetting(t *testing.T) {
	member := newTestUser(t)
	pub := publicDir(t)
	var r [4]byte
	rand.Read(r[:])
	ns := "pexiatest-" + hex.EncodeToString(r[:])
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("needs ip netns: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("needs nft to read the exclusion's table")
	}

	w := newWorld(t, 0, 0)
	cfg := w.config()
	cfg.Mode, cfg.System = api.ModeTUN, newFakeSystem()
	d := w.daemon(cfg)
	d.excl.ex = tun.Exclusion{Cgroup: "pexiatest-" + hex.EncodeToString(r[:]), NetNS: "/run/netns/" + ns}
	// The system's resolvers, from a resolver file the network changes
	// below.
	resolver := netip.MustParseAddr("192.0.2.53")
	resolvConf := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(resolvConf, []byte("nameserver "+resolver.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.excl.resolvers = func() ([]netip.Addr, error) { return tun.SystemResolvers(cfg.StateDir, resolvConf) }
	d.excl.every = 20 * time.Millisecond
	c := serveAPI(t, d, pub, member.group, w.lg.Logf)

	table := func() string {
		t.Helper()
		out, err := exec.Command("ip", "netns", "exec", ns, "nft", "list", "table", "inet", tun.ExcludeTable).CombinedOutput()
		if err != nil {
			t.Fatalf("nft list table: %v: %s", err, out)
		}
		return string(out)
	}
	setting := func() api.DNSMode {
		t.Helper()
		set, err := d.Settings(api.WithCaller(context.Background(), api.Caller{Access: api.AccessAdmin}))
		if err != nil {
			t.Fatal(err)
		}
		return set.ExcludedDNS
	}
	// status is GET /v1/status as user as (nil: root) sees it: what it
	// says of the excluded programs' DNS, read off the wire.
	type excludedDNS struct {
		ExcludedDNS        api.DNSMode `json:"excluded_dns"`
		ExcludedDNSServers []string    `json:"excluded_dns_servers"`
	}
	status := func(as *testUser) excludedDNS {
		t.Helper()
		code, body := c.call(as, apiOp{Method: "GET", Path: "/v1/status"})
		var st excludedDNS
		if err := json.Unmarshal([]byte(body), &st); code != http.StatusOK || err != nil {
			t.Fatalf("status: %d %s (%v)", code, body, err)
		}
		return st
	}
	if got := setting(); got != api.DNSTunnel {
		t.Fatalf("excluded_dns by default: %q; want tunnel", got)
	}
	if st := status(nil); st.ExcludedDNS != api.DNSTunnel || len(st.ExcludedDNSServers) != 0 {
		t.Fatalf("status by default: excluded_dns %q, servers %v; want tunnel and none", st.ExcludedDNS, st.ExcludedDNSServers)
	}
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	if code, body := c.call(nil, apiOp{Method: "POST", Path: "/v1/exclude", Body: api.ExcludeRequest{PID: int32(sleep.Process.Pid)}}); code != http.StatusOK {
		t.Fatalf("exclude: %d %s", code, body)
	}
	if tb := table(); strings.Contains(tb, "dnat") {
		t.Fatalf("excluded_dns=tunnel, but the exclusion redirects DNS:\n%s", tb)
	}
	put := func(as *testUser, mode string) (int, string) {
		return c.call(as, apiOp{Method: "PUT", Path: "/v1/settings", Merge: map[string]any{"excluded_dns": mode}})
	}
	if code, body := put(&member, "system"); code != http.StatusForbidden || !strings.Contains(body, "excluded_dns: only an admin") {
		t.Fatalf("member setting excluded_dns: %d %s; want 403", code, body)
	}
	if got, tb := setting(), table(); got != api.DNSTunnel || strings.Contains(tb, "dnat") {
		t.Fatalf("after the member's refused change: excluded_dns %q, table:\n%s", got, tb)
	}
	if code, body := put(nil, "sideways"); code != http.StatusBadRequest || !strings.Contains(body, `excluded_dns: \"sideways\" is not one of`) {
		t.Fatalf("root setting excluded_dns=sideways: %d %s; want 400", code, body)
	}
	if code, body := put(nil, "system"); code != http.StatusOK || !strings.Contains(body, `"excluded_dns":"system"`) {
		t.Fatalf("root setting excluded_dns: %d %s", code, body)
	}
	if tb := table(); !strings.Contains(tb, "dnat ip to "+resolver.String()+":53") {
		t.Fatalf("excluded_dns=system: the exclusion does not send DNS to %s:\n%s", resolver, tb)
	}
	for _, as := range []*testUser{nil, &member} {
		if st := status(as); st.ExcludedDNS != api.DNSSystem || !slices.Equal(st.ExcludedDNSServers, []string{resolver.String()}) {
			t.Fatalf("status after excluded_dns=system: excluded_dns %q, servers %v; want system and [%s]", st.ExcludedDNS, st.ExcludedDNSServers, resolver)
		}
	}
	// The network's DNS changes: the exclusion follows, without a setting
	// or an exclusion changing.
	moved := netip.MustParseAddr("198.51.100.53")
	if err := os.WriteFile(resolvConf, []byte("# new lease\nnameserver "+moved.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "the exclusion and the status to send DNS to the new system resolver", 20*time.Second, func() bool {
		return strings.Contains(table(), "dnat ip to "+moved.String()+":53") &&
			slices.Equal(status(nil).ExcludedDNSServers, []string{moved.String()})
	})
	if tb := table(); strings.Contains(tb, resolver.String()) {
		t.Fatalf("the system's resolver moved to %s, but the exclusion still names %s:\n%s", moved, resolver, tb)
	}
	saved, err := loadSettings(d.settingsPath(), defaultSettings(), t.Logf)
	if err != nil || saved.ExcludedDNS != api.DNSSystem {
		t.Fatalf("saved settings: excluded_dns %q, %v; want system", saved.ExcludedDNS, err)
	}
	if code, body := put(nil, "tunnel"); code != http.StatusOK {
		t.Fatalf("root setting excluded_dns back: %d %s", code, body)
	}
	if tb := table(); strings.Contains(tb, "dnat") {
		t.Fatalf("excluded_dns=tunnel again, but the exclusion still redirects DNS:\n%s", tb)
	}
	if st := status(nil); st.ExcludedDNS != api.DNSTunnel || len(st.ExcludedDNSServers) != 0 {
		t.Fatalf("status after excluded_dns=tunnel again: excluded_dns %q, servers %v; want tunnel and none", st.ExcludedDNS, st.ExcludedDNSServers)
	}
}
