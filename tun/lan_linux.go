package tun

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
)

// LocalNetworks returns the networks the machine in namespace netNS is on:
// the prefixes of the addresses of its interfaces other than loopback and
// except (the tunnel), each narrowed to the private or link-local range it
// overlaps and dropped if it overlaps none. The result is sorted and free
// of duplicates.
func LocalNetworks(netNS, except string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	err := withHandle(netNS, func(h *netlink.Handle) error {
		links, err := h.LinkList()
		if err != nil {
			return fmt.Errorf("list links: %w", err)
		}
		for _, l := range links {
			a := l.Attrs()
			if a.Flags&net.FlagLoopback != 0 || a.Name == except || a.Name == "lo" {
				continue
			}
			addrs, err := h.AddrList(l, netlink.FAMILY_ALL)
			if err != nil {
				return fmt.Errorf("list addresses of %s: %w", a.Name, err)
			}
			for _, ad := range addrs {
				if ad.IPNet == nil {
					continue
				}
				ipa, ok := netip.AddrFromSlice(ad.IPNet.IP)
				if !ok {
					continue
				}
				ones, _ := ad.IPNet.Mask.Size()
				if p, ok := clampLocal(netip.PrefixFrom(ipa.Unmap(), ones)); ok {
					out = append(out, p)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("local networks: %w", err)
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return slices.Compact(out), nil
}

// WatchLocalNetworks calls changed whenever an address is added to or
// removed from an interface in namespace netNS (a burst of changes gives
// one call, a quarter second after the last), until ctx ends. It returns
// ctx's error, or the error that made it stop following the changes.
func WatchLocalNetworks(ctx context.Context, netNS string, changed func()) error {
	ns, err := openNetNS(netNS)
	if err != nil {
		return err
	}
	defer ns.Close()
	ch := make(chan netlink.AddrUpdate, 64)
	done := make(chan struct{})
	defer close(done)
	failed := make(chan error, 1)
	opts := netlink.AddrSubscribeOptions{ErrorCallback: func(err error) {
		select {
		case failed <- err:
		default:
		}
	}}
	if netNS != "" {
		opts.Namespace = &ns
	}
	if err := netlink.AddrSubscribeWithOptions(ch, done, opts); err != nil {
		return fmt.Errorf("watch addresses: %w", err)
	}
	const settle = 250 * time.Millisecond
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-failed:
			return fmt.Errorf("watch addresses: %w", err)
		case _, ok := <-ch:
			if !ok {
				return fmt.Errorf("watch addresses: subscription closed")
			}
			timer = time.After(settle)
		case <-timer:
			timer = nil
			changed()
		}
	}
}

// lanPrefixes is everything AllowLAN opens in namespace netNS for policy p.
func lanPrefixes(netNS string, p Policy) ([]netip.Prefix, error) {
	local, err := LocalNetworks(netNS, p.Iface)
	if err != nil {
		return nil, err
	}
	out := append(append(local, p.LAN...), linkMulticast...)
	return out, nil
}
