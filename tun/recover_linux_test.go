package tun

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/testutil"
)

// Environment of the crash helper process.
const (
	envCrashNS    = "PEXIA_TUN_CRASH_NETNS"
	envCrashState = "PEXIA_TUN_CRASH_STATE"
	envCrashConf  = "PEXIA_TUN_CRASH_RESOLVCONF"
)

// TestCrashHelper is not a test: TestRecoverAfterSIGKILL runs the test
// binary again with this test selected, and the process sets everything up
// the way the daemon does, reports "ready" and waits to be killed.
func TestCrashHelper(t *testing.T) {
	ns := os.Getenv(envCrashNS)
	if ns == "" {
		t.Skip("helper process for TestRecoverAfterSIGKILL")
	}
	state, conf := os.Getenv(envCrashState), os.Getenv(envCrashConf)
	ctx := context.Background()
	if _, err := Create(DefaultName, DefaultMTU, InNetNS(ns), WithStateDir(state)); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	steps := []func() error{
		func() error { return Configure(DefaultName, nil, InNetNS(ns)) },
		func() error {
			return (&Routes{}).Up(RouteConfig{Iface: DefaultName, IPv6: true, NetNS: ns, StateDir: state})
		},
		func() error {
			return KillSwitch{NetNS: ns, StateDir: state}.Install(Policy{Iface: DefaultName, Mark: DefaultMark, AllowLAN: true})
		},
		func() error {
			return (&DNS{Mode: DNSFile, ResolvConf: conf, StateDir: state}).Set(ctx, DefaultName, testServers)
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
	}
	fmt.Println("ready")
	select {}
}

func TestRecoverAfterSIGKILL(t *testing.T) {
	n := newTestNet(t)
	t.Parallel()
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	// resolv.conf as a relative symlink, the common case.
	os.Mkdir(filepath.Join(dir, "etc"), 0o755)
	os.Mkdir(filepath.Join(dir, "run"), 0o755)
	os.WriteFile(filepath.Join(dir, "run", "resolv.conf"), []byte("nameserver 192.168.77.1\nsearch lan\n"), 0o644)
	conf := filepath.Join(dir, "etc", "resolv.conf")
	os.Symlink("../run/resolv.conf", conf)
	confBefore := statFile(t, conf)
	before := n.snapshot(t)

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1", "-test.timeout=60s")
	cmd.Env = append(os.Environ(), envCrashNS+"="+n.CPath, envCrashState+"="+state, envCrashConf+"="+conf)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if l := sc.Text(); l == "ready" || strings.HasPrefix(l, "error:") {
				ready <- l
				return
			}
		}
		ready <- "helper exited"
	}()
	select {
	case l := <-ready:
		if l != "ready" {
			t.Fatalf("crash helper: %s", l)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("crash helper never got ready")
	}

	// The daemon is killed without any chance to clean up.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	// What survives the crash: rules, the kill switch, the resolver file
	// (the TUN and its routes die with the process).
	leftover := n.snapshot(t)
	for _, want := range []string{"lookup 5078 proto 80", "suppress_prefixlength 0 proto 80"} {
		if !strings.Contains(leftover, want) {
			t.Errorf("expected leftover %q after the crash:\n%s", want, leftover)
		}
	}
	ks := KillSwitch{NetNS: n.CPath}
	if ok, _ := ks.Installed(); !ok {
		t.Error("kill switch did not survive the crash (it must: fail closed)")
	}
	if statFile(t, conf).equal(confBefore) {
		t.Error("resolv.conf unchanged after the helper ran")
	}

	// The next start recovers from the journals. The sweep is pointed at
	// the peer namespace, so only the journals lead Recover to the client's.
	if err := Recover(t.Context(), state, InNetNS(n.PPath)); err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if after := n.snapshot(t); after != before {
		t.Errorf("Recover did not restore rules and routes.\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if ok, _ := ks.Installed(); ok {
		t.Error("kill switch still installed after Recover")
	}
	if got := statFile(t, conf); !got.equal(confBefore) {
		t.Errorf("resolv.conf after Recover = %+v; want %+v", got, confBefore)
	}
	entries, _ := os.ReadDir(state)
	for _, e := range entries {
		t.Errorf("journal entry %s left after Recover", e.Name())
	}
	// Idempotent.
	if err := Recover(t.Context(), state, InNetNS(n.CPath)); err != nil {
		t.Errorf("second Recover: %v", err)
	}
}

// Leftovers that no journal mentions are found by their identifiers: our
// protocol number, table and table name. Interfaces that are not TUNs are
// left alone even if they carry our name.
func TestRecoverSweepsUnjournaledLeftovers(t *testing.T) {
	n := newTestNet(t)
	t.Parallel()
	// A veth pair inside the namespace stands in for an interface of ours
	// that is not a TUN.
	ip(t, "-n", n.C, "link", "add", DefaultName, "type", "veth", "peer", "name", "pexiatwin")
	ip(t, "-n", n.C, "link", "set", "pexiatwin", "up")
	ip(t, "-n", n.C, "link", "set", DefaultName, "up")
	for _, dev := range []string{DefaultName, "pexiatwin"} {
		testutil.WaitFor(t, dev+"'s link-local address", 5*time.Second, func() bool {
			return strings.Contains(ip(t, "-n", n.C, "-6", "route", "show", "table", "local", "dev", dev), "local fe80::")
		})
	}
	before := n.snapshot(t)

	var r Routes // no StateDir: nothing is journaled
	if err := r.Up(RouteConfig{Iface: DefaultName, IPv6: true, NetNS: n.CPath,
		Exclude: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}}); err != nil {
		t.Fatal(err)
	}
	if err := (KillSwitch{NetNS: n.CPath}).Install(Policy{Iface: DefaultName, Mark: DefaultMark}); err != nil {
		t.Fatal(err)
	}
	// A rule to our table that an older version might have left, without
	// our protocol number.
	ip(t, "-n", n.C, "rule", "add", "not", "fwmark", "0x5078", "table", "5078", "priority", "5000")

	empty := t.TempDir()
	if err := Recover(t.Context(), empty, InNetNS(n.CPath), KeepKillSwitch()); err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if after := n.snapshot(t); after != before {
		t.Errorf("Recover did not sweep the leftovers.\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if ok, _ := (KillSwitch{NetNS: n.CPath}).Installed(); !ok {
		t.Error("KeepKillSwitch: the kill switch was removed")
	}
	if err := Recover(t.Context(), empty, InNetNS(n.CPath)); err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if tables := nftTables(t, n.CPath); len(tables) != 0 {
		t.Errorf("tables left: %v", tables)
	}
	if !strings.Contains(ip(t, "-n", n.C, "-d", "link", "show"), DefaultName+"@pexiatwin") {
		t.Error("Recover deleted an interface that is not a TUN")
	}
}

// Journals pointing into a namespace that no longer exists recover to
// nothing, without error.
func TestRecoverGoneNamespace(t *testing.T) {
	requireRoot(t)
	state := t.TempDir()
	gone := "/run/netns/pexiatest-gone-" + fmt.Sprint(os.Getpid())
	for name, v := range map[string]any{
		journalRoutes:     routesJournal{NetNS: gone, Table: DefaultTable, Rules: []ruleSpec{{Family: 4, Priority: 5090, Table: 5078, Mark: 1, Invert: true, SuppressPrefixlen: -1}}},
		journalKillSwitch: killSwitchJournal{NetNS: gone, Table: KillSwitchTable},
		journalDevice:     deviceJournal{NetNS: gone, Name: DefaultName},
	} {
		if err := writeJournal(state, name, v); err != nil {
			t.Fatal(err)
		}
	}
	// Sweep a namespace of our own so the host is never touched.
	n := newTestNet(t)
	if err := Recover(t.Context(), state, InNetNS(n.CPath)); err != nil {
		t.Fatalf("Recover: %v", err)
	}
	for _, name := range []string{journalRoutes, journalKillSwitch, journalDevice} {
		if _, err := os.Stat(filepath.Join(state, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s left: %v", name, err)
		}
	}
}

// The exclusion's table is swept too, kill switch kept or not: after a
// crash no program stays routed around the tunnel.
func TestRecoverRemovesExclusion(t *testing.T) {
	for _, keep := range []bool{true, false} {
		t.Run(fmt.Sprintf("keep kill switch %v", keep), func(t *testing.T) {
			n := newTestNet(t)
			t.Parallel()
			ex := testExclusion(t, n)
			if err := (KillSwitch{NetNS: n.CPath}).Install(Policy{Iface: DefaultName, Mark: DefaultMark}); err != nil {
				t.Fatal(err)
			}
			if err := ex.Install(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ex.Remove() })
			opts := []Option{InNetNS(n.CPath)}
			if keep {
				opts = append(opts, KeepKillSwitch())
			}
			if err := Recover(t.Context(), t.TempDir(), opts...); err != nil {
				t.Fatalf("Recover: %v", err)
			}
			tables := nftTables(t, n.CPath)
			if slices.Contains(tables, ExcludeTable) {
				t.Errorf("Recover left the exclusion's table: %v", tables)
			}
			if slices.Contains(tables, KillSwitchTable) != keep {
				t.Errorf("tables after Recover: %v; kill switch kept: %v", tables, keep)
			}
		})
	}
}
