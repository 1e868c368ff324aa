package tun

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"testing"
)

// exclusionNet is a client namespace with the TUN, its routes and the kill
// switch on, an exclusion with a cgroup of its own, and a UDP listener on
// the internet host.
type exclusionNet struct {
	n    *testNet
	ex   Exclusion
	ks   KillSwitch
	inet *listener
}

func newExclusionNet(t *testing.T) *exclusionNet {
	t.Helper()
	n := newTestNet(t)
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("needs bash (its /dev/udp) as the program to exclude")
	}
	ex := testExclusion(t, n)
	_, ks := n.connect(t, Policy{Iface: DefaultName, Mark: DefaultMark})
	if err := ex.Install(); err != nil {
		t.Fatalf("Install: %v", err)
	}
	t.Cleanup(func() {
		if err := ex.Remove(); err != nil {
			t.Errorf("Remove: %v", err)
		}
	})
	return &exclusionNet{n: n, ex: ex, ks: ks, inet: listenUDP(t, n.PPath, netip.AddrPortFrom(internet4, testPort))}
}

// run starts bash in the client namespace, excluded or not, and has it run
// script once it is where it should be; it returns what bash printed.
func (e *exclusionNet) run(t *testing.T, script string, exclude bool) string {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", e.n.C, "bash", "-c", "read; "+script)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if exclude {
		if err := e.ex.Add(cmd.Process.Pid); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("Add: %v", err)
		}
		cg, err := ProcessCgroup(cmd.Process.Pid)
		if err != nil || !e.ex.Contains(cg) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("process in cgroup %q, %v; want %s", cg, err, e.ex.Cgroup)
		}
	}
	io.WriteString(in, "\n")
	in.Close()
	cmd.Wait()
	return out.String()
}

// send has a program, excluded or not, send payload to the internet host.
func (e *exclusionNet) send(t *testing.T, payload string, exclude bool) string {
	t.Helper()
	return e.run(t, fmt.Sprintf("echo -n %s > /dev/udp/%s/%d", payload, internet4, testPort), exclude)
}

// TestExclusion: with the kill switch on and every unmarked packet routed
// into the TUN, a program moved into the excluded cgroup reaches the
// internet around the TUN; the same program outside it does not.
func TestExclusion(t *testing.T) {
	e := newExclusionNet(t)
	n, ex, ks, inet := e.n, e.ex, e.ks, e.inet
	e.send(t, "tunnelled", false)
	inet.expectNone(t)
	e.send(t, "excluded", true)
	inet.expect(t, "excluded")
	if m, err := ex.Marked(); err != nil || m == 0 {
		t.Fatalf("Marked() = %d, %v; want the excluded datagram counted", m, err)
	}
	// A TCP exchange: the flow leaves with the uplink's address (not the
	// TUN's, which the socket chose before the mark), and the answer
	// comes back.
	tcpListen(t, n.PPath, netip.AddrPortFrom(internet4, testPort+1), netip.Addr.String)
	got := e.run(t, fmt.Sprintf(`timeout 20 bash -c "exec 3<>/dev/tcp/%s/%d; cat <&3"`, internet4, testPort+1), true)
	if got != lanSelf4.String() {
		t.Fatalf("excluded TCP: the internet host saw %q; want the client's own %s", got, lanSelf4)
	}
	if d, err := ks.Dropped(); err != nil || d != 0 {
		t.Errorf("kill switch dropped %d, %v; want 0 (the unexcluded datagram went into the TUN)", d, err)
	}
	// Release: a process moved out is back in the tunnel.
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if err := ex.Release(cmd.Process.Pid, ""); err == nil {
		t.Fatal("Release of a process that is not excluded: no error")
	}
	if err := ex.Add(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if err := ex.Release(cmd.Process.Pid, ""); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if cg, _ := ProcessCgroup(cmd.Process.Pid); ex.Contains(cg) {
		t.Fatalf("after Release the process is in %s", cg)
	}
}

// TestExclusionFollowsRecreatedCgroup: the cgroup is removed while the
// table is in place and made again (by whatever makes it next); a program
// excluded into the new one is still routed around the TUN.
func TestExclusionFollowsRecreatedCgroup(t *testing.T) {
	e := newExclusionNet(t)
	dir, _, err := e.ex.dir()
	if err != nil {
		t.Fatal(err)
	}
	e.send(t, "before", true)
	e.inet.expect(t, "before")
	if err := os.Remove(dir); err != nil {
		t.Fatalf("remove the empty cgroup: %v", err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e.send(t, "recreated", true)
	e.inet.expect(t, "recreated")
	// Removed and not made again: Add makes it and the rule follows.
	if err := os.Remove(dir); err != nil {
		t.Fatalf("remove the empty cgroup: %v", err)
	}
	e.send(t, "gone", true)
	e.inet.expect(t, "gone")
	if d, err := e.ks.Dropped(); err != nil || d != 0 {
		t.Errorf("kill switch dropped %d, %v; want 0", d, err)
	}
}

// testExclusion is an exclusion in n's client namespace with a cgroup of
// its own; it skips the test where there is no cgroup v2.
func testExclusion(t *testing.T, n *testNet) Exclusion {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	ex := Exclusion{Cgroup: "pexiatest-" + hex.EncodeToString(b), NetNS: n.CPath}
	if _, _, err := ex.normalize().dir(); err != nil {
		t.Skipf("needs cgroup v2: %v", err)
	}
	return ex
}

// TestExclusionSystemDNS: an excluded program's queries to the in-tunnel
// resolver enter the TUN unless SystemDNS is set; with it, they reach the
// system resolver from the client's own address, over UDP and TCP, while
// a program that is not excluded still resolves through the TUN.
func TestExclusionSystemDNS(t *testing.T) {
	n := newTestNet(t)
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("needs bash (its /dev/udp) as the program to exclude")
	}
	ex := testExclusion(t, n)
	dev, _ := n.connect(t, Policy{Iface: DefaultName, Mark: DefaultMark})
	t.Cleanup(func() {
		if err := ex.Remove(); err != nil {
			t.Errorf("Remove: %v", err)
		}
	})
	e := &exclusionNet{n: n, ex: ex}
	resolver := listenUDP(t, n.PPath, netip.AddrPortFrom(internet4, 53))
	query := func(payload string, exclude bool) {
		t.Helper()
		e.run(t, fmt.Sprintf("echo -n %s > /dev/udp/%s/53", payload, DNS4), exclude)
	}
	inTUN := netip.AddrPortFrom(DNS4, 53)

	if err := e.ex.Install(); err != nil {
		t.Fatalf("Install: %v", err)
	}
	query("excluded-default", true)
	if got := readUDPFromTUN(t, dev, inTUN); got != "excluded-default" {
		t.Fatalf("without SystemDNS the TUN got %q; want the excluded program's query", got)
	}
	resolver.expectNone(t)

	e.ex.SystemDNS = []netip.Addr{internet4, internet6}
	if err := e.ex.Install(); err != nil {
		t.Fatalf("Install with SystemDNS: %v", err)
	}
	query("excluded-system", true)
	resolver.expect(t, "excluded-system")
	tcpListen(t, n.PPath, netip.AddrPortFrom(internet4, 53), netip.Addr.String)
	got := e.run(t, fmt.Sprintf(`timeout 20 bash -c "exec 3<>/dev/tcp/%s/53; cat <&3"`, DNS4), true)
	if got != lanSelf4.String() {
		t.Fatalf("excluded DNS over TCP: the system resolver saw %q; want the client's own %s", got, lanSelf4)
	}
	query("tunnelled", false)
	if got := readUDPFromTUN(t, dev, inTUN); got != "tunnelled" {
		t.Fatalf("a program not excluded: the TUN got %q; want its query", got)
	}
	resolver.expectNone(t)

	// Installing without SystemDNS takes the redirect back.
	e.ex.SystemDNS = nil
	if err := e.ex.Install(); err != nil {
		t.Fatalf("Install: %v", err)
	}
	query("excluded-again", true)
	if got := readUDPFromTUN(t, dev, inTUN); got != "excluded-again" {
		t.Fatalf("after SystemDNS was cleared the TUN got %q; want the excluded program's query", got)
	}
	resolver.expectNone(t)
}
