package tun

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Install creates the cgroup, if missing, and puts the marking table in
// place (replacing one already there) in one nftables transaction.
func (e Exclusion) Install() error {
	e = e.normalize()
	dir, level, err := e.dir()
	if err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("exclude: create cgroup: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return fmt.Errorf("exclude: cgroup: %w", err)
	}
	c, done, err := nftConn(e.NetNS)
	if err != nil {
		return fmt.Errorf("exclude: %w", err)
	}
	defer done()
	t := &nftables.Table{Name: ExcludeTable, Family: nftables.TableFamilyINet}
	c.AddTable(t)
	for _, ch := range excludeChains(t, uint32(level), st.Ino, e.Mark) {
		c.AddChain(ch.chain)
		c.FlushChain(ch.chain)
		c.AddRule(&nftables.Rule{Table: t, Chain: ch.chain, Exprs: ch.rule})
	}
	// The DNS chain is there with or without SystemDNS (empty without),
	// so that an Install without it takes back an earlier one's rules.
	dns, rules := excludeDNSChain(t, uint32(level), st.Ino, e.SystemDNS)
	c.AddChain(dns)
	c.FlushChain(dns)
	for _, r := range rules {
		c.AddRule(&nftables.Rule{Table: t, Chain: dns, Exprs: r})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("exclude: install table: %w", err)
	}
	return nil
}

type exChain struct {
	chain *nftables.Chain
	rule  []expr.Any
}

// excludeChains are the table's three chains, one rule each:
//
//	output (route, mangle):     socket cgroupv2 level L == ID: count,
//	                            meta mark set MARK, ct mark set MARK
//	postrouting (nat, srcnat):  ct mark MARK: masquerade
//	prerouting (filter, mangle): ct mark MARK: meta mark set MARK
//
// The socket chose its source address when the route still pointed into
// the TUN, so the flow's first packet leaves with the TUN's address: the
// masquerade gives the flow the address of the interface it really
// leaves by (for the daemon's own marked sockets it changes nothing: they
// never carry the conntrack mark). Replies get the mark back, so a strict
// reverse-path filter (with src_valid_mark) finds their way in.
func excludeChains(t *nftables.Table, level uint32, id uint64, mark uint32) []exChain {
	accept := nftables.ChainPolicyAccept
	mk := func(name string, typ nftables.ChainType, hook *nftables.ChainHook, prio *nftables.ChainPriority) *nftables.Chain {
		return &nftables.Chain{Name: name, Table: t, Type: typ, Hooknum: hook, Priority: prio, Policy: &accept}
	}
	m := binaryutil.NativeEndian.PutUint32(mark)
	ctMarkIs := []expr.Any{
		&expr.Ct{Key: expr.CtKeyMARK, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: m},
	}
	return []exChain{
		{mk("output", nftables.ChainTypeRoute, nftables.ChainHookOutput, nftables.ChainPriorityMangle), []expr.Any{
			&expr.Socket{Key: expr.SocketKeyCgroupv2, Level: level, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint64(id)},
			&expr.Counter{},
			&expr.Immediate{Register: 1, Data: m},
			&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1},
			&expr.Ct{Key: expr.CtKeyMARK, SourceRegister: true, Register: 1},
		}},
		{mk("postrouting", nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource),
			append(ctMarkIs, &expr.Masq{})},
		{mk("prerouting", nftables.ChainTypeFilter, nftables.ChainHookPrerouting, nftables.ChainPriorityMangle),
			append(append([]expr.Any{}, ctMarkIs...),
				&expr.Immediate{Register: 1, Data: m},
				&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1})},
	}
}

// excludeDNSChain is the table's chain of type nat at the output hook
// (after the marking), with, for the first of servers in each address
// family, two rules:
//
//	socket cgroupv2 level L == ID, daddr DNS4 (DNS6), udp (tcp) dport 53:
//	count, dnat to SERVER:53
//
// The query's packets carry the bypass mark already, so the kernel routes
// them again after the new destination, around the TUN, and the
// postrouting chain gives them the outer interface's address.
func excludeDNSChain(t *nftables.Table, level uint32, id uint64, servers []netip.Addr) (*nftables.Chain, [][]expr.Any) {
	accept := nftables.ChainPolicyAccept
	ch := &nftables.Chain{Name: "dns", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest, Policy: &accept}
	var rules [][]expr.Any
	done := map[bool]bool{}
	for _, srv := range servers {
		srv = srv.Unmap()
		if !srv.IsValid() || done[srv.Is4()] {
			continue
		}
		done[srv.Is4()] = true
		fam, from := byte(unix.NFPROTO_IPV4), DNS4
		if srv.Is6() {
			fam, from = unix.NFPROTO_IPV6, DNS6
		}
		for _, proto := range []byte{unix.IPPROTO_UDP, unix.IPPROTO_TCP} {
			r := []expr.Any{
				&expr.Socket{Key: expr.SocketKeyCgroupv2, Level: level, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint64(id)},
			}
			r = append(r, addrIn(netip.PrefixFrom(from, from.BitLen()), true)...)
			r = append(r, portIs(fam, proto, 0, 53)...)
			r = append(r,
				&expr.Counter{},
				&expr.Immediate{Register: 1, Data: srv.AsSlice()},
				&expr.Immediate{Register: 2, Data: binary.BigEndian.AppendUint16(nil, 53)},
				&expr.NAT{Type: expr.NATTypeDestNAT, Family: uint32(fam), RegAddrMin: 1, RegProtoMin: 2, Specified: true},
			)
			rules = append(rules, r)
		}
	}
	return ch, rules
}

// Remove deletes the marking table, if there is one, and the cgroup if it
// is empty. Programs still in it keep running, no longer excluded.
func (e Exclusion) Remove() error {
	e = e.normalize()
	if err := removeExcludeTable(e.NetNS); err != nil {
		return err
	}
	if dir, _, err := e.dir(); err == nil {
		if err := unix.Rmdir(dir); err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("exclude: remove cgroup: %w", err)
		}
	}
	return nil
}

// removeExcludeTable deletes the marking table in the network namespace
// at netNS (the daemon's own if empty), if there is one.
func removeExcludeTable(netNS string) error {
	c, done, err := nftConn(netNS)
	if err != nil {
		return fmt.Errorf("exclude: %w", err)
	}
	defer done()
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return fmt.Errorf("exclude: list tables: %w", err)
	}
	for _, t := range tables {
		if t.Name == ExcludeTable {
			c.DelTable(t)
			if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("exclude: remove table: %w", err)
			}
		}
	}
	return nil
}

// Marked returns how many packets the marking rule has marked since
// Install.
func (e Exclusion) Marked() (uint64, error) {
	c, done, err := nftConn(e.NetNS)
	if err != nil {
		return 0, fmt.Errorf("exclude: %w", err)
	}
	defer done()
	t := &nftables.Table{Name: ExcludeTable, Family: nftables.TableFamilyINet}
	rules, err := c.GetRules(t, &nftables.Chain{Name: "output", Table: t})
	if err != nil {
		return 0, fmt.Errorf("exclude: read rules: %w", err)
	}
	var n uint64
	for _, r := range rules {
		for _, x := range r.Exprs {
			if ctr, ok := x.(*expr.Counter); ok {
				n += ctr.Packets
			}
		}
	}
	return n, nil
}

// Add moves every thread of process pid into the cgroup. Its children,
// later ones included, stay there unless moved out. If the cgroup is gone,
// or was made anew since the table was installed (the rule matches it by
// its inode number), Add installs again first, so the rule matches the
// cgroup the process goes into.
func (e Exclusion) Add(pid int) error {
	e = e.normalize()
	dir, _, err := e.dir()
	if err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil || !e.matches(st.Ino) {
		if err := e.Install(); err != nil {
			return err
		}
	}
	return movePID(dir, pid)
}

// matches reports whether the marking rule is installed and matches the
// cgroup with inode number id.
func (e Exclusion) matches(id uint64) bool {
	c, done, err := nftConn(e.NetNS)
	if err != nil {
		return false
	}
	defer done()
	t := &nftables.Table{Name: ExcludeTable, Family: nftables.TableFamilyINet}
	rules, err := c.GetRules(t, &nftables.Chain{Name: "output", Table: t})
	if err != nil {
		return false
	}
	want := binaryutil.NativeEndian.PutUint64(id)
	for _, r := range rules {
		for i, x := range r.Exprs {
			if _, ok := x.(*expr.Socket); !ok || i+1 >= len(r.Exprs) {
				continue
			}
			if cmp, ok := r.Exprs[i+1].(*expr.Cmp); ok && bytes.Equal(cmp.Data, want) {
				return true
			}
		}
	}
	return false
}

// Release moves process pid out of the cgroup into to, a cgroup path
// relative to the cgroup v2 root ("/" if empty). It is an error if pid is
// not in the excluded cgroup.
func (e Exclusion) Release(pid int, to string) error {
	e = e.normalize()
	cur, err := ProcessCgroup(pid)
	if err != nil {
		return err
	}
	if !e.Contains(cur) {
		return fmt.Errorf("exclude: process %d is not excluded (cgroup %s)", pid, cur)
	}
	root, err := cgroup2Root()
	if err != nil {
		return err
	}
	if to == "" || e.Contains(to) {
		to = "/"
	}
	return movePID(filepath.Join(root, filepath.Clean("/"+to)), pid)
}

// Contains reports whether cgroup path cg (relative to the v2 root, as
// /proc/PID/cgroup shows it) is the excluded cgroup or below it.
func (e Exclusion) Contains(cg string) bool {
	e = e.normalize()
	base := filepath.Clean("/" + e.Cgroup)
	cg = filepath.Clean("/" + cg)
	return cg == base || strings.HasPrefix(cg, base+"/")
}

func movePID(dir string, pid int) error {
	if pid <= 0 {
		return fmt.Errorf("exclude: invalid process id %d", pid)
	}
	f, err := os.OpenFile(filepath.Join(dir, "cgroup.procs"), os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("exclude: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(strconv.Itoa(pid)); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("exclude: no process %d", pid)
		}
		return fmt.Errorf("exclude: move process %d: %w", pid, err)
	}
	return nil
}

// dir returns the cgroup's directory and its depth below the v2 root.
func (e Exclusion) dir() (string, int, error) {
	root, err := cgroup2Root()
	if err != nil {
		return "", 0, err
	}
	rel := filepath.Clean("/" + e.Cgroup)
	if rel == "/" {
		return "", 0, errors.New("exclude: the cgroup cannot be the root")
	}
	return filepath.Join(root, rel), strings.Count(rel, "/"), nil
}

// cgroup2Root returns where the cgroup v2 hierarchy is mounted:
// /sys/fs/cgroup on a unified system, /sys/fs/cgroup/unified on a hybrid
// one. Where this mount namespace has none (a v1-only system, or `ip
// netns exec`, which remounts /sys), it mounts the hierarchy at
// cgroup2Fallback: there is only one, wherever it is mounted.
func cgroup2Root() (string, error) {
	if p, err := cgroup2Mount("/proc/self/mountinfo"); err != nil || p != "" {
		return p, err
	}
	if err := os.MkdirAll(cgroup2Fallback, 0o755); err != nil {
		return "", fmt.Errorf("exclude: no cgroup v2 hierarchy is mounted: %w", err)
	}
	if err := unix.Mount("cgroup2", cgroup2Fallback, "cgroup2", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return "", fmt.Errorf("exclude: no cgroup v2 hierarchy is mounted, and mounting one at %s: %w", cgroup2Fallback, err)
	}
	return cgroup2Fallback, nil
}

// cgroup2Fallback is where cgroup2Root mounts the hierarchy if it finds
// it nowhere.
const cgroup2Fallback = "/run/pexia/cgroup2"

// cgroup2Mount returns the mount point of the root of the cgroup v2
// hierarchy in the mountinfo file at path, or "" if there is none.
func cgroup2Mount(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("exclude: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent maj:min root mountpoint options... - fstype source
		fields := strings.Fields(sc.Text())
		for i, fld := range fields {
			if fld == "-" && i+1 < len(fields) && fields[i+1] == "cgroup2" && len(fields) > 4 && fields[3] == "/" {
				return fields[4], nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("exclude: %w", err)
	}
	return "", nil
}

// ProcessCgroup returns the cgroup v2 path of process pid, relative to the
// hierarchy's root ("/" for the root itself).
func ProcessCgroup(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("exclude: no process %d", pid)
		}
		return "", fmt.Errorf("exclude: %w", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok {
			return p, nil
		}
	}
	return "", fmt.Errorf("exclude: process %d is in no cgroup v2", pid)
}
