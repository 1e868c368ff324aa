//go:build !linux

package tun

import (
	"context"
	"net/netip"
	"syscall"

	wgtun "golang.zx2c4.com/wireguard/tun"
)

// Operating systems other than Linux have no implementation yet; every
// operation that would touch the system returns ErrUnsupported.

func Create(name string, mtu int, opts ...Option) (wgtun.Device, error) {
	return nil, ErrUnsupported
}

func Configure(name string, addrs []netip.Prefix, opts ...Option) error { return ErrUnsupported }

func (r *Routes) Up(cfg RouteConfig) error { return ErrUnsupported }

func (r *Routes) Down() error { return nil }

func (k KillSwitch) Install(p Policy) error { return ErrUnsupported }

func (k KillSwitch) Remove() error { return nil }

func (k KillSwitch) Installed() (bool, error) { return false, nil }

func (k KillSwitch) Dropped() (uint64, error) { return 0, ErrUnsupported }

func Recover(ctx context.Context, stateDir string, opts ...Option) error { return nil }

func setMark(c syscall.RawConn, mark uint32) error { return ErrUnsupported }

func LocalNetworks(netNS, except string) ([]netip.Prefix, error) { return nil, ErrUnsupported }

func WatchLocalNetworks(ctx context.Context, netNS string, changed func()) error {
	return ErrUnsupported
}

func (e Exclusion) Install() error                   { return ErrUnsupported }
func (e Exclusion) Remove() error                    { return nil }
func (e Exclusion) Marked() (uint64, error)          { return 0, ErrUnsupported }
func (e Exclusion) Add(pid int) error                { return ErrUnsupported }
func (e Exclusion) Release(pid int, to string) error { return ErrUnsupported }
func (e Exclusion) Contains(cg string) bool          { return false }
func ProcessCgroup(pid int) (string, error)          { return "", ErrUnsupported }
