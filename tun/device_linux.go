package tun

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	wgtun "golang.zx2c4.com/wireguard/tun"
)

// Create makes a TUN interface called name with the given MTU and returns it
// as a wireguard-go Device (opened with IFF_VNET_HDR, so reads and writes are
// batched and carry TCP and UDP segmentation offloads).
//
// The interface lives as long as the returned device: when the device is
// closed or the process dies the kernel deletes the interface together with
// every address and route that uses it. With WithStateDir, the name is also
// journaled until Close, for Recover.
func Create(name string, mtu int, opts ...Option) (wgtun.Device, error) {
	if err := validIfname(name); err != nil {
		return nil, fmt.Errorf("create tun: %w", err)
	}
	if mtu < 1280 || mtu > 65535 {
		return nil, fmt.Errorf("create tun %s: mtu %d outside 1280..65535", name, mtu)
	}
	o := collect(opts)
	j := deviceJournal{NetNS: o.netNS, Name: name}
	if err := writeJournal(o.stateDir, journalDevice, j); err != nil {
		return nil, fmt.Errorf("create tun %s: %w", name, err)
	}
	var dev wgtun.Device
	err := inNetNS(o.netNS, func() error {
		var err error
		dev, err = wgtun.CreateTUN(name, mtu)
		return err
	})
	if err != nil {
		if rerr := removeJournal(o.stateDir, journalDevice); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return nil, fmt.Errorf("create tun %s: %w", name, err)
	}
	return &device{Device: dev, netNS: o.netNS, stateDir: o.stateDir}, nil
}

// device adds two things to wireguard-go's device: MTU queries run in the
// device's own namespace (wireguard-go asks by interface name from whatever
// thread calls), and Close drops the journal entry.
type device struct {
	wgtun.Device
	netNS    string
	stateDir string

	closeOnce sync.Once
	closeErr  error
}

func (d *device) MTU() (int, error) {
	if d.netNS == "" {
		return d.Device.MTU()
	}
	var mtu int
	err := inNetNS(d.netNS, func() error {
		var err error
		mtu, err = d.Device.MTU()
		return err
	})
	return mtu, err
}

// Unwrap returns wireguard-go's device: Read and Write are its own, so
// netstack may use its offload path on it.
func (d *device) Unwrap() wgtun.Device { return d.Device }

func (d *device) Close() error {
	d.closeOnce.Do(func() {
		d.closeErr = d.Device.Close()
		if err := removeJournal(d.stateDir, journalDevice); err != nil {
			d.closeErr = errors.Join(d.closeErr, err)
		}
	})
	return d.closeErr
}

// Configure gives the interface called name the addresses addrs and brings it
// up. Addresses already present are kept; IPv6 addresses skip duplicate
// address detection so they are usable at once. Typical addrs are
// DefaultAddr4 and DefaultAddr6.
func Configure(name string, addrs []netip.Prefix, opts ...Option) error {
	o := collect(opts)
	for _, p := range addrs {
		if !p.IsValid() {
			return fmt.Errorf("configure %s: invalid address %v", name, p)
		}
	}
	h, err := netlinkHandle(o.netNS)
	if err != nil {
		return fmt.Errorf("configure %s: %w", name, err)
	}
	defer h.Close()
	link, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("configure %s: %w", name, err)
	}
	for _, p := range addrs {
		a := &netlink.Addr{IPNet: prefixToIPNet(p)}
		if p.Addr().Is6() {
			a.Flags = unix.IFA_F_NODAD
		}
		if err := h.AddrReplace(link, a); err != nil {
			if p.Addr().Is6() && errors.Is(err, unix.EACCES) {
				err = fmt.Errorf("%w (is IPv6 disabled on the interface?)", err)
			}
			return fmt.Errorf("configure %s: address %v: %w", name, p, err)
		}
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("configure %s: link up: %w", name, err)
	}
	return nil
}

func validIfname(name string) error {
	switch {
	case name == "":
		return errors.New("empty interface name")
	case len(name) >= unix.IFNAMSIZ:
		return fmt.Errorf("interface name %q longer than %d bytes", name, unix.IFNAMSIZ-1)
	case name == "." || name == "..",
		strings.ContainsAny(name, "/: \t\n%"):
		return fmt.Errorf("interface name %q is not valid", name)
	}
	return nil
}

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{
		IP:   net.IP(p.Addr().AsSlice()),
		Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()),
	}
}
