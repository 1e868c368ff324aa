package main

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

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
	return nil
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
