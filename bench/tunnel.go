package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/netlab"
	"github.com/pexia-network/pexia/internal/world"
)

// pexiadTUN is the TUN device pexiad makes (its -tun default).
const pexiadTUN = "pexia0"

// tunnelRounds is how many times the tunnel's 1-hop bulk transfer and
// wireguard-go's take turns.
const tunnelRounds = 5

// tunnelSuite measures the whole client: pexiad with its TUN device in the
// client namespace of a world (chain, staked nodes, internet host), with
// the same bulk and ping-pong method as the veth and wireguard-go
// baselines. Its 1-hop throughput and wireguard-go's, between the same
// client and internet hosts through the world's exit host, are measured
// in turns (tunnelRounds rounds, medians), so that the machine's drift hits
// both alike; so is the CPU each spends per GiB (all Pexia processes:
// pexiad, relays, exit; both wireguard-go processes), read from
// /proc/<pid>/stat, which the machine's load sways far less than Mbit/s.
// The 3-hop bulk transfer's CPU per GiB and a 3-hop ping-pong follow. Over 3 hops it also times an HTTP/3 download (quic-go's
// client as a program in the client host, so QUIC's UDP crosses the TUN
// and the circuit), and measures UDP as the e2e tests TestUDPHalfCapacity
// and TestUDPFlood do: the loss at half the circuit's UDP capacity (the
// larger of the two directions) and what a TCP download keeps of its rate
// while a UDP flood at twice the upload capacity runs. Needs root: without
// it the suite fails.
func tunnelSuite(res Results) error {
	if geteuid() != 0 {
		return errors.New("needs root (network namespaces and a TUN device)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	wgBin, err := wireguardGo(ctx)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "pexia-bench-tunnel")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := world.Build(ctx, ".", dir); err != nil {
		return err
	}
	if err := profileEnv(); err != nil {
		return err
	}
	w, err := world.Start(ctx, world.Options{Bin: dir, Dir: filepath.Join(dir, "world"), Prefix: "pxb", Relays: 2, Exits: 1})
	if err != nil {
		return err
	}
	defer w.Close()
	if err := w.SetClientResolver(w.Internet.Addr4()); err != nil {
		return err
	}
	if err := w.BuildH3Get(ctx, "."); err != nil {
		return err
	}
	d, err := w.StartDaemon(ctx, "")
	if err != nil {
		return err
	}
	cl := api.NewClient(d.Socket)
	defer cl.Close()
	set, err := cl.Settings(ctx)
	if err != nil {
		return err
	}
	// wireguard-go's packets to the exit host leave outside the tunnel.
	set.AllowLAN, set.KillSwitch, set.Lockdown = false, false, false
	if _, err := cl.SetSettings(ctx, set); err != nil {
		return err
	}

	// The first connect also funds the lottery account; time the second.
	if _, err := tunnelConnect(ctx, cl, 1); err != nil {
		return err
	}
	if err := tunnelDisconnect(ctx, cl); err != nil {
		return err
	}
	connectTime, err := tunnelConnect(ctx, cl, 1)
	if err != nil {
		return err
	}
	res.set("tunnel.connect_ms", float64(connectTime.Microseconds())/1000, "ms")

	// wireguard-go from the client host through the exit host, routed only
	// while it is measured: the rest of the time the same destination is
	// reached through pexiad.
	wg, err := startWireGuard(ctx, wgBin, w.Client, w.Exits[0], w.Internet, netip.Prefix{})
	if err != nil {
		return err
	}
	defer wg.stop()
	const dur = 5 * time.Second
	var pexia, wgs, pexiaCPU, wgCPU []float64
	procs, wgProcs := tunnelProcs(w, d), wg.cpuProcs()
	for i := range tunnelRounds {
		var m, g float64
		pc, err := measureCPU(procs, func() error {
			return profiled(procs, fmt.Sprintf("1hop-round%d", i+1), func() (err error) {
				m, err = tunnelBulk(ctx, w, pexiadTUN, dur)
				return err
			})
		})
		if err != nil {
			return fmt.Errorf("1-hop bulk: %w", err)
		}
		if err := wg.route(netip.PrefixFrom(world.Web4, 32), true); err != nil {
			return err
		}
		gc, err := measureCPU(wgProcs, func() (err error) {
			g, err = tunnelBulk(ctx, w, wg.clientIf, dur)
			return err
		})
		if rerr := wg.route(netip.PrefixFrom(world.Web4, 32), false); err == nil {
			err = rerr
		}
		if err != nil {
			return fmt.Errorf("wireguard-go bulk: %w", errors.Join(err, wg.stderr()))
		}
		fmt.Printf("  round %d: pexia 1 hop %.0f Mbit/s, wireguard-go %.0f Mbit/s (%.2f); CPU %.1f and %.1f s/GiB; load %s\n",
			i+1, m, g, m/g, pc.perGiB(m, dur), gc.perGiB(g, dur), loadAvg())
		fmt.Printf("    pexia 1 hop CPU: %v\n    wireguard-go CPU: %v\n", pc, gc)
		pexia, wgs = append(pexia, m), append(wgs, g)
		pexiaCPU, wgCPU = append(pexiaCPU, pc.perGiB(m, dur)), append(wgCPU, gc.perGiB(g, dur))
	}
	res.setRounds("tunnel.throughput_1hop_mbps", pexia, "Mbit/s")
	res.setRounds("tunnel.wireguard_go_mbps", wgs, "Mbit/s")
	res.setRounds("tunnel.cpu_s_per_gib", pexiaCPU, "s/GiB")
	res.setRounds("baseline.wireguard_go_cpu_s_per_gib", wgCPU, "s/GiB")
	rtt, err := netlab.PingPong(ctx, w.Client, w.Internet, world.Web4, 1000)
	if err != nil {
		return fmt.Errorf("1-hop ping-pong: %w", err)
	}
	res.set("tunnel.rtt_1hop_us", float64(rtt.Nanoseconds())/1000, "µs")

	rss, err := rssWithFlows(ctx, w, d, 1000)
	if err != nil {
		return fmt.Errorf("1000 flows: %w", err)
	}
	res.set("daemon.rss_mb_1000_flows", rss.total, "MB")
	// The rest of the resident set is pexiad's executable, mapped from
	// the page cache and shared with every other process running it.
	res.set("daemon.rss_anon_mb_1000_flows", rss.anon, "MB")

	if err := tunnelDisconnect(ctx, cl); err != nil {
		return err
	}
	if _, err := tunnelConnect(ctx, cl, 3); err != nil {
		return err
	}
	var mbps3 float64
	cpu3, err := measureCPU(procs, func() error {
		return profiled(procs, "3hop", func() (err error) {
			mbps3, err = tunnelBulk(ctx, w, pexiadTUN, dur)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("3-hop bulk: %w", err)
	}
	fmt.Printf("  pexia 3 hops %.0f Mbit/s, CPU %.1f s/GiB; load %s\n    %v\n", mbps3, cpu3.perGiB(mbps3, dur), loadAvg(), cpu3)
	res.set("tunnel.throughput_3hop_mbps", mbps3, "Mbit/s")
	res.set("tunnel.cpu_s_per_gib_3hop", cpu3.perGiB(mbps3, dur), "s/GiB")
	rtt3, err := netlab.PingPong(ctx, w.Client, w.Internet, world.Web4, 1000)
	if err != nil {
		return fmt.Errorf("3-hop ping-pong: %w", err)
	}
	res.set("tunnel.rtt_3hop_us", float64(rtt3.Nanoseconds())/1000, "µs")
	icmp3, err := tunnelPing(ctx, w.Client, world.Web4, 20)
	if err != nil {
		return fmt.Errorf("3-hop ping: %w", err)
	}
	res.set("tunnel.icmp_rtt_3hop_us", float64(icmp3.Avg.Nanoseconds())/1000, "µs")
	quic3, err := tunnelQUIC(ctx, w, tunnelQUICBytes)
	if err != nil {
		return fmt.Errorf("3-hop HTTP/3 download: %w", err)
	}
	res.set("tunnel.quic_mbps_3hop", quic3, "Mbit/s")
	loss, err := tunnelUDPHalf(ctx, w, cl)
	if err != nil {
		return fmt.Errorf("3-hop udp at half capacity: %w", err)
	}
	res.set("tunnel.udp_loss_pct_half_capacity", loss.pct, "%")
	share, err := tunnelTCPShare(ctx, w, cl, loss.capUp)
	if err != nil {
		return fmt.Errorf("3-hop tcp under a udp flood: %w", err)
	}
	res.set("tunnel.tcp_share_under_udp_flood", share, "x")
	return tunnelDisconnect(ctx, cl)
}

const (
	// udpRampStart and udpRampStep are the first rate and the duration
	// of each rate of a UDP capacity ramp (netlab.UDPCapacity).
	udpRampStart = 8
	udpRampStep  = 2 * time.Second
	// udpHalfFor is how long UDP is sent at half the capacity.
	udpHalfFor = 10 * time.Second
	// floodFor is how long the flood of tunnelTCPShare lasts; the TCP
	// downloads take tcpShareFor each.
	floodFor    = 20 * time.Second
	tcpShareFor = 8 * time.Second
)

type udpHalf struct {
	pct   float64 // the larger loss of the two directions, percent
	capUp float64 // the upload capacity, Mbit/s
}

// tunnelUDPHalf measures the circuit's UDP capacity each way with a paced
// ramp, then sends UDP at half of it for udpHalfFor each way and returns
// the larger of the two losses, as the e2e test TestUDPHalfCapacity does.
func tunnelUDPHalf(ctx context.Context, w *world.World, cl *api.Client) (udpHalf, error) {
	var out udpHalf
	for _, dir := range []netlab.UDPDirection{netlab.UDPUp, netlab.UDPDown} {
		capacity, _, err := netlab.UDPCapacity(ctx, w.Client, w.Internet, world.Web4, netlab.UDPOptions{Dir: dir, Mbps: udpRampStart, Duration: udpRampStep})
		if err != nil {
			return out, err
		}
		r, err := netlab.UDP(ctx, w.Client, w.Internet, world.Web4, netlab.UDPOptions{Dir: dir, Mbps: capacity / 2, Duration: udpHalfFor})
		if err != nil {
			return out, err
		}
		fmt.Printf("  udp %s: capacity %.1f Mbit/s; at half of it: %v\n", dir, capacity, r)
		if st, err := cl.Status(ctx); err == nil {
			for _, f := range st.UDPFlows {
				if f.Destination == r.Server.String() {
					fmt.Printf("  udp %s: pexiad's flow sent %d into the circuit, dropped %d, received %d, dropped %d down\n", dir, f.Sent, f.DroppedUp, f.Received, f.DroppedDown)
				}
			}
		}
		out.pct = max(out.pct, r.LossPct())
		if dir == netlab.UDPUp {
			out.capUp = capacity
		}
	}
	return out, nil
}

// tunnelTCPShare measures a TCP download alone, then during a UDP flood
// from the client host at twice the circuit's upload capacity, and
// returns the second over the first, as the e2e test TestUDPFlood does.
// The download starts once the flood's flow drops datagrams.
func tunnelTCPShare(ctx context.Context, w *world.World, cl *api.Client, capUp float64) (float64, error) {
	alone, err := netlab.Download(ctx, w.Client, w.Internet, world.Web4, tcpShareFor)
	if err != nil {
		return 0, err
	}
	flood, err := netlab.StartUDP(ctx, w.Client, w.Internet, world.Web4, netlab.UDPOptions{Dir: netlab.UDPUp, Mbps: 2 * capUp, Duration: floodFor})
	if err != nil {
		return 0, err
	}
	dst := flood.Server().String()
	var during float64
	_, err = tunnelWait(ctx, cl, 30*time.Second, func(st api.Status) bool {
		return slices.ContainsFunc(st.UDPFlows, func(f api.UDPFlow) bool { return f.Destination == dst && f.DroppedUp > 0 })
	})
	if err == nil {
		during, err = netlab.Download(ctx, w.Client, w.Internet, world.Web4, tcpShareFor)
	}
	r, ferr := flood.Wait()
	if err = errors.Join(err, ferr); err != nil {
		return 0, err
	}
	fmt.Printf("  tcp download: %.1f Mbit/s alone, %.1f Mbit/s during a flood of %.1f Mbit/s (%v)\n", alone, during, 2*capUp, r)
	return during / alone, nil
}

// tunnelQUICBytes is the length of the HTTP/3 download through the tunnel.
const tunnelQUICBytes = 64 << 20

// tunnelQUIC downloads n bytes over HTTP/3 (h3get, quic-go's client) from
// the internet host to the client host, checks their SHA-256 and that
// they came in through pexiad's TUN, and returns the rate in Mbit/s from
// the request (QUIC handshake included) to the last byte.
func tunnelQUIC(ctx context.Context, w *world.World, n int64) (float64, error) {
	rx0, err := rxBytes(w.Client, pexiadTUN)
	if err != nil {
		return 0, err
	}
	r, err := w.H3Download(ctx, w.Client, fmt.Sprintf("https://%s/bytes/%d", world.Web4, n))
	if err != nil {
		return 0, err
	}
	if want := netlab.BytesSHA256(n); r.Bytes != n || r.SHA256 != hex.EncodeToString(want[:]) {
		return 0, fmt.Errorf("%d bytes with SHA-256 %s, want %d bytes with %x", r.Bytes, r.SHA256, n, want)
	}
	rx1, err := rxBytes(w.Client, pexiadTUN)
	if err != nil {
		return 0, err
	}
	if rx1-rx0 < uint64(n) {
		return 0, fmt.Errorf("only %d bytes came in through %s for a %d-byte download: it bypassed the tunnel", rx1-rx0, pexiadTUN, n)
	}
	return r.Mbps(), nil
}

// rxBytes reads the bytes iface in host h has received: for a TUN, what
// the program behind it wrote to the host.
func rxBytes(h *netlab.Host, iface string) (uint64, error) {
	var n uint64
	err := h.Do(func() error {
		link, err := netlink.LinkByName(iface)
		if err != nil {
			return err
		}
		if st := link.Attrs().Statistics; st != nil {
			n = st.RxBytes
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("%s statistics in %s: %w", iface, h.Name(), err)
	}
	return n, nil
}

// tunnelPing runs ping(8) from h to dst n times, 0.2 s apart, and returns
// its summary; a lost reply fails it.
func tunnelPing(ctx context.Context, h *netlab.Host, dst netip.Addr, n int) (world.PingResult, error) {
	args := []string{"-c", strconv.Itoa(n), "-i", "0.2", "-W", "5", "-n", dst.String()}
	if dst.Is6() {
		args = append([]string{"-6"}, args...)
	}
	out, err := h.Command(ctx, "ping", args...).CombinedOutput()
	r, perr := world.ParsePing(string(out))
	if err != nil || perr != nil || r.Received != n || r.Avg <= 0 {
		return r, fmt.Errorf("ping %s: %v %v: %s", strings.Join(args, " "), err, perr, out)
	}
	return r, nil
}

// tunnelBulk measures one bulk transfer from the client host to the web
// address and checks that it left the client through iface.
func tunnelBulk(ctx context.Context, w *world.World, iface string, d time.Duration) (float64, error) {
	return carried(w.Client, iface, d, func() (float64, error) {
		return netlab.Bulk(ctx, w.Client, w.Internet, world.Web4, d)
	})
}

// tunnelConnect asks a disconnected pexiad for a circuit of hops and
// returns how long it took to be connected.
func tunnelConnect(ctx context.Context, cl *api.Client, hops int) (time.Duration, error) {
	t0 := time.Now()
	if _, err := cl.Connect(ctx, api.ConnectRequest{Hops: hops}); err != nil {
		return 0, err
	}
	st, err := tunnelWait(ctx, cl, 2*time.Minute, func(st api.Status) bool {
		return st.State == api.StateConnected || st.State == api.StateError
	})
	if err != nil {
		return 0, fmt.Errorf("connect: %w", err)
	}
	el := time.Since(t0)
	if st.State != api.StateConnected {
		return 0, fmt.Errorf("connect: %s %s", st.State, st.Error)
	}
	c, err := cl.Circuit(ctx)
	if err != nil {
		return 0, err
	}
	if len(c.Hops) != hops {
		return 0, fmt.Errorf("connect: a circuit of %d hops, asked for %d", len(c.Hops), hops)
	}
	return el, nil
}

// tunnelDisconnect disconnects and waits until pexiad says so.
func tunnelDisconnect(ctx context.Context, cl *api.Client) error {
	if _, err := cl.Disconnect(ctx); err != nil {
		return err
	}
	if _, err := tunnelWait(ctx, cl, 30*time.Second, func(st api.Status) bool { return st.State == api.StateDisconnected }); err != nil {
		return fmt.Errorf("disconnect: %w", err)
	}
	return nil
}

// tunnelWait polls pexiad's status until done accepts it or limit passes.
func tunnelWait(ctx context.Context, cl *api.Client, limit time.Duration, done func(api.Status) bool) (api.Status, error) {
	deadline := time.Now().Add(limit)
	for {
		st, err := cl.Status(ctx)
		if err != nil {
			return st, err
		}
		if done(st) {
			return st, nil
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("still %s (%s) after %v", st.State, st.Error, limit)
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// rssWithFlows opens n TCP connections from the client host through the
// tunnel to a listener in the internet host, waits until the listener has
// accepted every one (each has crossed the circuit and the exit has
// connected it), and reads pexiad's resident memory.
func rssWithFlows(ctx context.Context, w *world.World, d *world.Daemon, n int) (residentMB, error) {
	ln, err := w.Internet.Listen("tcp", ":0")
	if err != nil {
		return residentMB{}, err
	}
	accepted := make(chan net.Conn, n)
	served := make(chan struct{})
	go func() {
		defer close(served)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	var conns []net.Conn
	defer func() {
		ln.Close()
		<-served
		close(accepted)
		for c := range accepted {
			conns = append(conns, c)
		}
		for _, c := range conns {
			c.Close()
		}
	}()
	dst := netip.AddrPortFrom(world.Web4, uint16(ln.Addr().(*net.TCPAddr).Port)).String()
	dialer := w.Client.Dialer()
	for i := 0; i < n; i++ {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		c, err := dialer.DialContext(cctx, "tcp", dst)
		cancel()
		if err != nil {
			return residentMB{}, fmt.Errorf("flow %d: %w", i, err)
		}
		conns = append(conns, c)
	}
	// The client's side of a flow is up as soon as pexiad's stack accepts
	// it; the internet host's side only once the exit has connected it.
	deadline := time.NewTimer(time.Minute)
	defer deadline.Stop()
	for got := 0; got < n; got++ {
		select {
		case c := <-accepted:
			conns = append(conns, c)
		case <-deadline.C:
			return residentMB{}, fmt.Errorf("only %d of %d flows reached the internet host within a minute", got, n)
		case <-ctx.Done():
			return residentMB{}, ctx.Err()
		}
	}
	return rssMB(d.Cmd.Process.Pid)
}

// residentMB is a process's resident set in MB: all of it, and its
// anonymous part (heap, stacks; not the mapped executable).
type residentMB struct{ total, anon float64 }

// rssMB reads the resident set of pid, or of its only child when pid is
// the "ip netns exec" wrapper that execs it (then they are the same).
func rssMB(pid int) (residentMB, error) {
	var r residentMB
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return r, err
	}
	seen := 0
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 || (f[0] != "VmRSS:" && f[0] != "RssAnon:") {
			continue
		}
		kb, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return r, err
		}
		if f[0] == "VmRSS:" {
			r.total = kb / 1024
		} else {
			r.anon = kb / 1024
		}
		seen++
	}
	if seen != 2 {
		return r, fmt.Errorf("no VmRSS and RssAnon for pid %d", pid)
	}
	return r, nil
}
