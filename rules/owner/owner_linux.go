package owner

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/pexia-network/pexia/rules"
)

// Cache bounds.
const (
	maxRecent = 8    // processes whose descriptors are searched first
	maxProcs  = 4096 // processes whose details are kept
)

// Table finds flows' owners on Linux. Safe for concurrent use; lookups
// are serialized.
type Table struct {
	proc string // the proc file system, "/proc"

	mu     sync.Mutex
	nl     int // netlink sock_diag socket, -1 until opened
	seq    uint32
	buf    []byte
	link   []byte
	inodes map[uint32]fdRef   // socket inode → where it was seen
	recent []*recentProc      // processes that owned recent flows, newest first
	procs  map[int]procRecord // pid → details, while the start time matches
	// The kernel's ping socket tables (/proc/net/icmp and icmp6) of the
	// network namespace New was called in; nil where they do not open.
	ping4, ping6 *os.File
}

type fdRef struct{ pid, fd int }

type procRecord struct {
	start string // /proc/<pid>/stat start time
	owner rules.Owner
}

// New returns a Table reading the socket table of the calling process's
// network namespace.
func New() (*Table, error) {
	t := &Table{proc: "/proc", nl: -1, buf: make([]byte, 64<<10), link: make([]byte, 128),
		inodes: map[uint32]fdRef{}, procs: map[int]procRecord{}}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.open(); err != nil {
		return nil, err
	}
	// The calling thread's namespace, as the netlink socket's.
	t.ping4, _ = os.Open(t.proc + "/thread-self/net/icmp")
	t.ping6, _ = os.Open(t.proc + "/thread-self/net/icmp6")
	return t, nil
}

// Close releases the netlink socket and the ping socket tables.
func (t *Table) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, f := range []**os.File{&t.ping4, &t.ping6} {
		if *f != nil {
			(*f).Close()
			*f = nil
		}
	}
	if t.nl < 0 {
		return nil
	}
	err := unix.Close(t.nl)
	t.nl = -1
	return err
}

func (t *Table) open() error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return fmt.Errorf("sock_diag: %w", err)
	}
	tv := unix.Timeval{Sec: 1}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return fmt.Errorf("sock_diag: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return fmt.Errorf("sock_diag: %w", err)
	}
	t.nl = fd
	return nil
}

// Owner returns the process owning the local socket from src to dst. See
// the package doc for what it returns when the owner is gone.
func (t *Table) Owner(proto rules.Proto, src, dst netip.AddrPort) (rules.Owner, error) {
	var p uint8
	switch proto {
	case rules.TCP:
		p = unix.IPPROTO_TCP
	case rules.UDP:
		p = unix.IPPROTO_UDP
	case rules.ICMP:
	default:
		return rules.Owner{}, fmt.Errorf("%w: %s flows are not looked up", ErrNotFound, proto)
	}
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	t.mu.Lock()
	defer t.mu.Unlock()
	var sk diagSocket
	var err error
	if proto == rules.ICMP {
		sk, err = t.pingSocket(src, dst)
	} else {
		sk, err = t.socket(p, src, dst)
	}
	if err != nil {
		return rules.Owner{}, err
	}
	o := rules.Owner{UID: sk.uid, HasUID: sk.hasUID}
	if sk.inode == 0 {
		return o, ErrGone
	}
	pid, ok := t.pidOf(sk.inode)
	if !ok {
		return o, ErrGone
	}
	po, ok := t.process(pid)
	if !ok {
		return o, ErrGone
	}
	po.UID, po.HasUID = sk.uid, true
	return po, nil
}

// pingSocket finds the uid and inode of the ping socket (an ICMP
// datagram socket) of an echo flow: src's port is the echo identifier,
// which the kernel shows as the socket's local port in its ping socket
// table. A socket connected to dst is preferred to one that is not; its
// local address must be src's or the wildcard. sock_diag does not dump
// ping sockets: they are read from /proc/net/icmp and icmp6.
func (t *Table) pingSocket(src, dst netip.AddrPort) (diagSocket, error) {
	f := t.ping4
	if src.Addr().Is6() {
		f = t.ping6
	}
	if f == nil || src.Addr().Is4() != dst.Addr().Is4() {
		return diagSocket{}, fmt.Errorf("%w: no ping socket table", ErrNotFound)
	}
	if _, err := f.Seek(0, 0); err != nil {
		return diagSocket{}, fmt.Errorf("ping sockets: %w", err)
	}
	var table bytes.Buffer
	if _, err := table.ReadFrom(f); err != nil {
		return diagSocket{}, fmt.Errorf("ping sockets: %w", err)
	}
	var sk diagSocket
	best := 0 // 2: connected to dst, 1: not connected
	for i, line := range strings.Split(table.String(), "\n") {
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when
		// retrnsmt uid timeout inode ...
		fs := strings.Fields(line)
		if i == 0 || len(fs) < 10 {
			continue
		}
		local, lport, ok1 := procAddr(fs[1])
		remote, _, ok2 := procAddr(fs[2])
		if !ok1 || !ok2 || lport != src.Port() || local != src.Addr() && !local.IsUnspecified() {
			continue
		}
		score := 1
		if remote == dst.Addr() {
			score = 2
		} else if !remote.IsUnspecified() {
			continue
		}
		uid, err1 := strconv.ParseUint(fs[7], 10, 32)
		inode, err2 := strconv.ParseUint(fs[9], 10, 32)
		if err1 != nil || err2 != nil || score <= best {
			continue
		}
		best, sk = score, diagSocket{uid: uint32(uid), inode: uint32(inode), hasUID: true}
	}
	if best == 0 {
		return diagSocket{}, ErrNotFound
	}
	return sk, nil
}

// procAddr parses an address of the kernel's /proc/net socket tables:
// hexadecimal 32-bit words in host byte order, a colon and the port.
func procAddr(s string) (netip.Addr, uint16, bool) {
	a, p, ok := strings.Cut(s, ":")
	port, err := strconv.ParseUint(p, 16, 16)
	if !ok || err != nil || len(a) != 8 && len(a) != 32 {
		return netip.Addr{}, 0, false
	}
	var b [16]byte
	for i := 0; i < len(a)/8; i++ {
		w, err := strconv.ParseUint(a[8*i:8*i+8], 16, 32)
		if err != nil {
			return netip.Addr{}, 0, false
		}
		binary.NativeEndian.PutUint32(b[4*i:], uint32(w))
	}
	if len(a) == 8 {
		return netip.AddrFrom4([4]byte(b[:4])), uint16(port), true
	}
	return netip.AddrFrom16(b).Unmap(), uint16(port), true
}

// socket finds the socket's uid and inode with sock_diag. A v4 flow may
// belong to a dual-stack v6 socket, as a v4-mapped address.
func (t *Table) socket(proto uint8, src, dst netip.AddrPort) (diagSocket, error) {
	if src.Addr().Is4() != dst.Addr().Is4() {
		return diagSocket{}, fmt.Errorf("%w: mixed address families", ErrNotFound)
	}
	fams := []uint8{unix.AF_INET6}
	if src.Addr().Is4() {
		fams = []uint8{unix.AF_INET, unix.AF_INET6}
	}
	for _, fam := range fams {
		s, d := src, dst
		if fam == unix.AF_INET6 && src.Addr().Is4() {
			s = netip.AddrPortFrom(netip.AddrFrom16(src.Addr().As16()), src.Port())
			d = netip.AddrPortFrom(netip.AddrFrom16(dst.Addr().As16()), dst.Port())
		}
		sk, found, err := t.find(fam, proto, s, d)
		if err != nil {
			return diagSocket{}, err
		}
		if found {
			return sk, nil
		}
	}
	return diagSocket{}, ErrNotFound
}

// find dumps the sockets of one family and protocol with src's port and
// picks the one of the flow: for TCP the exact four-tuple; for UDP a
// connected socket of the four-tuple before one bound to src (or to the
// wildcard address) and not connected. A time-wait entry of the
// four-tuple (a closing socket whose process closed it) is the last
// choice: it is found, but has no uid or inode.
func (t *Table) find(fam, proto uint8, src, dst netip.AddrPort) (sk diagSocket, found bool, err error) {
	dport := dst.Port()
	if proto == unix.IPPROTO_UDP {
		dport = 0 // an unconnected socket has none
	}
	best := 0 // 3: exact, 2: unconnected, 1: time-wait
	// TCP asks for the one socket of the four-tuple (a hash lookup in the
	// kernel); a dump walks the whole connection table, which costs
	// about a millisecond on a busy machine. UDP dumps the sockets of the
	// source port: the kernel's exact lookup for UDP takes the addresses
	// the other way round, and finds no unconnected socket bound to a
	// wildcard address and port on some kernels.
	exact := proto == unix.IPPROTO_TCP
	err = t.dump(fam, proto, exact, src, netip.AddrPortFrom(dst.Addr(), dport), func(m []byte) {
		// struct inet_diag_msg: family, state, timer, retrans, then
		// inet_diag_sockid (sport, dport, src[16], dst[16], if,
		// cookie[2]), expires, rqueue, wqueue, uid, inode.
		if len(m) < 72 || m[0] != fam {
			return
		}
		sport, dp := binary.BigEndian.Uint16(m[4:]), binary.BigEndian.Uint16(m[6:])
		if sport != src.Port() || m[1] == tcpNewSynRecv {
			return
		}
		local, remote := diagAddr(fam, m[8:24]), diagAddr(fam, m[24:40])
		score := 0
		switch {
		case dp == dst.Port() && remote == dst.Addr() && local == src.Addr():
			score = 3
			// Time-wait entries (timer 3; the kernel reports their uid
			// and inode as 0) are no longer any process's.
			if m[2] == timerTimeWait || m[1] == tcpTimeWait {
				score = 1
			}
		case proto == unix.IPPROTO_UDP && dp == 0 && (local == src.Addr() || local.IsUnspecified()):
			score = 2
		}
		if score > best {
			best = score
			sk = diagSocket{uid: binary.NativeEndian.Uint32(m[64:]), inode: binary.NativeEndian.Uint32(m[68:]), hasUID: score > 1}
		}
	})
	return sk, best > 0, err
}

// diagSocket is what sock_diag says of a socket.
type diagSocket struct {
	uid, inode uint32
	hasUID     bool
}

// TCP states (include/net/tcp_states.h), and the timer inet_diag gives
// time-wait entries.
const (
	tcpTimeWait   = 6
	tcpNewSynRecv = 12
	timerTimeWait = 3
)

// putAddr writes a as inet_diag_sockid holds it: 4 bytes for IPv4, 16
// for IPv6.
func putAddr(b []byte, a netip.Addr) {
	if a.Is4() {
		v := a.As4()
		copy(b, v[:])
		return
	}
	v := a.As16()
	copy(b, v[:])
}

func diagAddr(fam uint8, b []byte) netip.Addr {
	if fam == unix.AF_INET {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16([16]byte(b[:16]))
}

// dump sends one SOCK_DIAG_BY_FAMILY request and calls visit with every
// inet_diag_msg of the answer: with exact, the socket whose local end is
// src and remote end dst (if any); else a dump of every socket (the
// kernel skips those whose ports differ from non-zero ports of src and
// dst).
func (t *Table) dump(fam, proto uint8, exact bool, src, dst netip.AddrPort, visit func([]byte)) error {
	if t.nl < 0 {
		if err := t.open(); err != nil {
			return err
		}
	}
	t.seq++
	req := make([]byte, 16+56)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	flags := uint16(unix.NLM_F_REQUEST)
	if !exact {
		flags |= unix.NLM_F_DUMP
	}
	binary.NativeEndian.PutUint16(req[6:], flags)
	binary.NativeEndian.PutUint32(req[8:], t.seq)
	// struct inet_diag_req_v2: family, protocol, ext, pad, states, then
	// the sockid.
	r := req[16:]
	r[0], r[1] = fam, proto
	binary.NativeEndian.PutUint32(r[4:], 0xffffffff) // every state
	binary.BigEndian.PutUint16(r[8:], src.Port())
	binary.BigEndian.PutUint16(r[10:], dst.Port())
	if exact {
		putAddr(r[12:28], src.Addr())
		putAddr(r[28:44], dst.Addr())
	}
	binary.NativeEndian.PutUint32(r[48:], 0xffffffff) // no cookie
	binary.NativeEndian.PutUint32(r[52:], 0xffffffff)
	if err := unix.Sendto(t.nl, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		t.reset()
		return fmt.Errorf("sock_diag: %w", err)
	}
	for {
		n, _, err := unix.Recvfrom(t.nl, t.buf, 0)
		if err != nil {
			t.reset() // a late answer must not be read as the next one's
			return fmt.Errorf("sock_diag: %w", err)
		}
		b := t.buf[:n]
		for len(b) >= 16 {
			l := int(binary.NativeEndian.Uint32(b[0:]))
			typ := binary.NativeEndian.Uint16(b[4:])
			seq := binary.NativeEndian.Uint32(b[8:])
			if l < 16 || l > len(b) {
				t.reset()
				return errors.New("sock_diag: truncated message")
			}
			msg := b[16:l]
			b = b[min(nlAlign(l), len(b)):]
			if seq != t.seq {
				continue
			}
			switch typ {
			case unix.NLMSG_DONE:
				return nil
			case unix.NLMSG_ERROR:
				if len(msg) >= 4 {
					e := unix.Errno(-int32(binary.NativeEndian.Uint32(msg)))
					if e != 0 && !(exact && e == unix.ENOENT) {
						return fmt.Errorf("sock_diag: %w", e)
					}
				}
				return nil
			default:
				visit(msg)
				if exact {
					return nil // one answer, no NLMSG_DONE
				}
			}
		}
	}
}

func nlAlign(n int) int { return (n + 3) &^ 3 }

func (t *Table) reset() {
	if t.nl >= 0 {
		unix.Close(t.nl)
		t.nl = -1
	}
}

// pidOf returns the process holding the socket inode: the one it was
// last seen in if it still holds it, else one of the recent owners, else
// whichever process of /proc does.
//
// A recent owner's descriptors are read in two passes: first only the
// descriptor numbers that are new since the last look (a browser opening
// a burst of connections: one readlink each), then all of them (a number
// closed and reused for the new socket).
func (t *Table) pidOf(inode uint32) (int, bool) {
	if ref, ok := t.inodes[inode]; ok {
		if t.fdIs(ref, inode) {
			t.touch(ref.pid, nil)
			return ref.pid, true
		}
		delete(t.inodes, inode)
	}
	// The kernel gives a new descriptor the lowest free number, so the
	// new socket of a recent owner is most likely at one of the lowest
	// numbers that were free at the last look.
	for _, rp := range t.recent {
		if rp.fds != nil && t.probeFree(rp, inode) {
			t.touch(rp.pid, nil)
			return rp.pid, true
		}
	}
	for _, onlyNew := range []bool{true, false} {
		alive := t.recent[:0]
		for i, rp := range t.recent {
			known, found, err := t.scanPID(rp.pid, rp.fds, onlyNew, inode)
			if err != nil {
				continue // exited
			}
			rp.fds = known
			alive = append(alive, rp)
			if found {
				t.recent = append(alive[:len(alive):len(alive)], t.recent[i+1:]...)
				t.touch(rp.pid, nil)
				return rp.pid, true
			}
		}
		t.recent = alive
	}
	// Everything: the table is rebuilt, so inodes of closed sockets go.
	d, err := os.Open(t.proc)
	if err != nil {
		return 0, false
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	old := t.inodes
	t.inodes = make(map[uint32]fdRef, len(old))
	live := make(map[int]bool, len(names))
	var owner int
	var ownerFDs map[int]uint32
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		live[pid] = true
		known, found, err := t.scanPID(pid, nil, false, inode)
		if err == nil && found {
			owner, ownerFDs = pid, known
		}
	}
	for pid := range t.procs {
		if !live[pid] {
			delete(t.procs, pid)
		}
	}
	if owner == 0 {
		return 0, false
	}
	t.touch(owner, ownerFDs)
	return owner, true
}

// probeFree reads the lowest few descriptor numbers of rp that were free
// at the last look, and reports whether one is the socket inode.
func (t *Table) probeFree(rp *recentProc, inode uint32) bool {
	const probes = 4
	base := t.proc + "/" + strconv.Itoa(rp.pid) + "/fd/"
	for fd, n := 0, 0; n < probes; fd++ {
		if _, ok := rp.fds[fd]; ok {
			continue
		}
		n++
		k, err := unix.Readlink(base+strconv.Itoa(fd), t.link)
		if err != nil {
			continue
		}
		ino, ok := socketInode(t.link[:k])
		rp.fds[fd] = ino // 0 for what is not a socket
		if ok {
			t.inodes[ino] = fdRef{pid: rp.pid, fd: fd}
			if ino == inode {
				return true
			}
		}
	}
	return false
}

// recentProc is a process that owned a recent flow, with the sockets of
// its descriptors as last read (descriptor → inode).
type recentProc struct {
	pid int
	fds map[int]uint32
}

// touch puts pid first among the recent owners; fds, if not nil, are its
// descriptors' sockets.
func (t *Table) touch(pid int, fds map[int]uint32) {
	for i, rp := range t.recent {
		if rp.pid == pid {
			copy(t.recent[1:i+1], t.recent[:i])
			t.recent[0] = rp
			if fds != nil {
				rp.fds = fds
			}
			return
		}
	}
	if len(t.recent) < maxRecent {
		t.recent = append(t.recent, nil)
	}
	copy(t.recent[1:], t.recent)
	t.recent[0] = &recentProc{pid: pid, fds: fds}
}

// scanPID reads the sockets of the process's descriptors into t.inodes
// and returns them (descriptor → inode) and whether one is want. With
// onlyNew, descriptors in known are taken as they were and not read
// again.
func (t *Table) scanPID(pid int, known map[int]uint32, onlyNew bool, want uint32) (map[int]uint32, bool, error) {
	dir := t.proc + "/" + strconv.Itoa(pid) + "/fd"
	d, err := os.Open(dir)
	if err != nil {
		return nil, false, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, false, err
	}
	out := make(map[int]uint32, len(known)+1)
	found := false
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		if ino, ok := known[fd]; ok && onlyNew {
			if ino != 0 {
				out[fd] = ino
			}
			continue
		}
		k, err := unix.Readlink(dir+"/"+n, t.link)
		if err != nil {
			continue
		}
		ino, ok := socketInode(t.link[:k])
		if !ok {
			out[fd] = 0 // not a socket: not read again while it stays open
			continue
		}
		out[fd] = ino
		t.inodes[ino] = fdRef{pid: pid, fd: fd}
		found = found || ino == want
	}
	return out, found, nil
}

// fdIs says whether the descriptor still is the socket inode.
func (t *Table) fdIs(ref fdRef, inode uint32) bool {
	k, err := unix.Readlink(t.proc+"/"+strconv.Itoa(ref.pid)+"/fd/"+strconv.Itoa(ref.fd), t.link)
	if err != nil {
		return false
	}
	ino, ok := socketInode(t.link[:k])
	return ok && ino == inode
}

// socketInode parses "socket:[12345]".
func socketInode(link []byte) (uint32, bool) {
	rest, ok := bytes.CutPrefix(link, []byte("socket:["))
	if !ok || len(rest) < 2 || rest[len(rest)-1] != ']' {
		return 0, false
	}
	v, err := strconv.ParseUint(string(rest[:len(rest)-1]), 10, 32)
	return uint32(v), err == nil
}

// process returns the details of pid, from the cache while its start
// time is the same.
func (t *Table) process(pid int) (rules.Owner, bool) {
	base := t.proc + "/" + strconv.Itoa(pid)
	start, ok := startTime(base + "/stat")
	if !ok {
		return rules.Owner{}, false
	}
	if r, ok := t.procs[pid]; ok && r.start == start {
		return r.owner, true
	}
	o := rules.Owner{PID: pid}
	if k, err := unix.Readlink(base+"/exe", t.link); err == nil {
		if k == len(t.link) {
			if s, err := os.Readlink(base + "/exe"); err == nil {
				o.Exe = s
			}
		} else {
			o.Exe = string(t.link[:k])
		}
		o.Exe = strings.TrimSuffix(o.Exe, " (deleted)")
	}
	if b, err := os.ReadFile(base + "/comm"); err == nil {
		o.Name = strings.TrimSuffix(string(b), "\n")
	}
	if b, err := os.ReadFile(base + "/cgroup"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if p, ok := strings.CutPrefix(line, "0::"); ok {
				o.Cgroup = p
				break
			}
		}
	}
	o.Desktop = rules.DesktopID(o.Cgroup)
	if len(t.procs) >= maxProcs {
		clear(t.procs)
	}
	t.procs[pid] = procRecord{start: start, owner: o}
	return o, true
}

// startTime reads field 22 of /proc/<pid>/stat, the process's start time
// since boot in clock ticks.
func startTime(path string) (string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	i := bytes.LastIndexByte(b, ')') // comm may hold spaces and parentheses
	if i < 0 {
		return "", false
	}
	f := strings.Fields(string(b[i+1:]))
	// After the comm, field 3 (state) is f[0]; field 22 is f[19].
	if len(f) < 20 {
		return "", false
	}
	return f[19], true
}
