package tun

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"testing"
)

// TestExclusion: with the kill switch on and every unmarked packet routed
// into the TUN, a program moved into the excluded cgroup reaches the
// internet around the TUN; the same program outside it does not.
func TestExclusion(t *testing.T) {
	n := newTestNet(t)
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("needs bash (its /dev/udp) as the program to exclude")
	}
	b := make([]byte, 4)
	rand.Read(b)
	ex := Exclusion{Cgroup: "pexiatest-" + hex.EncodeToString(b), NetNS: n.CPath}
	if _, _, err := ex.normalize().dir(); err != nil {
		t.Skipf("needs cgroup v2: %v", err)
	}
	dev := n.newTUN(t)
	_ = dev
	var routes Routes
	if err := routes.Up(RouteConfig{Iface: DefaultName, NetNS: n.CPath, IPv6: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { routes.Down() })
	ks := KillSwitch{NetNS: n.CPath}
	if err := ks.Install(Policy{Iface: DefaultName, Mark: DefaultMark}); err != nil {
		t.Fatal(err)
	}
	if err := ex.Install(); err != nil {
		t.Fatalf("Install: %v", err)
	}
	t.Cleanup(func() {
		if err := ex.Remove(); err != nil {
			t.Errorf("Remove: %v", err)
		}
	})
	inet := listenUDP(t, n.PPath, netip.AddrPortFrom(internet4, testPort))

	var run func(script string, exclude bool) string
	// send starts bash in the client namespace, excluded or not, and has
	// it send payload to the internet host once it is where it should be.
	send := func(payload string, exclude bool) string {
		t.Helper()
		return run(fmt.Sprintf("echo -n %s > /dev/udp/%s/%d", payload, internet4, testPort), exclude)
	}
	run = func(script string, exclude bool) string {
		t.Helper()
		cmd := exec.Command("ip", "netns", "exec", n.C, "bash", "-c", "read; "+script)
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
			if err := ex.Add(cmd.Process.Pid); err != nil {
				t.Fatalf("Add: %v", err)
			}
			cg, err := ProcessCgroup(cmd.Process.Pid)
			if err != nil || !ex.Contains(cg) {
				t.Fatalf("process in cgroup %q, %v; want %s", cg, err, ex.Cgroup)
			}
		}
		io.WriteString(in, "\n")
		in.Close()
		cmd.Wait()
		return out.String()
	}
	send("tunnelled", false)
	inet.expectNone(t)
	send("excluded", true)
	inet.expect(t, "excluded")
	if m, err := ex.Marked(); err != nil || m == 0 {
		t.Fatalf("Marked() = %d, %v; want the excluded datagram counted", m, err)
	}
	// A TCP exchange: the flow leaves with the uplink's address (not the
	// TUN's, which the socket chose before the mark), and the answer
	// comes back.
	tcpWhoAmI(t, n.PPath, netip.AddrPortFrom(internet4, testPort+1))
	got := run(fmt.Sprintf(`timeout 20 bash -c "exec 3<>/dev/tcp/%s/%d; cat <&3"`, internet4, testPort+1), true)
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

// tcpWhoAmI serves TCP at addr in the namespace at nsPath, answering each
// connection with the address it came from.
func tcpWhoAmI(t *testing.T, nsPath string, addr netip.AddrPort) net.Listener {
	t.Helper()
	var ln net.Listener
	err := inNetNS(nsPath, func() error {
		var err error
		ln, err = net.Listen("tcp", addr.String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
			io.WriteString(c, ap.Addr().String())
			c.Close()
		}
	}()
	return ln
}
