//go:build linux

package link

import (
	"os"
	"syscall"
	"testing"

	"github.com/pexia-network/pexia/internal/testutil"
)

func sockopt(t *testing.T, fd uintptr, opt int) int {
	t.Helper()
	v, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, opt)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSocketOptions(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SO_MARK and SO_RCVBUFFORCE need root")
	}
	conn, err := listenUDP("127.0.0.1:0", 0x5a, testutil.NewLog(t).Logf)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rc, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Control(func(fd uintptr) {
		if got := sockopt(t, fd, syscall.SO_MARK); got != 0x5a {
			t.Errorf("SO_MARK = %#x, want 0x5a", got)
		}
		// The kernel reports twice the size set.
		if got := sockopt(t, fd, syscall.SO_RCVBUF); got < 2*socketBuffer {
			t.Errorf("SO_RCVBUF = %d, want %d", got, 2*socketBuffer)
		}
		if got := sockopt(t, fd, syscall.SO_SNDBUF); got < 2*socketBuffer {
			t.Errorf("SO_SNDBUF = %d, want %d", got, 2*socketBuffer)
		}
	}); err != nil {
		t.Fatal(err)
	}
}

// TestDialMarked: a marked dial (UDP and signaling) works end to end.
func TestDialMarked(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SO_MARK needs root")
	}
	testutil.CheckGoroutines(t)
	n := newNode(t, ListenConfig{})
	client, server := connect(t, n, DialConfig{Mark: 0x5a})
	a, b := openPair(t, client, server, "marked")
	if err := exchange(a, b, 31, 10); err != nil {
		t.Fatal(err)
	}
}
