package tun

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Install puts the kill switch with policy p in place, or replaces the one
// already there. Creating, deleting and re-creating the table travel in one
// netlink batch, which the kernel commits as a single transaction: packets
// see either the old rule set or the new one, never neither.
func (k KillSwitch) Install(p Policy) error {
	if p.Iface != "" {
		if err := validIfname(p.Iface); err != nil {
			return fmt.Errorf("kill switch: %w", err)
		}
	}
	j := killSwitchJournal{NetNS: k.NetNS, Table: KillSwitchTable}
	if err := writeJournal(k.StateDir, journalKillSwitch, j); err != nil {
		return fmt.Errorf("kill switch: %w", err)
	}
	var lan []netip.Prefix
	if p.AllowLAN {
		var err error
		if lan, err = lanPrefixes(k.NetNS, p); err != nil {
			return fmt.Errorf("kill switch: %w", err)
		}
	}
	c, done, err := nftConn(k.NetNS)
	if err != nil {
		return fmt.Errorf("kill switch: %w", err)
	}
	defer done()
	// One transaction that keeps the table and its base chains (adding
	// them if missing) and swaps their rules: the chains' hooks stay
	// registered throughout, and the old rules give way to the new ones at
	// one generation change, so no packet ever meets neither. Deleting and
	// re-adding the table instead re-registers the hooks, and a packet can
	// slip through while that happens.
	t := ksTable()
	c.AddTable(t)
	for _, ch := range ksChains(t) {
		c.AddChain(ch.chain)
		c.FlushChain(ch.chain)
		for _, exprs := range ch.rules(p, lan) {
			c.AddRule(&nftables.Rule{Table: t, Chain: ch.chain, Exprs: exprs})
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("kill switch: install: %w", err)
	}
	return nil
}

// Remove deletes the kill-switch table, if there is one, and its journal.
func (k KillSwitch) Remove() error {
	if err := removeKillSwitch(k.NetNS); err != nil {
		return fmt.Errorf("kill switch: %w", err)
	}
	if err := removeJournal(k.StateDir, journalKillSwitch); err != nil {
		return fmt.Errorf("kill switch: %w", err)
	}
	return nil
}

// Installed reports whether the kill-switch table exists, whoever installed
// it.
func (k KillSwitch) Installed() (bool, error) {
	ok, err := killSwitchPresent(k.NetNS)
	if err != nil {
		return false, fmt.Errorf("kill switch: %w", err)
	}
	return ok, nil
}

// Dropped returns how many packets the kill switch has dropped since it was
// last installed, across all three chains.
func (k KillSwitch) Dropped() (uint64, error) {
	c, done, err := nftConn(k.NetNS)
	if err != nil {
		return 0, fmt.Errorf("kill switch: %w", err)
	}
	defer done()
	t := ksTable()
	var n uint64
	for _, ch := range ksChains(t) {
		rules, err := c.GetRules(t, ch.chain)
		if err != nil {
			return 0, fmt.Errorf("kill switch: read %s: %w", ch.chain.Name, err)
		}
		for _, r := range rules {
			for _, e := range r.Exprs {
				if ctr, ok := e.(*expr.Counter); ok {
					n += ctr.Packets
				}
			}
		}
	}
	return n, nil
}

func removeKillSwitch(netNS string) error {
	ok, err := killSwitchPresent(netNS)
	if err != nil || !ok {
		return err
	}
	c, done, err := nftConn(netNS)
	if err != nil {
		return err
	}
	defer done()
	c.DelTable(ksTable())
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove table: %w", err)
	}
	return nil
}

func killSwitchPresent(netNS string) (bool, error) {
	c, done, err := nftConn(netNS)
	if err != nil {
		return false, err
	}
	defer done()
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return false, fmt.Errorf("list tables: %w", err)
	}
	for _, t := range tables {
		if t.Name == KillSwitchTable {
			return true, nil
		}
	}
	return false, nil
}

// nftConn opens an nftables connection inside the namespace at path.
func nftConn(path string) (*nftables.Conn, func(), error) {
	ns, err := openNetNS(path)
	if err != nil {
		return nil, nil, err
	}
	var copts []nftables.ConnOption
	if path != "" {
		copts = append(copts, nftables.WithNetNSFd(int(ns)))
	}
	c, err := nftables.New(copts...)
	if err != nil {
		ns.Close()
		return nil, nil, fmt.Errorf("nftables: %w", err)
	}
	return c, func() { ns.Close() }, nil
}

func ksTable() *nftables.Table {
	return &nftables.Table{Name: KillSwitchTable, Family: nftables.TableFamilyINet}
}

type ksChain struct {
	chain *nftables.Chain
	rules func(p Policy, lan []netip.Prefix) [][]expr.Any
}

func ksChains(t *nftables.Table) []ksChain {
	drop := nftables.ChainPolicyDrop
	mk := func(name string, hook *nftables.ChainHook) *nftables.Chain {
		return &nftables.Chain{Name: name, Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: hook, Priority: nftables.ChainPriorityFilter, Policy: &drop}
	}
	return []ksChain{
		{mk("output", nftables.ChainHookOutput), outputRules},
		{mk("input", nftables.ChainHookInput), inputRules},
		{mk("forward", nftables.ChainHookForward), forwardRules},
	}
}

func outputRules(p Policy, lan []netip.Prefix) [][]expr.Any {
	rs := [][]expr.Any{ifaceIs(expr.MetaKeyOIFNAME, "lo", accept())}
	if p.Iface != "" {
		rs = append(rs, ifaceIs(expr.MetaKeyOIFNAME, p.Iface, accept()))
	}
	if p.Mark != 0 {
		rs = append(rs, markIs(p.Mark, accept()))
	}
	// No clear-text DNS outside the tunnel, not even to the LAN resolver.
	rs = append(rs, dnsDrops()...)
	rs = append(rs,
		portIs(unix.NFPROTO_IPV4, unix.IPPROTO_UDP, 68, 67, accept()),
		portIs(unix.NFPROTO_IPV6, unix.IPPROTO_UDP, 546, 547, accept()),
	)
	for _, typ := range []byte{icmp6RouterSolicit, icmp6NeighSolicit, icmp6NeighAdvert, icmp6MLDv2Report} {
		rs = append(rs, icmp6Is(typ, accept()))
	}
	if p.AllowLAN {
		rs = append(rs, lanRules(lan, true)...)
	}
	return append(rs, countDrop())
}

func inputRules(p Policy, lan []netip.Prefix) [][]expr.Any {
	rs := [][]expr.Any{ifaceIs(expr.MetaKeyIIFNAME, "lo", accept())}
	if p.Iface != "" {
		rs = append(rs, ifaceIs(expr.MetaKeyIIFNAME, p.Iface, accept()))
	}
	rs = append(rs,
		ctEstablished(accept()),
		portIs(unix.NFPROTO_IPV4, unix.IPPROTO_UDP, 67, 68, accept()),
		portIs(unix.NFPROTO_IPV6, unix.IPPROTO_UDP, 547, 546, accept()),
	)
	for _, typ := range []byte{icmp6MLDQuery, icmp6RouterAdvert, icmp6NeighSolicit, icmp6NeighAdvert, icmp6Redirect} {
		rs = append(rs, icmp6Is(typ, accept()))
	}
	if p.AllowLAN {
		rs = append(rs, lanRules(lan, false)...)
	}
	return append(rs, countDrop())
}

func forwardRules(p Policy, lan []netip.Prefix) [][]expr.Any {
	var rs [][]expr.Any
	if p.Iface != "" {
		rs = append(rs, ifaceIs(expr.MetaKeyOIFNAME, p.Iface, accept()))
	}
	// Containers and VMs behind this host get the same DNS treatment as
	// the host itself. The drops come before the conntrack rule, so a
	// query flow that predates the kill switch is cut too.
	rs = append(rs, dnsDrops()...)
	rs = append(rs, ctEstablished(accept()))
	if p.AllowLAN {
		rs = append(rs, lanRules(lan, true)...)
	}
	return append(rs, countDrop())
}

// dnsDrops count and drop DNS (53/udp, 53/tcp), DNS over TLS (853/tcp)
// and DNS over QUIC (853/udp) to any destination.
func dnsDrops() [][]expr.Any {
	return [][]expr.Any{
		portIs(0, unix.IPPROTO_UDP, 0, 53, countDrop()...),
		portIs(0, unix.IPPROTO_TCP, 0, 53, countDrop()...),
		portIs(0, unix.IPPROTO_TCP, 0, 853, countDrop()...),
		portIs(0, unix.IPPROTO_UDP, 0, 853, countDrop()...),
	}
}

// lanRules accepts destinations (dst) or sources (!dst) in lan.
func lanRules(lan []netip.Prefix, dst bool) [][]expr.Any {
	var rs [][]expr.Any
	for _, p := range lan {
		rs = append(rs, addrIn(p, dst, accept()))
	}
	return rs
}

// Expression builders. Register 1 holds the value under test.

func accept() expr.Any { return &expr.Verdict{Kind: expr.VerdictAccept} }

func countDrop() []expr.Any {
	return []expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop}}
}

func ifaceIs(key expr.MetaKey, name string, then ...expr.Any) []expr.Any {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return append([]expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: b},
	}, then...)
}

func markIs(mark uint32, then ...expr.Any) []expr.Any {
	return append([]expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(mark)},
	}, then...)
}

func ctEstablished(then ...expr.Any) []expr.Any {
	return append([]expr.Any{
		&expr.Ct{Key: expr.CtKeySTATE, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED),
			Xor:  binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
	}, then...)
}

// portIs matches l4 protocol proto with the given source port (0: any) and
// destination port, optionally restricted to one nfproto family (0: both).
func portIs(family byte, proto byte, sport, dport uint16, then ...expr.Any) []expr.Any {
	var es []expr.Any
	if family != 0 {
		es = append(es,
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{family}})
	}
	es = append(es,
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}})
	if sport != 0 {
		es = append(es,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, sport)})
	}
	es = append(es,
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, dport)})
	return append(es, then...)
}

func icmp6Is(typ byte, then ...expr.Any) []expr.Any {
	return append([]expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV6}},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_ICMPV6}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{typ}},
	}, then...)
}

// addrIn matches the destination (dst) or source address against prefix p.
func addrIn(p netip.Prefix, dst bool, then ...expr.Any) []expr.Any {
	fam, off, n := byte(unix.NFPROTO_IPV4), uint32(12), uint32(4)
	if p.Addr().Is6() {
		fam, off, n = unix.NFPROTO_IPV6, 8, 16
	}
	if dst {
		off += n
	}
	p = p.Masked()
	mask := []byte(netMask(p.Bits(), int(n)*8))
	return append([]expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{fam}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: n, Mask: mask, Xor: make([]byte, n)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.Addr().AsSlice()},
	}, then...)
}

func netMask(ones, bits int) []byte {
	m := make([]byte, bits/8)
	for i := range m {
		switch {
		case ones >= 8:
			m[i] = 0xff
			ones -= 8
		case ones > 0:
			m[i] = byte(0xff << (8 - ones))
			ones = 0
		}
	}
	return m
}
