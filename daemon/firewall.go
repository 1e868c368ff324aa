package daemon

import (
	"context"
	"errors"
	"sync"

	"github.com/pexia-network/pexia/internal/logger"
	"github.com/pexia-network/pexia/tun"
)

// firewall is the kill-switch table as this daemon last set it. It
// remembers the policy so that, with the LAN allowed, the table can be
// installed again when the machine's networks change (the LAN exemption
// covers only the networks the machine is on).
type firewall struct {
	sys System
	ks  KillSwitch

	mu sync.Mutex
	p  *tun.Policy // nil: no table of ours
}

func (f *firewall) install(p tun.Policy) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ks.Install(p); err != nil {
		return err
	}
	f.p = &p
	return nil
}

// remove deletes the table, if there is one (ours or a predecessor's).
func (f *firewall) remove() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.p = nil
	on, err := f.ks.Installed()
	if err != nil || !on {
		return err
	}
	return f.ks.Remove()
}

// refresh installs the current policy again if it allows the LAN, so the
// exemption follows the machine's networks.
func (f *firewall) refresh() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.p == nil || !f.p.AllowLAN {
		return nil
	}
	return f.ks.Install(*f.p)
}

// follow keeps the LAN exemption up to date until ctx ends.
func (f *firewall) follow(ctx context.Context, logf logger.Logf) {
	err := f.sys.WatchLocalNetworks(ctx, func() {
		if err := f.refresh(); err != nil {
			logf("kill switch: follow the local networks: %v", err)
		}
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		logf("kill switch: no longer following the local networks: %v", err)
	}
}
