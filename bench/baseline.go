package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/crypto/curve25519"

	"github.com/pexia-network/pexia/internal/netlab"
)

const (
	baselineLab   = "pexiabench"
	baselineBulk  = 5 * time.Second // one TCP stream, as iperf3 -t 5
	baselinePings = 1000
	wgPort        = 51820
	// wgUAPIDir holds wireguard-go's configuration sockets.
	wgUAPIDir = "/var/run/wireguard"
)

// The wireguard-go tunnel's inner addresses: the exit is .1, the client .2.
var (
	wgSubnet = netip.MustParsePrefix("10.99.0.0/24")
	wgExit   = netip.MustParsePrefix("10.99.0.1/24")
	wgClient = netip.MustParsePrefix("10.99.0.2/24")
)

// baselineSuite measures the yardsticks every tunnel number is compared
// with, in one network-namespace lab (netlab): TCP throughput of one stream
// and the median 64-byte request/response round trip from the client host
// to the internet host, first directly over the veth bridge, then through
// userspace WireGuard (wireguard-go as a process in the client and in an
// exit host that forwards to the internet host); ratio.wireguard_go_* are
// computed from them after the run. The daemon's tunnel benchmark
// measures with the same netlab.Bulk and netlab.PingPong between the same
// kind of hosts, in turns with wireguard-go. Needs root.
// PEXIA_WIREGUARD_GO names a prebuilt wireguard-go to use instead of
// building the one go.mod pins.
func baselineSuite(res Results) error {
	if geteuid() != 0 {
		return errors.New("baseline: needs root to create network namespaces")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin, err := wireguardGo(ctx)
	if err != nil {
		return err
	}
	if err := netlab.Cleanup(baselineLab); err != nil {
		return err
	}
	lab, err := netlab.New(baselineLab)
	if err != nil {
		return err
	}
	defer lab.Close()
	var hosts []*netlab.Host
	for _, name := range []string{"client", "exit", "internet"} {
		h, err := lab.Host(name)
		if err != nil {
			return err
		}
		hosts = append(hosts, h)
	}
	client, exit, internet := hosts[0], hosts[1], hosts[2]
	dst := internet.Addr4()

	if _, err := baselinePath(ctx, res, "veth", client, internet, dst); err != nil {
		return err
	}
	wg, err := startWireGuard(ctx, bin, client, exit, internet, netip.PrefixFrom(dst, 32))
	if err != nil {
		return err
	}
	defer wg.stop()
	// Guard against measuring the bare link by mistake: the bulk stream
	// must have left through the tunnel interface.
	_, err = carried(client, wg.clientIf, baselineBulk, func() (float64, error) {
		return baselinePath(ctx, res, "wireguard_go", client, internet, dst)
	})
	if err != nil {
		return errors.Join(fmt.Errorf("baseline: %w", err), wg.stderr())
	}
	return nil
}

// baselinePath records the round trip and throughput from client to dst
// in the internet host, over whatever route is in place, and iperf3's view
// of the throughput when it is installed.
func baselinePath(ctx context.Context, res Results, name string, client, internet *netlab.Host, dst netip.Addr) (float64, error) {
	rtt, err := netlab.PingPong(ctx, client, internet, dst, baselinePings)
	if err != nil {
		return 0, fmt.Errorf("baseline %s: %w", name, err)
	}
	mbps, err := netlab.Bulk(ctx, client, internet, dst, baselineBulk)
	if err != nil {
		return 0, fmt.Errorf("baseline %s: %w", name, err)
	}
	res.set("baseline."+name+"_mbps", mbps, "Mbit/s")
	res.set("baseline."+name+"_rtt_us", float64(rtt)/1e3, "µs")
	if ip, ok, err := iperf3(ctx, client, internet, dst, baselineBulk); err != nil {
		return 0, fmt.Errorf("baseline %s: %w", name, err)
	} else if ok {
		res.set("baseline."+name+"_iperf3_mbps", ip, "Mbit/s")
	}
	return mbps, nil
}

// carried runs measure, a bulk stream from h that returns its Mbit/s over
// d, and guards against measuring the bare link by mistake: the stream
// must have left through the tunnel interface iface of h.
func carried(h *netlab.Host, iface string, d time.Duration, measure func() (float64, error)) (float64, error) {
	tx0, err := txBytes(h, iface)
	if err != nil {
		return 0, err
	}
	mbps, err := measure()
	if err != nil {
		return 0, err
	}
	tx1, err := txBytes(h, iface)
	if err != nil {
		return 0, err
	}
	if sent := tx1 - tx0; float64(sent) < mbps*1e6/8*d.Seconds()/2 {
		return 0, fmt.Errorf("only %d bytes left through %s for %.0f Mbit/s: traffic bypassed the tunnel", sent, iface, mbps)
	}
	return mbps, nil
}

// wireguardGo returns the wireguard-go binary: $PEXIA_WIREGUARD_GO, or
// one built from the module cache at the version go.mod pins.
func wireguardGo(ctx context.Context) (string, error) {
	if p := os.Getenv("PEXIA_WIREGUARD_GO"); p != "" {
		return p, nil
	}
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(gomod)) == "" || strings.TrimSpace(string(gomod)) == os.DevNull {
		return "", fmt.Errorf("baseline: run inside the pexia module to build wireguard-go (go env GOMOD: %v)", err)
	}
	dir := filepath.Join(os.TempDir(), "pexia-bench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("baseline: %w", err)
	}
	out := filepath.Join(dir, "wireguard-go")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "golang.zx2c4.com/wireguard")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("baseline: build wireguard-go: %w\n%s", err, b)
	}
	return out, nil
}

// wgTunnel is a wireguard-go process in the client and one in the exit.
type wgTunnel struct {
	client   *netlab.Host
	clientIf string
	procs    []*wgProc
}

type wgProc struct {
	cmd    *exec.Cmd
	log    lockedBuffer
	exited chan struct{} // closed when cmd.Wait returns
}

// lockedBuffer collects a process's output while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startWireGuard runs wireguard-go in client and exit, pairs them with
// fresh keys over the bridge, and routes the client's traffic for route
// through the tunnel (when route is valid; see wgTunnel.route); the exit
// forwards it, and the internet host routes the tunnel's addresses back
// via the exit.
func startWireGuard(ctx context.Context, bin string, client, exit, internet *netlab.Host, route netip.Prefix) (*wgTunnel, error) {
	clientKey, clientPub, err := wgKeyPair()
	if err != nil {
		return nil, err
	}
	exitKey, exitPub, err := wgKeyPair()
	if err != nil {
		return nil, err
	}
	// The UAPI sockets share one /var/run/wireguard (ip netns exec does
	// not isolate it), so the interface names are unique per run.
	var sfx [2]byte
	if _, err := rand.Read(sfx[:]); err != nil {
		return nil, err
	}
	cIf, eIf := "wgc"+hex.EncodeToString(sfx[:]), "wge"+hex.EncodeToString(sfx[:])
	t := &wgTunnel{client: client, clientIf: cIf}
	for _, p := range []struct {
		h     *netlab.Host
		iface string
		conf  []string
	}{
		{exit, eIf, []string{
			"private_key=" + exitKey, "listen_port=" + strconv.Itoa(wgPort), "replace_peers=true",
			"public_key=" + clientPub, "allowed_ip=" + netip.PrefixFrom(wgClient.Addr(), 32).String(),
		}},
		{client, cIf, []string{
			"private_key=" + clientKey, "replace_peers=true",
			"public_key=" + exitPub, "endpoint=" + netip.AddrPortFrom(exit.Addr4(), wgPort).String(),
			"allowed_ip=0.0.0.0/0",
		}},
	} {
		if err := t.start(ctx, bin, p.h, p.iface); err != nil {
			t.stop()
			return nil, err
		}
		if err := wgSet(ctx, p.iface, p.conf); err != nil {
			t.stop()
			return nil, errors.Join(err, t.stderr())
		}
	}
	err = errors.Join(
		wgLink(exit, eIf, wgExit),
		wgLink(client, cIf, wgClient),
		exit.Sysctl("net.ipv4.ip_forward", "1"),
		internet.Route(wgSubnet, exit),
	)
	if err == nil && route.IsValid() {
		err = t.route(route, true)
	}
	if err != nil {
		t.stop()
		return nil, fmt.Errorf("baseline: wireguard-go: %w", err)
	}
	return t, nil
}

// start runs wireguard-go for iface in h and waits for its UAPI socket.
func (t *wgTunnel) start(ctx context.Context, bin string, h *netlab.Host, iface string) error {
	p := &wgProc{cmd: h.Command(ctx, bin, "-f", iface), exited: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), "WG_PROCESS_FOREGROUND=1", "LOG_LEVEL=error")
	p.cmd.Stdout, p.cmd.Stderr = &p.log, &p.log
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("baseline: start wireguard-go in %s: %w", h.Name(), err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.procs = append(t.procs, p)
	sock := filepath.Join(wgUAPIDir, iface+".sock")
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("baseline: wireguard-go in %s exited: %s", h.Name(), p.log.String())
		case <-deadline.C:
			return fmt.Errorf("baseline: wireguard-go in %s: no UAPI socket %s", h.Name(), sock)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// cpuProcs are the wireguard-go processes, for measureCPU.
func (t *wgTunnel) cpuProcs() []cpuProc {
	var ps []cpuProc
	for i, p := range t.procs {
		ps = append(ps, cpuProc{fmt.Sprintf("wireguard-go%d", i+1), p.cmd.Process.Pid, true})
	}
	return ps
}

// stop ends the wireguard-go processes, which removes their interfaces.
func (t *wgTunnel) stop() {
	for _, p := range t.procs {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range t.procs {
		select {
		case <-p.exited:
		case <-time.After(3 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
	t.procs = nil
}

// stderr returns what the wireguard-go processes logged, as an error.
func (t *wgTunnel) stderr() error {
	var b strings.Builder
	for _, p := range t.procs {
		b.WriteString(p.log.String())
	}
	if b.Len() == 0 {
		return nil
	}
	return fmt.Errorf("wireguard-go log: %s", b.String())
}

// wgSet configures a wireguard-go device over its UAPI socket.
func wgSet(ctx context.Context, iface string, lines []string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", filepath.Join(wgUAPIDir, iface+".sock"))
	if err != nil {
		return fmt.Errorf("baseline: uapi %s: %w", iface, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "set=1\n%s\n\n", strings.Join(lines, "\n")); err != nil {
		return fmt.Errorf("baseline: uapi %s: %w", iface, err)
	}
	r := bufio.NewReader(c)
	errno := ""
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("baseline: uapi %s: %w", iface, err)
		}
		if line == "\n" {
			break
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "errno="); ok {
			errno = v
		}
	}
	if errno != "0" {
		return fmt.Errorf("baseline: uapi %s: errno=%s", iface, errno)
	}
	return nil
}

// wgLink gives the tunnel interface its address and brings it up.
func wgLink(h *netlab.Host, iface string, addr netip.Prefix) error {
	return h.Do(func() error {
		link, err := netlink.LinkByName(iface)
		if err != nil {
			return fmt.Errorf("%s: %w", iface, err)
		}
		ipn := &net.IPNet{IP: addr.Addr().AsSlice(), Mask: net.CIDRMask(addr.Bits(), 32)}
		if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: ipn}); err != nil {
			return fmt.Errorf("%s: address: %w", iface, err)
		}
		if err := netlink.LinkSetUp(link); err != nil {
			return fmt.Errorf("%s: up: %w", iface, err)
		}
		return nil
	})
}

// route adds (or, with add false, removes) a route for p in the client's
// main table through the tunnel interface. A route longer than /0 in the
// main table wins over pexiad's default route (its rule "lookup main
// suppress_prefixlength 0" comes first), so the client's traffic for p
// takes wireguard-go while it is there, and pexiad's tunnel once it is gone.
func (t *wgTunnel) route(p netip.Prefix, add bool) error {
	return t.client.Do(func() error {
		link, err := netlink.LinkByName(t.clientIf)
		if err != nil {
			return fmt.Errorf("%s: %w", t.clientIf, err)
		}
		dst := &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
		r := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: dst, Scope: netlink.SCOPE_LINK}
		if add {
			err = netlink.RouteAdd(r)
		} else {
			err = netlink.RouteDel(r)
		}
		if err != nil {
			return fmt.Errorf("%s: route %s (add %v): %w", t.clientIf, p, add, err)
		}
		return nil
	})
}

// txBytes is the number of bytes sent through iface in h.
func txBytes(h *netlab.Host, iface string) (uint64, error) {
	var n uint64
	err := h.Do(func() error {
		link, err := netlink.LinkByName(iface)
		if err != nil {
			return err
		}
		if st := link.Attrs().Statistics; st != nil {
			n = st.TxBytes
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("%s statistics in %s: %w", iface, h.Name(), err)
	}
	return n, nil
}

// wgKeyPair returns a fresh Curve25519 private key and its public key, hex
// encoded as the UAPI wants them.
func wgKeyPair() (private, public string, err error) {
	var k [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		return "", "", err
	}
	k[0] &= 248
	k[31] = k[31]&127 | 64
	pub, err := curve25519.X25519(k[:], curve25519.Basepoint)
	if err != nil {
		return "", "", err
	}
	return hex.EncodeToString(k[:]), hex.EncodeToString(pub), nil
}

// waitListening waits until a TCP socket in h listens on port, reading the
// namespace's socket table (through thread-self: /proc/net is the
// process's namespace, not the thread's).
func waitListening(ctx context.Context, h *netlab.Host, port int, limit time.Duration) error {
	want := fmt.Sprintf(":%04X ", port)
	deadline := time.Now().Add(limit)
	for {
		listening := false
		err := h.Do(func() error {
			for _, f := range []string{"/proc/thread-self/net/tcp", "/proc/thread-self/net/tcp6"} {
				b, err := os.ReadFile(f)
				if err != nil {
					return err
				}
				for _, line := range strings.Split(string(b), "\n") {
					// local_address rem_address st: state 0A is LISTEN.
					if fs := strings.Fields(line); len(fs) > 3 && strings.HasSuffix(fs[1]+" ", want) && fs[3] == "0A" {
						listening = true
					}
				}
			}
			return nil
		})
		if err != nil || listening {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on port %d in %s after %v", port, h.Name(), limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// iperf3 measures one TCP stream from client to dst with iperf3, when it is
// installed, as a check on netlab.Bulk; ok is false when it is not.
func iperf3(ctx context.Context, client, server *netlab.Host, dst netip.Addr, d time.Duration) (mbps float64, ok bool, err error) {
	bin, err := exec.LookPath("iperf3")
	if err != nil {
		return 0, false, nil
	}
	srv := server.Command(ctx, bin, "-s", "-1", "-p", "5201")
	var srvLog lockedBuffer
	srv.Stdout, srv.Stderr = &srvLog, &srvLog
	if err := srv.Start(); err != nil {
		return 0, false, fmt.Errorf("iperf3 server: %w", err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	if err := waitListening(ctx, server, 5201, 10*time.Second); err != nil {
		return 0, false, fmt.Errorf("iperf3 server: %w (%s)", err, srvLog.String())
	}
	out, err := client.Command(ctx, bin, "-c", dst.String(), "-p", "5201", "-J",
		"-t", strconv.Itoa(int(d.Seconds()))).Output()
	var r struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
		Error string `json:"error"`
	}
	if jerr := json.Unmarshal(out, &r); jerr != nil || r.Error != "" || err != nil {
		return 0, false, fmt.Errorf("iperf3: %v %s (server: %s)", errors.Join(err, jerr), r.Error, srvLog.String())
	}
	return r.End.SumReceived.BitsPerSecond / 1e6, true, nil
}
