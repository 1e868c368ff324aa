//go:build linux

package link

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/netlab"
	"github.com/pexia-network/pexia/internal/testutil"
)

// Environment of the dialing helper process (see TestDialHelper).
const (
	helperURL = "PEXIA_LINK_TEST_URL"
	helperPin = "PEXIA_LINK_TEST_PIN"
)

// candidateAddrs returns the distinct addresses of the candidates an SDP
// lists (pion lists each address for ICE components 1 and 2), sorted.
func candidateAddrs(sdp string) []string {
	var addrs []string
	for line := range strings.SplitSeq(sdp, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "a=candidate:") {
			continue
		}
		// a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>
		if f := strings.Fields(line); len(f) >= 6 {
			addrs = append(addrs, f[4])
		}
	}
	slices.Sort(addrs)
	return slices.Compact(addrs)
}

// addLAN gives h a second interface with a private IPv4 and a ULA IPv6
// address, the kind a home LAN has, which no link to the node needs.
func addLAN(t *testing.T, h *netlab.Host, v4, v6 string) {
	t.Helper()
	for _, args := range [][]string{
		{"link", "add", "lan0", "type", "veth", "peer", "name", "lan1"},
		{"addr", "add", v4, "dev", "lan0"},
		{"-6", "addr", "add", v6, "dev", "lan0", "nodad"},
		{"link", "set", "lan0", "up"},
		{"link", "set", "lan1", "up"},
	} {
		if out, err := h.Command(context.Background(), "ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("%s: ip %s: %v: %s", h.Name(), strings.Join(args, " "), err, out)
		}
	}
}

// TestOfferListsOnlyTheRouteAddress: a client with several interfaces
// (the lab link, a LAN with 192.168/16 and fd00::/8 addresses, loopback)
// offers the node only the address it reaches the node from, and the node
// answers only with the address the client reached it on. The client runs
// as its own process inside its namespace, as a real one would.
func TestOfferListsOnlyTheRouteAddress(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	_ = netlab.Cleanup("linktest")
	lab, err := netlab.New("linktest")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lab.Close(); err != nil {
			t.Errorf("close lab: %v", err)
		}
	})
	nodeHost, err := lab.Host("node")
	if err != nil {
		t.Fatal(err)
	}
	client, err := lab.Host("client")
	if err != nil {
		t.Fatal(err)
	}
	addLAN(t, nodeHost, "192.168.60.1/24", "fd00:60::1/64")
	addLAN(t, client, "192.168.50.7/24", "fd00:50::7/64")

	cert, pin, err := NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	var l *Listener
	if err := nodeHost.Do(func() (err error) {
		l, err = NewListener(ListenConfig{Certificate: cert, Logf: testutil.NewLog(t).Logf})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	type exchanged struct{ offer, answer string }
	var (
		mu   sync.Mutex
		seen []exchanged
	)
	l.tap = func(offer, answer string) {
		mu.Lock()
		seen = append(seen, exchanged{offer, answer})
		mu.Unlock()
	}
	tcp, err := nodeHost.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- l.Serve(tcp) }()
	t.Cleanup(func() {
		_ = l.Close()
		if err := <-served; !errors.Is(err, net.ErrClosed) {
			t.Errorf("Serve returned %v, want net.ErrClosed", err)
		}
	})
	// The node echoes one message on every channel of every link.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		for {
			lk, err := l.Accept(ctx)
			if err != nil {
				return
			}
			go func() {
				defer lk.Close()
				ch, err := lk.AcceptChannel(ctx)
				if err != nil {
					return
				}
				buf := make([]byte, 64)
				n, err := ch.Read(buf)
				if err == nil {
					_, _ = ch.Write(buf[:n])
				}
				<-lk.Done()
			}()
		}
	}()
	port := tcp.Addr().(*net.TCPAddr).Port

	for _, tc := range []struct {
		name         string
		node, client netip.Addr
	}{
		{"ipv4", nodeHost.Addr4(), client.Addr4()},
		{"ipv6", nodeHost.Addr6(), client.Addr6()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			url := fmt.Sprintf("https://%s/", netip.AddrPortFrom(tc.node, uint16(port)))
			cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer ccancel()
			cmd := client.Command(cctx, os.Args[0], "-test.run=^TestDialHelper$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), helperURL+"="+url, helperPin+"="+pin.String())
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("client in its namespace: %v\n%s", err, out)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != 1 {
				t.Fatalf("node answered %d offers, want 1\nclient said:\n%s", len(seen), out)
			}
			offered, answered := candidateAddrs(seen[0].offer), candidateAddrs(seen[0].answer)
			if want := []string{tc.client.String()}; !slices.Equal(offered, want) {
				t.Errorf("the offer lists candidates %v, want only %v (the address the client reaches the node from)", offered, want)
			}
			if want := []string{tc.node.String()}; !slices.Equal(answered, want) {
				t.Errorf("the answer lists candidates %v, want only %v (the address the client reached the node on)", answered, want)
			}
		})
	}
}

// TestDialHelper is the client of TestOfferListsOnlyTheRouteAddress, run
// by it as a process inside the client's namespace: it dials, sends one
// message on a channel and waits for the echo.
func TestDialHelper(t *testing.T) {
	url := os.Getenv(helperURL)
	if url == "" {
		t.Skip("run by TestOfferListsOnlyTheRouteAddress")
	}
	pin, err := ParsePin(os.Getenv(helperPin))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t, 20*time.Second)
	lk, err := Dial(ctx, url, pin, DialConfig{Logf: testutil.NewLog(t).Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	ch, err := lk.Open(ctx, "echo")
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if _, err := ch.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := ch.Read(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("echo: %q, %v", buf[:n], err)
	}
	t.Logf("link up from %v", lk.RemoteAddr())
}
