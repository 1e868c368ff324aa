package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { VerifyTestMain(m) }

func TestUntil(t *testing.T) {
	n := 0
	if err := Until("the third poll", time.Second, func() bool { n++; return n == 3 }); err != nil {
		t.Fatalf("got %v, want nil", err)
	}
	err := Until("the route to 10.0.0.1", 30*time.Millisecond, func() bool { return false })
	var te *TimeoutError
	if !errors.As(err, &te) || err.Error() != "timed out after 30ms waiting for the route to 10.0.0.1" {
		t.Fatalf("got %v, want a TimeoutError naming the route", err)
	}
}

func TestEchoTCP(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		t.Run(addr, func(t *testing.T) {
			s := EchoTCP(t, addr)
			c, err := net.Dial("tcp", s.Addr)
			if err != nil {
				t.Skipf("dial %s: %v", s.Addr, err)
			}
			defer c.Close()
			if got := <-s.Remotes(); got != c.LocalAddr().(*net.TCPAddr).AddrPort() {
				t.Errorf("remote %v, want %v", got, c.LocalAddr())
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, "hello")
			c.(*net.TCPConn).CloseWrite()
			// The half-close comes back once everything is echoed.
			got, err := io.ReadAll(c)
			if err != nil || string(got) != "hello" {
				t.Fatalf("got %q, %v; want %q and EOF", got, err, "hello")
			}
		})
	}
}

// TestServerCloseEndsConnections: the cleanup closes a connection still
// open and joins its goroutine (the test's leak check would report it).
func TestServerCloseEndsConnections(t *testing.T) {
	var c net.Conn
	t.Run("open", func(t *testing.T) {
		s := EchoTCP(t, "127.0.0.1:0")
		var err error
		if c, err = net.Dial("tcp", s.Addr); err != nil {
			t.Fatal(err)
		}
		<-s.Remotes()
	})
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read after the server's test ended: %v, want EOF", err)
	}
}

func TestEchoUDP(t *testing.T) {
	s := EchoUDP(t, "127.0.0.1:0")
	c, err := net.Dial("udp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("datagram"))
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "datagram" {
		t.Fatalf("got %q, %v", buf[:n], err)
	}
}

func TestSourceAndSink(t *testing.T) {
	src := Source(t, "127.0.0.1:0")
	c, err := net.Dial("tcp", src.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "%d\n", 100000)
	got, err := io.ReadAll(c)
	if err != nil || len(got) != 100000 || !bytes.Equal(got, make([]byte, 100000)) {
		t.Fatalf("source: %d bytes, %v; want 100000 zero bytes", len(got), err)
	}

	sink := Sink(t, "127.0.0.1:0")
	c2, err := net.Dial("tcp", sink.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(10 * time.Second))
	data := bytes.Repeat([]byte("upload"), 10000)
	c2.Write(data)
	c2.(*net.TCPConn).CloseWrite()
	if ans, err := io.ReadAll(c2); err != nil || !bytes.Equal(ans, SinkAnswer(data)) {
		t.Fatalf("sink answered %x, %v; want %x", ans, err, SinkAnswer(data))
	}
}

func TestLog(t *testing.T) {
	l := NewLog(t)
	l.Logf("link: %d links waiting", 3)
	if !l.Has("3 links") || l.Has("4 links") || len(l.Lines()) != 1 {
		t.Fatalf("lines %q", l.Lines())
	}
}

func TestProc(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	p := StartProc(t, "child", exec.Command(sh, "-c", `echo "listening on 127.0.0.1:4242" >&2; exec sleep 60`))
	if got := p.Await(t, `listening on (\S+)`, 10*time.Second); got != "127.0.0.1:4242" {
		t.Errorf("Await: got %q", got)
	}
	select {
	case <-p.Done():
		t.Fatalf("exited early: %v", p.Err())
	default:
	}
}

func TestProcExitCode(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	p := StartProc(t, "child", exec.Command(sh, "-c", `echo bye; exit 3`))
	if code := p.Exited(t, 10*time.Second); code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
	if !strings.Contains(p.Log(), "bye") {
		t.Errorf("standard output not in the log: %q", p.Log())
	}
}

func TestCreatedBy(t *testing.T) {
	stop := make(chan struct{})
	done := make(chan struct{})
	base := Stacks()
	go func() { defer close(done); <-stop }()
	if n := len(CreatedBy("github.com/pexia-network/pexia/internal/testutil.TestCreatedBy")); n != 1 {
		t.Errorf("CreatedBy found %d goroutines, want 1", n)
	}
	if left := NewSince(base, 10*time.Millisecond); len(left) != 1 {
		t.Errorf("NewSince found %d goroutines, want 1", len(left))
	}
	close(stop)
	<-done
	if left := NewSince(base, 10*time.Second); len(left) != 0 {
		t.Errorf("NewSince found %d goroutines after they ended:\n%s", len(left), left[0])
	}
}

func TestRoundTripAndDownload(t *testing.T) {
	echo := EchoTCP(t, "127.0.0.1:0")
	c, err := net.Dial("tcp", echo.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := RoundTrip(c, "through"); err != nil {
		t.Fatal(err)
	}
	src := Source(t, "127.0.0.1:0")
	d, err := net.Dial("tcp", src.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.SetDeadline(time.Now().Add(10 * time.Second))
	// The source sends zeros, not what RoundTrip wrote.
	if err := RoundTrip(d, "3\nabc"); err == nil {
		t.Fatal("RoundTrip took zeros for an echo")
	}
	e, err := net.Dial("tcp", src.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.SetDeadline(time.Now().Add(10 * time.Second))
	if n, err := Download(e, 1<<20); err != nil || n != 1<<20 {
		t.Fatalf("Download: %d, %v", n, err)
	}
}

func TestTransfer(t *testing.T) {
	s := Transfer(t, "127.0.0.1:0")
	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := CheckTransfer(c, 1<<20); err != nil {
		t.Fatal(err)
	}
}

// TestSilent: a silent server sends nothing, and its connection ends with
// the test.
func TestSilent(t *testing.T) {
	var c net.Conn
	t.Run("open", func(t *testing.T) {
		s := Silent(t, "127.0.0.1:0")
		var err error
		if c, err = net.Dial("tcp", s.Addr); err != nil {
			t.Fatal(err)
		}
		<-s.Remotes()
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		var ne net.Error
		if _, err := c.Read(make([]byte, 1)); !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("read from a silent server: %v, want a timeout", err)
		}
	})
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read after the server's test ended: %v, want EOF", err)
	}
}
