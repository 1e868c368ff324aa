// Command demo runs `make demo` as root: the whole product on one machine,
// in network namespaces. A go-ethereum devnet with the contracts, relays
// and exits registered and staked on it, an "internet" host with a web
// site and a DNS server on public-looking addresses, and a client host
// whose entire traffic goes through pexiad's TUN device over a paid 3-hop
// circuit. It fetches pages with curl through the tunnel, shows what the
// CLI reports, and what the nodes earned on chain.
//
//	go run ./scripts/demo -bin bin -dir .devnet/world [-oneshot]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/world"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	bin := flag.String("bin", "bin", "directory with the built binaries")
	dir := flag.String("dir", ".devnet/world", "state of the chain, nodes and daemon (wiped at start)")
	oneshot := flag.Bool("oneshot", false, "stop after the fetches instead of running until Ctrl-C")
	hops := flag.Int("hops", 3, "circuit length")
	flag.Parse()
	binAbs, err := filepath.Abs(*bin)
	if err != nil {
		return err
	}
	dirAbs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	os.RemoveAll(dirAbs)
	ctx := context.Background()
	step := func(f string, a ...any) { fmt.Printf("\n== "+f+"\n", a...) }

	step("starting the world: chain, 2 relays, 2 exits, internet host (namespaces)")
	w, err := world.Start(ctx, world.Options{Bin: binAbs, Dir: dirAbs, Prefix: "pxdemo",
		Logf: func(f string, a ...any) { fmt.Printf(f+"\n", a...) }})
	if err != nil {
		return err
	}
	defer w.Close()
	if err := w.SetClientResolver(w.Internet.Addr4()); err != nil {
		return err
	}
	step("starting pexiad in the client host %s", w.Client.Namespace())
	d, err := w.StartDaemon(ctx, "")
	if err != nil {
		return err
	}
	cli := func(args ...string) {
		out, err := d.CLI(ctx, args...)
		fmt.Print(out)
		if err != nil {
			fmt.Println(err)
		}
	}
	cl := api.NewClient(d.Socket)
	set, err := cl.Settings(ctx)
	if err != nil {
		return err
	}
	set.KillSwitch = true
	if _, err := cl.SetSettings(ctx, set); err != nil {
		return err
	}
	step("pexia connect -hops %d (kill switch on)", *hops)
	t0 := time.Now()
	cli("connect", "-hops", fmt.Sprint(*hops), "-wait")
	fmt.Printf("connected in %v\n", time.Since(t0).Round(time.Millisecond))
	cli("status")
	step("pexia circuit")
	cli("circuit")

	curl := func(args ...string) error {
		cmd := w.Client.Command(ctx, "curl", append([]string{"-sS", "--fail", "--max-time", "120"}, args...)...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		return cmd.Run()
	}
	step("curl http://%s/ip from the client host: the site sees the exit's address", world.WebName)
	if err := curl("-w", "\n", "http://"+world.WebName+"/ip"); err != nil {
		return err
	}
	step("curl -6 http://[%s]/ip", world.Web6)
	if err := curl("-w", "\n", "http://["+world.Web6.String()+"]/ip"); err != nil {
		return err
	}
	step("downloading 64 MiB through the tunnel")
	if err := curl("-o", "/dev/null", "-w", "%{size_download} bytes at %{speed_download} bytes/s\n", "http://"+world.Web4.String()+"/bytes/67108864"); err != nil {
		return err
	}
	step("pexia status / budget / wallet")
	cli("status")
	cli("budget")
	cli("wallet")

	step("waiting for the nodes to claim their winning tickets on chain")
	// Each node claims a winner within its redeem.max_wait (5 s) and the
	// chain mines a block a second; the nodes' metrics say when they are
	// done.
	if _, err := w.WaitClaimed(ctx, time.Minute); err != nil {
		fmt.Println("not every winner is claimed yet:", err)
	}
	hosts := append(append(w.Relays[:0:0], w.Relays...), w.Exits...)
	for i, h := range hosts {
		out, _ := w.Run(ctx, h, "pexia-node", "-network", w.NetworkFile, "-datadir", filepath.Join(dirAbs, fmt.Sprintf("node%d", i)),
			"-key", fmt.Sprintf("devnet:node%d", i), "earnings")
		fmt.Printf("%s: %s", h.Name(), out)
	}

	if *oneshot {
		step("pexia disconnect")
		cli("disconnect")
		return nil
	}
	step("running until Ctrl-C. Try:")
	fmt.Printf("  ip netns exec %s curl http://%s/ip\n", w.Client.Namespace(), world.WebName)
	fmt.Printf("  %s -socket %s status | circuit | budget | events\n", filepath.Join(binAbs, "pexia"), d.Socket)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	fmt.Println(strings.Repeat("-", 20), "stopping")
	return nil
}
