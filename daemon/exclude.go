package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/logger"
	"github.com/pexia-network/pexia/tun"
)

// Exclusion is the cgroup whose programs reach the network around the
// tunnel (tun.Exclusion).
type Exclusion interface {
	Install() error
	Remove() error
	Add(pid int) error
	Release(pid int, to string) error
	Contains(cgroup string) bool
}

// excluder moves processes in and out of the exclusion, installing it on
// first use and removing it when the daemon closes. It remembers where
// each process came from, to put it back there.
//
// With the excluded_dns setting at system, a tun.Exclusion is installed
// with the system's resolvers (resolvers), so that the excluded programs'
// queries to the in-tunnel resolver go to them around the tunnel. The
// system's resolvers change with the network (a new DHCP lease, resolved
// switching links): from the first such install on, they are read again
// every followEvery (every, if set) and the exclusion is installed again
// when they changed.
type excluder struct {
	ex        Exclusion
	resolvers func() ([]netip.Addr, error)
	logf      logger.Logf
	every     time.Duration // 0: followEvery

	// servers are the system resolvers the installed exclusion sends the
	// excluded programs' queries to (none: they stay in the tunnel); read
	// without mu by the status.
	servers atomic.Pointer[[]netip.Addr]

	mu        sync.Mutex
	installed bool
	// stopFollow ends the goroutine following the system's resolvers,
	// which closes followDone; nil while none runs.
	stopFollow context.CancelFunc
	followDone chan struct{}
	dns        api.DNSMode    // the excluded_dns setting
	from       map[int]string // pid: cgroup before it was excluded
}

// setDNS makes the excluded programs resolve names as mode says (the
// excluded_dns setting); an exclusion in place is installed again.
func (e *excluder) setDNS(mode api.DNSMode) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if mode == e.dns {
		return nil
	}
	e.dns = mode
	if !e.installed {
		return nil
	}
	return e.installLocked()
}

// installLocked installs the exclusion, a tun.Exclusion with the system's
// resolvers when excluded programs resolve through the system. Where no
// system resolver is found, their queries stay in the tunnel.
func (e *excluder) installLocked() error {
	if te, ok := e.ex.(tun.Exclusion); ok {
		te.SystemDNS = nil
		if e.dns == api.DNSSystem && e.resolvers != nil {
			rs, err := e.resolvers()
			if err != nil {
				return err
			}
			if len(rs) == 0 && e.logf != nil {
				e.logf("exclude: excluded_dns=system, but no system resolver was found: excluded programs resolve through the tunnel")
			}
			te.SystemDNS = rs
		}
		e.ex = te
		if err := e.ex.Install(); err != nil {
			return err
		}
		rs := slices.Clone(te.SystemDNS)
		e.servers.Store(&rs)
		if e.dns == api.DNSSystem && e.resolvers != nil && e.stopFollow == nil {
			ctx, cancel := context.WithCancel(context.Background())
			e.stopFollow, e.followDone = cancel, make(chan struct{})
			go e.follow(ctx, e.followDone)
		}
		return nil
	}
	return e.ex.Install()
}

// followEvery is how often the system's resolvers are read again while
// excluded programs resolve through them.
const followEvery = 5 * time.Second

// follow reads the system's resolvers every e.every until ctx ends, and
// installs the exclusion again when they changed.
func (e *excluder) follow(ctx context.Context, done chan struct{}) {
	defer close(done)
	every := e.every
	if every <= 0 {
		every = followEvery
	}
	tk := time.NewTicker(every)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			e.refresh()
		}
	}
}

// refresh installs the exclusion again if it sends queries to the
// system's resolvers and those changed since.
func (e *excluder) refresh() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.installed || e.dns != api.DNSSystem {
		return
	}
	rs, err := e.resolvers()
	if cur := e.servers.Load(); err == nil && cur != nil && slices.Equal(*cur, rs) {
		return
	}
	if err == nil {
		err = e.installLocked()
	}
	if e.logf == nil {
		return
	}
	if err != nil {
		e.logf("exclude: following the system's resolvers: %v", err)
		return
	}
	e.logf("exclude: the system's resolvers changed: excluded programs' queries now go to %v", rs)
}

// systemDNS returns the system resolvers the installed exclusion sends
// the excluded programs' queries to, as the status shows them.
func (e *excluder) systemDNS() []string {
	p := e.servers.Load()
	if p == nil {
		return nil
	}
	var out []string
	for _, a := range *p {
		out = append(out, a.String())
	}
	return out
}

// Exclude implements api.ExcludeBackend: the caller (an admin, or a
// member for their own processes: api.CheckExclude) moves a process in or
// out of the excluded cgroup. PID 0 is the caller's own process.
func (d *Daemon) Exclude(ctx context.Context, req api.ExcludeRequest) (api.ExcludeResult, error) {
	c := api.CallerFrom(ctx)
	pid := req.PID
	if pid == 0 {
		pid = c.PID
	}
	if pid <= 0 {
		return api.ExcludeResult{}, fmt.Errorf("%w: no process to exclude", api.ErrInvalid)
	}
	if d.cfg.Mode != api.ModeTUN {
		return api.ExcludeResult{}, fmt.Errorf("%w: excluding programs needs TUN mode; in proxy mode a program not set to use the proxies is not tunnelled anyway", api.ErrInvalid)
	}
	ruid, euid, err := processUIDs(int(pid))
	if err != nil {
		return api.ExcludeResult{}, err
	}
	if err := api.CheckExclude(c, pid, ruid, euid); err != nil {
		return api.ExcludeResult{}, err
	}
	return d.excl.move(int(pid), !req.Remove)
}

func (e *excluder) move(pid int, in bool) (api.ExcludeResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	res := api.ExcludeResult{PID: int32(pid), Excluded: in}
	cur, err := tun.ProcessCgroup(pid)
	if err != nil {
		return res, unsupported(err)
	}
	if !in {
		if err := e.ex.Release(pid, e.from[pid]); err != nil {
			return res, fmt.Errorf("%w: %v", api.ErrInvalid, err)
		}
		delete(e.from, pid)
		res.Cgroup, _ = tun.ProcessCgroup(pid)
		return res, nil
	}
	if !e.installed {
		if err := e.installLocked(); err != nil {
			return res, unsupported(err)
		}
		e.installed = true
	}
	if !e.ex.Contains(cur) {
		if e.from == nil {
			e.from = make(map[int]string)
		}
		e.from[pid] = cur
	}
	if err := e.ex.Add(pid); err != nil {
		return res, err
	}
	res.Cgroup, _ = tun.ProcessCgroup(pid)
	return res, nil
}

// close removes the exclusion if this daemon installed it. Processes
// still in the cgroup stay there, no longer excluded, and the cgroup with
// them.
func (e *excluder) close() error {
	e.mu.Lock()
	stop, done := e.stopFollow, e.followDone
	e.stopFollow, e.followDone = nil, nil
	e.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.installed {
		return nil
	}
	e.installed = false
	e.servers.Store(nil)
	return e.ex.Remove()
}

func unsupported(err error) error {
	if errors.Is(err, tun.ErrUnsupported) {
		return api.ErrNotSupported
	}
	return err
}

// processUIDs returns the real and effective user ids of process pid.
func processUIDs(pid int) (ruid, euid uint32, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Stat("/proc/self/status"); serr != nil {
			return 0, 0, api.ErrNotSupported
		}
		return 0, 0, fmt.Errorf("%w: no process %d", api.ErrInvalid, pid)
	}
	if err != nil {
		return 0, 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "Uid:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 2 {
				r, err1 := strconv.ParseUint(f[0], 10, 32)
				e, err2 := strconv.ParseUint(f[1], 10, 32)
				if err1 == nil && err2 == nil {
					return uint32(r), uint32(e), nil
				}
			}
		}
	}
	return 0, 0, fmt.Errorf("process %d: no user ids in its status", pid)
}
