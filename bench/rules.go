package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/world"

	"github.com/pexia-network/pexia/rules"
	"github.com/pexia-network/pexia/rules/owner"
)

// rulesSuite measures what the split-tunnel decision costs a new flow:
// finding its owner (sock_diag and /proc, rules/owner) plus matching the
// rules (a set of 32 rules on apps, domains, prefixes and ports, decided
// by the last rule). Each of 7 rounds opens a burst of 200 new TCP
// connections from this process to a loopback listener, as a browser
// does, and times the lookup and the match of each; a round's value is
// its median flow, the metric the median of the rounds.
func rulesSuite(res Results) error {
	tab, err := owner.New()
	if err != nil {
		return err
	}
	defer tab.Close()
	e, err := rules.NewEngine(benchRuleSet())
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	dst := netip.MustParseAddrPort(ln.Addr().String())
	names := benchNames{}
	const flows = 200
	var rounds []float64
	for round := range 8 {
		conns := make([]net.Conn, 0, flows)
		per := make([]float64, 0, flows)
		for range flows {
			c, err := net.Dial("tcp", dst.String())
			if err != nil {
				return err
			}
			conns = append(conns, c)
			src := netip.MustParseAddrPort(c.LocalAddr().String())
			t0 := time.Now()
			o, err := tab.Owner(rules.TCP, src, dst)
			if err != nil {
				return fmt.Errorf("owner of %s: %w", src, err)
			}
			d := e.Classify(&rules.Flow{Proto: rules.TCP, Src: src, Dst: dst, Owner: o}, names)
			per = append(per, float64(time.Since(t0).Nanoseconds()))
			if d.Rule != 32 {
				return fmt.Errorf("flow of %s decided by %v, want rule 32", o, d)
			}
		}
		for _, c := range conns {
			c.Close()
		}
		if round > 0 { // the first round warms the caches
			slices.Sort(per)
			rounds = append(rounds, per[len(per)/2])
		}
	}
	res.setRounds("rules.classify_ns", rounds, "ns")
	return rulesFlows(res)
}

// flowRounds is how many all-at-once bursts rules.flows_per_s takes the
// median of.
const flowRounds = 5

// rulesFlows measures rules.flows_per_s: how many new flows per second
// pexiad classifies (owner lookup, rules, per-app counting) and opens
// through a 1-hop circuit, from the client host of a namespace world
// through its TUN. First a browser-like burst, 200 connections spread
// over 1 s, must complete every one (else the suite fails); then each
// round opens 200 at once, each one HTTP request on its own connection,
// and counts completed connections over the time to the last answer.
// The metric is the median round.
func rulesFlows(res Results) error {
	if geteuid() != 0 {
		return errors.New("rules.flows_per_s needs root (network namespaces and a TUN device)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "pexia-bench-rules")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := world.Build(ctx, ".", dir); err != nil {
		return err
	}
	w, err := world.Start(ctx, world.Options{Bin: dir, Dir: filepath.Join(dir, "world"), Prefix: "pxr", Relays: 1, Exits: 1})
	if err != nil {
		return err
	}
	defer w.Close()
	d, err := w.StartDaemon(ctx, "")
	if err != nil {
		return err
	}
	cl := api.NewClient(d.Socket)
	defer cl.Close()
	if _, err := tunnelConnect(ctx, cl, 1); err != nil {
		return err
	}
	url := fmt.Sprintf("http://%s/ip", world.Web4)
	dial := w.Client.Dialer().DialContext
	const n = 200
	b := world.Burst(ctx, dial, url, n, time.Second)
	if b.Failed > 0 {
		return fmt.Errorf("browser-like burst: %d of %d connections in 1 s failed; first: %w", b.Failed, n, b.FirstErr)
	}
	var rounds []float64
	for range flowRounds {
		b := world.Burst(ctx, dial, url, n, 0)
		if b.Failed > 0 {
			return fmt.Errorf("burst of %d at once: %d failed; first: %w", n, b.Failed, b.FirstErr)
		}
		rounds = append(rounds, b.FlowsPerS)
	}
	res.setRounds("rules.flows_per_s", rounds, "flows/s")
	return tunnelDisconnect(ctx, cl)
}

// benchRuleSet is 31 rules a loopback flow of this process does not
// match and, last, one it does.
func benchRuleSet() rules.Set {
	s := rules.DefaultSet()
	s.Profiles = []rules.Profile{{Name: "far", Hops: 3, ExitCountries: []string{"DE"}}}
	for i := range 10 {
		s.Rules = append(s.Rules,
			rules.Rule{Match: rules.Match{Exe: []string{fmt.Sprintf("/usr/bin/app%d", i)}}, Target: rules.Target{Action: rules.Direct}},
			rules.Rule{Match: rules.Match{Domain: []string{fmt.Sprintf(".site%d.example", i)}}, Target: rules.Target{Action: rules.Tunnel, Profile: "far"}},
			rules.Rule{Match: rules.Match{Dst: []string{fmt.Sprintf("10.%d.0.0/16", i)}, Port: []string{"443"}}, Target: rules.Target{Action: rules.Block}})
	}
	s.Rules = append(s.Rules, rules.Rule{Match: rules.Match{Desktop: []string{"org.example.App"}}, Target: rules.Target{Action: rules.Direct}},
		rules.Rule{Match: rules.Match{Dst: []string{"127.0.0.0/8"}, Proto: []string{"tcp"}}, Target: rules.Target{Action: rules.Direct}})
	return s
}

// benchNames knows one name for one address, as the netstack's table
// would after a DNS answer.
type benchNames struct{}

func (benchNames) Lookup(a netip.Addr) []string {
	if a == netip.MustParseAddr("127.0.0.1") {
		return []string{"localhost"}
	}
	return nil
}
