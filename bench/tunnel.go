package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/netlab"
	"github.com/pexia-network/pexia/internal/world"
)

// tunnelSuite measures the whole client: pexiad with its TUN device in the
// client namespace of a world (chain, staked nodes, internet host), with
// the same bulk and ping-pong method as the veth and wireguard-go
// baselines, between the same kind of hosts.
func tunnelSuite(res Results) error {
	if os.Geteuid() != 0 {
		fmt.Println("tunnel: skipped (needs root: network namespaces and a TUN device)")
		return nil
	}
	dir, err := os.MkdirTemp("", "pexia-bench-tunnel")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if err := world.Build(ctx, ".", dir); err != nil {
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
	d, err := w.StartDaemon(ctx, "")
	if err != nil {
		return err
	}
	cl := api.NewClient(d.Socket)
	set, err := cl.Settings(ctx)
	if err != nil {
		return err
	}
	set.AllowLAN = false
	if _, err := cl.SetSettings(ctx, set); err != nil {
		return err
	}

	connect := func(hops int) (time.Duration, error) {
		t0 := time.Now()
		if _, err := cl.Connect(ctx, api.ConnectRequest{Hops: hops}); err != nil {
			return 0, err
		}
		for {
			st, err := cl.Status(ctx)
			if err != nil {
				return 0, err
			}
			if st.State == api.StateConnected {
				return time.Since(t0), nil
			}
			if st.State == api.StateError || time.Since(t0) > 2*time.Minute {
				return 0, fmt.Errorf("connect: %s %s", st.State, st.Error)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// The first connect also funds the lottery account; time the second.
	if _, err := connect(1); err != nil {
		return err
	}
	if _, err := cl.Disconnect(ctx); err != nil {
		return err
	}
	connectTime, err := connect(1)
	if err != nil {
		return err
	}
	res.set("tunnel.connect_ms", float64(connectTime.Microseconds())/1000, "ms")

	const dur = 5 * time.Second
	mbps1, err := netlab.Bulk(ctx, w.Client, w.Internet, world.Web4, dur)
	if err != nil {
		return fmt.Errorf("1-hop bulk: %w", err)
	}
	res.set("tunnel.throughput_1hop_mbps", mbps1, "Mbit/s")
	rtt, err := netlab.PingPong(ctx, w.Client, w.Internet, world.Web4, 1000)
	if err != nil {
		return fmt.Errorf("1-hop ping-pong: %w", err)
	}
	res.set("tunnel.rtt_1hop_us", float64(rtt.Nanoseconds())/1000, "µs")

	rss, err := rssWithFlows(ctx, w, d, 1000)
	if err != nil {
		return fmt.Errorf("1000 flows: %w", err)
	}
	res.set("daemon.rss_mb_1000_flows", rss, "MB")

	if _, err := connect(3); err != nil {
		return err
	}
	mbps3, err := netlab.Bulk(ctx, w.Client, w.Internet, world.Web4, dur)
	if err != nil {
		return fmt.Errorf("3-hop bulk: %w", err)
	}
	res.set("tunnel.throughput_3hop_mbps", mbps3, "Mbit/s")
	cl.Disconnect(ctx)

	if wg, ok := res["baseline.wireguard_go_mbps"]; ok && wg.Value > 0 {
		res.set("ratio.tunnel_1hop_vs_wireguard_go", mbps1/wg.Value, "x")
	}
	if dc, ok := res["datachannel.raw_mbps"]; ok && dc.Value > 0 {
		res.set("ratio.tunnel_1hop_vs_datachannel", mbps1/dc.Value, "x")
	}
	return nil
}

// rssWithFlows opens n TCP connections from the client host through the
// tunnel, keeps them open, and reads pexiad's resident memory.
func rssWithFlows(ctx context.Context, w *world.World, d *world.Daemon, n int) (float64, error) {
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	dialer := w.Client.Dialer()
	for i := 0; i < n; i++ {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		c, err := dialer.DialContext(cctx, "tcp", net.JoinHostPort(world.Web4.String(), "80"))
		cancel()
		if err != nil {
			return 0, fmt.Errorf("flow %d: %w", i, err)
		}
		conns = append(conns, c)
	}
	// Let every flow reach the exit.
	time.Sleep(2 * time.Second)
	return rssMB(d.Cmd.Process.Pid)
}

// rssMB reads the resident set of pid, or of its only child when pid is
// the "ip netns exec" wrapper that execs it (then they are the same).
func rssMB(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return 0, err
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}
