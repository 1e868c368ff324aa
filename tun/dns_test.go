package tun

import (
	"bytes"
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
	"testing"
)

var testServers = []netip.Addr{DNS4, DNS6}

// fileState is how a path looks: absent, a symlink, or a file's bytes and
// permissions.
type fileState struct {
	exists  bool
	link    string
	content []byte
	perm    fs.FileMode
}

func statFile(t *testing.T, path string) fileState {
	t.Helper()
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileState{}
	}
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		l, err := os.Readlink(path)
		if err != nil {
			t.Fatal(err)
		}
		return fileState{exists: true, link: l}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fileState{exists: true, content: b, perm: fi.Mode().Perm()}
}

func (a fileState) equal(b fileState) bool {
	return a.exists == b.exists && a.link == b.link && bytes.Equal(a.content, b.content) && a.perm == b.perm
}

func TestDNSFileRestoresExactly(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir, path string)
	}{
		{"regular file", func(t *testing.T, dir, path string) {
			// Odd bytes, no final newline, unusual permissions.
			os.WriteFile(path, []byte("# distro\nnameserver 10.0.0.1\nsearch lan\x00\xff"), 0o640)
			os.Chmod(path, 0o640)
		}},
		{"relative symlink", func(t *testing.T, dir, path string) {
			os.MkdirAll(filepath.Join(dir, "run", "resolvconf"), 0o755)
			os.WriteFile(filepath.Join(dir, "run", "resolvconf", "resolv.conf"), []byte("nameserver 10.0.0.2\n"), 0o644)
			os.Symlink("../run/resolvconf/resolv.conf", path)
		}},
		{"dangling symlink", func(t *testing.T, dir, path string) {
			os.Symlink("/nonexistent/resolv.conf", path)
		}},
		{"absent", func(t *testing.T, dir, path string) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.Mkdir(filepath.Join(dir, "etc"), 0o755)
			path := filepath.Join(dir, "etc", "resolv.conf")
			tc.setup(t, dir, path)
			before := statFile(t, path)
			var target fileState
			if before.link != "" {
				target = statFile(t, filepath.Join(filepath.Dir(path), before.link))
			}
			state := filepath.Join(dir, "state")
			d := &DNS{Mode: DNSFile, ResolvConf: path, StateDir: state}

			if err := d.Set(t.Context(), DefaultName, testServers); err != nil {
				t.Fatalf("Set: %v", err)
			}
			got := statFile(t, path)
			want := "nameserver 100.80.120.53\nnameserver fd70:6578:6961::53\n"
			if got.link != "" || !strings.Contains(string(got.content), want) || got.perm != 0o644 {
				t.Fatalf("resolver file after Set = %+v; want a 0644 file listing %q", got, want)
			}
			if _, err := os.Stat(filepath.Join(state, journalDNS)); err != nil {
				t.Errorf("dns journal missing: %v", err)
			}
			// Updating the servers keeps the original for Restore.
			if err := d.Set(t.Context(), DefaultName, []netip.Addr{DNS4}); err != nil {
				t.Fatalf("second Set: %v", err)
			}
			if c := string(statFile(t, path).content); strings.Contains(c, "fd70") {
				t.Errorf("second Set did not replace the servers:\n%s", c)
			}

			if err := d.Restore(t.Context()); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			if after := statFile(t, path); !after.equal(before) {
				t.Errorf("after Restore %+v; want %+v", after, before)
			}
			if before.link != "" {
				// Writing never went through the link into its target.
				if after := statFile(t, filepath.Join(filepath.Dir(path), before.link)); !after.equal(target) {
					t.Errorf("symlink target changed: %+v; want %+v", after, target)
				}
			}
			if _, err := os.Stat(filepath.Join(state, journalDNS)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("dns journal left after Restore: %v", err)
			}
			if err := d.Restore(t.Context()); err != nil {
				t.Errorf("second Restore: %v", err)
			}
		})
	}
}

// If another program rewrites the resolver file while we hold it (say a
// DHCP client), its version is newer and Restore must not clobber it.
func TestDNSFileLeavesForeignRewrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(path, []byte("nameserver 10.0.0.1\n"), 0o644)
	d := &DNS{Mode: DNSFile, ResolvConf: path}
	if err := d.Set(t.Context(), DefaultName, testServers); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path+".new", []byte("nameserver 10.9.9.9\n"), 0o644)
	os.Rename(path+".new", path)
	if err := d.Restore(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "nameserver 10.9.9.9\n" {
		t.Errorf("Restore replaced a newer foreign file; now %q", got)
	}
}

func TestDNSRejectsBadInput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resolv.conf")
	d := &DNS{Mode: DNSFile, ResolvConf: path}
	for _, servers := range [][]netip.Addr{
		nil,
		{{}},
		{DNS4, DNS6, DNS4, DNS6},
	} {
		if err := d.Set(t.Context(), DefaultName, servers); err == nil {
			t.Errorf("Set(%v) succeeded; want error", servers)
		}
	}
	if err := d.Set(t.Context(), "", testServers); err == nil {
		t.Error("Set without an interface succeeded")
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("rejected Set still wrote the file: %v", err)
	}
	os.Mkdir(path, 0o755)
	if err := d.Set(t.Context(), DefaultName, testServers); err == nil {
		t.Error("Set over a directory succeeded")
	}
}

// A journal left by a crashed run must be recovered, not overwritten with
// our own file as the "original".
func TestDNSRefusesUnrecoveredJournal(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "resolv.conf")
	os.WriteFile(path, []byte("nameserver 10.0.0.1\n"), 0o644)
	first := &DNS{Mode: DNSFile, ResolvConf: path, StateDir: dir}
	if err := first.Set(t.Context(), DefaultName, testServers); err != nil {
		t.Fatal(err)
	}
	second := &DNS{Mode: DNSFile, ResolvConf: path, StateDir: dir}
	if err := second.Set(t.Context(), DefaultName, testServers); err == nil {
		t.Fatal("Set over an unrecovered journal succeeded")
	}
}

func TestResolvedDetection(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run", "systemd", "resolve")
	os.MkdirAll(run, 0o755)
	os.WriteFile(filepath.Join(run, "stub-resolv.conf"), []byte("nameserver 127.0.0.53\n"), 0o644)
	etc := filepath.Join(dir, "etc")
	os.Mkdir(etc, 0o755)
	linked := filepath.Join(etc, "resolv.conf")
	os.Symlink("../run/systemd/resolve/stub-resolv.conf", linked)
	plain := filepath.Join(etc, "plain.conf")
	os.WriteFile(plain, []byte("nameserver 127.0.0.53\n"), 0o644)

	for _, tc := range []struct {
		path, run string
		want      bool
	}{
		{linked, run, true},
		{plain, run, false},                             // a copy, not managed by resolved
		{linked, filepath.Join(dir, "nonexist"), false}, // resolved not running
	} {
		if got := resolvedManages(tc.path, tc.run); got != tc.want {
			t.Errorf("resolvedManages(%s, %s) = %v; want %v", tc.path, tc.run, got, tc.want)
		}
	}
}

// The resolved path with a stand-in resolvectl that logs its arguments: the
// real one needs a running systemd-resolved (see TestDNSResolvedReal).
func TestDNSResolvedCommands(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "resolve")
	os.Mkdir(run, 0o755)
	os.WriteFile(filepath.Join(run, "stub-resolv.conf"), []byte("nameserver 127.0.0.53\n"), 0o644)
	conf := filepath.Join(dir, "resolv.conf")
	os.Symlink(filepath.Join(run, "stub-resolv.conf"), conf)
	logf := filepath.Join(dir, "log")
	prog := filepath.Join(dir, "resolvectl")
	os.WriteFile(prog, []byte("#!/bin/sh\necho \"$@\" >> "+logf+"\n"), 0o755)

	d := &DNS{ResolvConf: conf, StateDir: filepath.Join(dir, "state"), resolvectl: prog, resolvedDir: run}
	if err := d.Set(t.Context(), "lo", testServers); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if err := d.Restore(t.Context()); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	got, _ := os.ReadFile(logf)
	want := "dns lo 100.80.120.53 fd70:6578:6961::53\ndomain lo ~.\ndefault-route lo true\nflush-caches\nrevert lo\nflush-caches\n"
	if string(got) != want {
		t.Errorf("resolvectl calls:\n%s\nwant:\n%s", got, want)
	}
	if l, err := os.Readlink(conf); err != nil || l != filepath.Join(run, "stub-resolv.conf") {
		t.Errorf("resolv.conf touched in resolved mode: %q, %v", l, err)
	}

	// A failing resolvectl leaves no journal behind.
	os.WriteFile(prog, []byte("#!/bin/sh\necho boom >&2\nexit 1\n"), 0o755)
	if err := d.Set(t.Context(), "lo", testServers); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("Set with failing resolvectl: %v; want its stderr in the error", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "state", journalDNS)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("journal left after failed Set: %v", err)
	}
}

func TestDNSResolvedReal(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to configure systemd-resolved")
	}
	if !resolvedManages(DefaultResolvConf, resolvedRunDir) {
		t.Skip("systemd-resolved is not running or does not manage /etc/resolv.conf")
	}
	if _, err := exec.LookPath("resolvectl"); err != nil {
		t.Skip("resolvectl not installed")
	}
	// A dummy link in the host namespace: resolved only sees its own
	// namespace's links. It carries no addresses or routes.
	const link = "pexiatestdns0"
	if out, err := exec.Command("ip", "link", "add", link, "type", "dummy").CombinedOutput(); err != nil {
		t.Skipf("cannot add a dummy link: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", link).Run() })
	d := &DNS{Mode: DNSResolved}
	if err := d.Set(t.Context(), link, testServers); err != nil {
		t.Fatalf("Set: %v", err)
	}
	out, _ := exec.Command("resolvectl", "dns", link).CombinedOutput()
	if !strings.Contains(string(out), DNS4.String()) {
		t.Errorf("resolvectl dns %s: %s", link, out)
	}
	if err := d.Restore(t.Context()); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	out, _ = exec.Command("resolvectl", "dns", link).CombinedOutput()
	if strings.Contains(string(out), DNS4.String()) {
		t.Errorf("servers still set after Restore: %s", out)
	}
}

// TestSystemResolvers: the system's name servers are read from the
// resolver file, and from the journal's original while the file points
// into the tunnel, without loopback stubs or the in-tunnel resolver; a
// symlinked original is followed.
func TestSystemResolvers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	orig := filepath.Join(dir, "upstream.conf")
	if err := os.WriteFile(orig, []byte("# uplink\nnameserver 192.0.2.53\nnameserver 127.0.0.53\nnameserver 2001:db8::53%eth0\noptions edns0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := []netip.Addr{netip.MustParseAddr("192.0.2.53"), netip.MustParseAddr("2001:db8::53")}
	for _, link := range []bool{false, true} {
		path, state := filepath.Join(dir, fmt.Sprint("resolv-", link)), filepath.Join(dir, fmt.Sprint("state-", link))
		if link {
			if err := os.Symlink(orig, path); err != nil {
				t.Fatal(err)
			}
		} else {
			b, _ := os.ReadFile(orig)
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		check := func(when string) {
			t.Helper()
			got, err := SystemResolvers(state, path)
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("symlink %v, %s: %v, %v; want %v", link, when, got, err, want)
			}
		}
		check("before the hand-over")
		d := &DNS{Mode: DNSFile, ResolvConf: path, StateDir: state}
		if err := d.Set(ctx, "pexia0", []netip.Addr{DNS4, DNS6}); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(path); !strings.Contains(string(b), DNS4.String()) {
			t.Fatalf("the resolver file does not point into the tunnel: %s", b)
		}
		check("while handed over")
		if err := d.Restore(ctx); err != nil {
			t.Fatal(err)
		}
		check("after the restore")
	}
}
