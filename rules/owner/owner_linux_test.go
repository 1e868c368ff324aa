package owner

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/icmp"

	"github.com/pexia-network/pexia/internal/netlab"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/rules"
)

const childEnv = "PEXIA_OWNER_TEST_CHILD"

// TestMain runs the socket-holding child when asked to.
func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(child(spec))
	}
	testutil.VerifyTestMain(m)
}

// child opens a socket as spec says ("tcp ADDR", "udp ADDR" unconnected,
// "udpc ADDR" connected), logs "local ADDR", and holds it until its
// standard input closes.
func child(spec string) int {
	kind, addr, _ := strings.Cut(spec, " ")
	var local net.Addr
	switch kind {
	case "tcp":
		c, err := net.Dial("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer c.Close()
		local = c.LocalAddr()
	case "udp":
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer c.Close()
		ua, _ := net.ResolveUDPAddr("udp", addr)
		c.WriteTo([]byte("hi"), ua)
		local = c.LocalAddr()
	case "reuse":
		// A connection, then (after a line on stdin) the same descriptor
		// number for a new one, then a third at a new number.
		c, err := net.Dial("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "first %s\n", c.LocalAddr())
		os.Stdin.Read(make([]byte, 1))
		c.Close()
		c2, err := net.Dial("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer c2.Close()
		c3, err := net.Dial("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer c3.Close()
		fmt.Fprintf(os.Stderr, "second %s third %s\n", c2.LocalAddr(), c3.LocalAddr())
		local = c3.LocalAddr()
	case "udpc":
		c, err := net.Dial("udp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer c.Close()
		c.Write([]byte("hi"))
		local = c.LocalAddr()
	}
	fmt.Fprintf(os.Stderr, "local %s\n", local)
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// startChild runs the child and returns it with the address of its socket;
// closing stdin lets it exit.
func startChild(t *testing.T, spec string) (*testutil.Proc, io.WriteCloser, netip.AddrPort) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+spec)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := testutil.StartProc(t, "socket child", cmd)
	t.Cleanup(func() { stdin.Close() })
	local := netip.MustParseAddrPort(p.Await(t, `local (\S+)`, 20*time.Second))
	return p, stdin, local
}

// holdTCP is a TCP server that keeps each connection open, even after the
// peer's FIN, until the test ends.
func holdTCP(t *testing.T) netip.AddrPort {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	s := testutil.Serve(t, ln, func(c net.Conn) {
		io.Copy(io.Discard, c)
		<-done
	})
	t.Cleanup(func() { close(done) }) // runs before Serve's cleanup
	return s.AddrPort()
}

// TestOwnerOfRealProcesses: the sockets of a child process, TCP and UDP
// (connected or not), are found to be the child's, with its executable,
// comm, cgroup and uid.
func TestOwnerOfRealProcesses(t *testing.T) {
	tab, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	tcpDst := holdTCP(t)
	udpDst := testutil.EchoUDP(t, "127.0.0.1:0").AddrPort()
	exe, err := filepath.EvalSymlinks(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	exe, _ = filepath.Abs(exe)
	for _, c := range []struct {
		spec  string
		proto rules.Proto
		dst   netip.AddrPort
	}{
		{"tcp " + tcpDst.String(), rules.TCP, tcpDst},
		{"udp " + udpDst.String(), rules.UDP, udpDst},
		{"udpc " + udpDst.String(), rules.UDP, udpDst},
	} {
		t.Run(strings.Fields(c.spec)[0], func(t *testing.T) {
			p, _, local := startChild(t, c.spec)
			pid := p.Cmd.Process.Pid
			o, err := tab.Owner(c.proto, local, c.dst)
			if err != nil {
				t.Fatalf("Owner(%s %s->%s): %v", c.proto, local, c.dst, err)
			}
			cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
			wantCg := ""
			for _, l := range strings.Split(string(cg), "\n") {
				if p, ok := strings.CutPrefix(l, "0::"); ok {
					wantCg = p
				}
			}
			want := rules.Owner{PID: pid, UID: uint32(os.Getuid()), HasUID: true, Exe: exe,
				Name: filepath.Base(exe)[:min(15, len(filepath.Base(exe)))], Cgroup: wantCg, Desktop: rules.DesktopID(wantCg)}
			if o != want {
				t.Fatalf("owner %+v\nwant  %+v", o, want)
			}

			// Cost: again for the same socket (cached), and a cold table.
			const n = 200
			warm := make([]time.Duration, n)
			for i := range n {
				t0 := time.Now()
				if o2, err := tab.Owner(c.proto, local, c.dst); err != nil || o2 != o {
					t.Fatalf("lookup %d: %+v, %v", i, o2, err)
				}
				warm[i] = time.Since(t0)
			}
			cold, err := New()
			if err != nil {
				t.Fatal(err)
			}
			defer cold.Close()
			t0 := time.Now()
			if o2, err := cold.Owner(c.proto, local, c.dst); err != nil || o2 != o {
				t.Fatalf("cold lookup: %+v, %v", o2, err)
			}
			slices.Sort(warm)
			t.Logf("%s lookup: cached median %v (p90 %v), cold %v", c.proto, warm[n/2], warm[n*9/10], time.Since(t0))
		})
	}
}

// TestOwnerGone: the fallbacks. A TCP socket that outlives its process
// (closing after the process exited) gives ErrGone and only the uid; a
// flow with no socket at all gives ErrNotFound and an unknown owner; and
// the dead process's details are not served from the cache.
func TestOwnerGone(t *testing.T) {
	tab, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	dst := holdTCP(t)
	p, stdin, local := startChild(t, "tcp "+dst.String())
	if o, err := tab.Owner(rules.TCP, local, dst); err != nil || o.PID != p.Cmd.Process.Pid {
		t.Fatalf("live child: %+v, %v", o, err)
	}
	stdin.Close()
	if code := p.Exited(t, 20*time.Second); code != 0 {
		t.Fatalf("child exited with %d", code)
	}
	// The server holds its end open, so the child's socket waits in
	// FIN_WAIT1 or FIN_WAIT2 with no process (in FIN_WAIT2 the kernel
	// keeps it as a time-wait entry, without its uid).
	o, err := tab.Owner(rules.TCP, local, dst)
	if !errors.Is(err, ErrGone) || o.Known() || o.HasUID && o.UID != uint32(os.Getuid()) {
		t.Fatalf("orphaned socket: %+v, %v; want ErrGone, no process, at most uid %d", o, err, os.Getuid())
	}
	if !strings.HasPrefix(o.String(), "unknown process") {
		t.Fatalf("owner reads %q", o)
	}

	nobody := netip.MustParseAddrPort("127.0.0.1:9")
	o, err = tab.Owner(rules.TCP, netip.MustParseAddrPort("127.0.0.1:1"), nobody)
	if !errors.Is(err, ErrNotFound) || o != (rules.Owner{}) {
		t.Fatalf("no socket: %+v, %v; want ErrNotFound and an unknown owner", o, err)
	}
	o, err = tab.Owner(rules.ICMP, netip.MustParseAddrPort("127.0.0.1:0"), nobody)
	if !errors.Is(err, ErrNotFound) || o != (rules.Owner{}) {
		t.Fatalf("icmp: %+v, %v", o, err)
	}
}

// TestOwnerReusedDescriptor: a process known from an earlier flow opens
// a new socket at a descriptor number its closed one had, and another at
// a new number; both are found to be its own, and the closed socket's
// cached place is not trusted.
func TestOwnerReusedDescriptor(t *testing.T) {
	tab, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	dst := holdTCP(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=reuse "+dst.String())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := testutil.StartProc(t, "socket child", cmd)
	t.Cleanup(func() { stdin.Close() })
	pid := p.Cmd.Process.Pid
	first := netip.MustParseAddrPort(p.Await(t, `first (\S+)`, 20*time.Second))
	if o, err := tab.Owner(rules.TCP, first, dst); err != nil || o.PID != pid {
		t.Fatalf("first: %+v, %v", o, err)
	}
	stdin.Write([]byte("\n"))
	m := p.Await(t, `second (\S+ third \S+)`, 20*time.Second)
	second, third, _ := strings.Cut(m, " third ")
	for _, a := range []string{second, third} {
		if o, err := tab.Owner(rules.TCP, netip.MustParseAddrPort(a), dst); err != nil || o.PID != pid {
			t.Fatalf("%s: %+v, %v; want pid %d", a, o, err, pid)
		}
	}
	if _, err := tab.Owner(rules.TCP, first, dst); !errors.Is(err, ErrGone) && !errors.Is(err, ErrNotFound) {
		t.Fatalf("the closed first socket: %v", err)
	}
}

// TestOwnerIPv6: a v6 socket, and a v4 flow of a dual-stack socket.
func TestOwnerIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	ln.Close()
	tab, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	echo := testutil.EchoTCP(t, "[::1]:0").AddrPort()
	p, _, local := startChild(t, "tcp "+echo.String())
	if o, err := tab.Owner(rules.TCP, local, echo); err != nil || o.PID != p.Cmd.Process.Pid {
		t.Fatalf("v6: %+v, %v", o, err)
	}
}

// TestOwnerPing: an echo flow's owner is the process holding the
// unprivileged ping socket whose identifier the flow carries, for IPv4
// and IPv6, read from the ping socket table of the namespace the Table
// was made in; an identifier no ping socket has is not found. Needs root:
// the ping sockets live in a network namespace that permits them.
func TestOwnerPing(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	lab, err := netlab.New("ownping")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lab.Close() })
	host, err := lab.Host("app")
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Sysctl("net.ipv4.ping_group_range", "0 2147483647"); err != nil {
		t.Fatal(err)
	}
	var tab *Table
	var pc4, pc6 *icmp.PacketConn
	if err := host.Do(func() (err error) {
		if tab, err = New(); err != nil {
			return err
		}
		if pc4, err = icmp.ListenPacket("udp4", "0.0.0.0"); err != nil {
			return err
		}
		pc6, err = icmp.ListenPacket("udp6", "::")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	defer pc4.Close()
	defer pc6.Close()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	self, _ = filepath.EvalSymlinks(self)
	for _, c := range []struct {
		pc       *icmp.PacketConn
		src, dst netip.Addr
	}{
		{pc4, host.Addr4(), netip.MustParseAddr("192.0.2.1")},
		{pc6, host.Addr6(), netip.MustParseAddr("2001:db8::1")},
	} {
		id := uint16(c.pc.LocalAddr().(*net.UDPAddr).Port)
		o, err := tab.Owner(rules.ICMP, netip.AddrPortFrom(c.src, id), netip.AddrPortFrom(c.dst, 0))
		if err != nil || o.Exe != self || !o.HasUID || o.UID != uint32(os.Getuid()) {
			t.Errorf("ping from %s with identifier %d: %+v, %v; want this test binary %s, uid %d", c.src, id, o, err, self, os.Getuid())
		}
		o, err = tab.Owner(rules.ICMP, netip.AddrPortFrom(c.src, id+1), netip.AddrPortFrom(c.dst, 0))
		if !errors.Is(err, ErrNotFound) || o != (rules.Owner{}) {
			t.Errorf("ping from %s with identifier %d, which no socket has: %+v, %v; want ErrNotFound", c.src, id+1, o, err)
		}
	}
}
