// Package tun owns the operating system side of the client's data path: the
// TUN device, routes and policy rules that keep the daemon's own traffic off
// the tunnel, the hand-over of system DNS, the kill-switch firewall and
// recovery after a crash, with one file per OS where they differ. Only Linux
// is implemented; elsewhere every operation returns ErrUnsupported.
//
// # Pieces
//
//   - Create and Configure make the TUN (wireguard-go's, with offloads),
//     give it DefaultAddr4 and DefaultAddr6 and bring it up. The in-tunnel
//     resolver addresses DNS4 and DNS6 sit inside those prefixes, so queries
//     to them enter the TUN even before any policy routing exists.
//   - Routes steers every unmarked packet of both families into the TUN with
//     the wg-quick pattern (see Routes). MarkDialer, MarkListenConfig and
//     MarkControl give the daemon's own sockets the mark that routes them
//     around the tunnel and through the kill switch.
//   - DNS points the system resolver at the tunnel: through systemd-resolved
//     when it manages /etc/resolv.conf, by rewriting the file otherwise.
//   - KillSwitch is one nftables table, replaced atomically, that drops
//     everything not on loopback, the TUN, the daemon's mark or (optionally)
//     the LAN.
//   - Exclusion routes the programs of one cgroup v2 around the tunnel in
//     the kernel: a route chain in its own nftables table (ExcludeTable)
//     gives their packets the daemon's mark (`socket cgroupv2`), so the
//     policy rules send them to the main table and the kill switch, whose
//     filter chains run after it, lets them pass. Recover removes the table
//     a crashed daemon left: the daemon that comes up next knows nothing of
//     what was excluded, so nothing stays routed around the tunnel.
//   - Recover undoes what a killed daemon left behind.
//
// # Order
//
// A connect installs the kill switch first, so nothing leaks while the rest
// comes up, then the device, routes and DNS; a disconnect undoes them in
// reverse and removes the kill switch last, or keeps it (lockdown, or, in
// the daemon, any stop the user did not ask for: see Recover's
// KeepKillSwitch):
//
//	tun.Recover(ctx, stateDir)
//	ks := tun.KillSwitch{StateDir: stateDir}
//	ks.Install(tun.Policy{Iface: tun.DefaultName, Mark: tun.DefaultMark})
//	dev, _ := tun.Create(tun.DefaultName, tun.DefaultMTU, tun.WithStateDir(stateDir))
//	tun.Configure(tun.DefaultName, []netip.Prefix{tun.DefaultAddr4, tun.DefaultAddr6})
//	var routes tun.Routes
//	routes.Up(tun.RouteConfig{Iface: tun.DefaultName, IPv6: true, StateDir: stateDir})
//	dns := &tun.DNS{StateDir: stateDir}
//	dns.Set(ctx, tun.DefaultName, []netip.Addr{tun.DNS4, tun.DNS6})
//	...
//	dns.Restore(ctx); routes.Down(); dev.Close(); ks.Remove()
//
// Closing the device deletes the interface and, with it, the routes that
// point at it; a new device needs Routes.Down and Up again. The kill switch
// matches the TUN by name and survives the swap.
//
// # Crash safety
//
// Each component journals what it is about to change in the caller's state
// directory (one small JSON file per component, written atomically before
// the change and removed after it is undone), so a SIGKILL at any point
// leaves a record of everything that might need undoing. Recover replays
// the journals, then sweeps for anything carrying this package's identifiers
// that no journal mentions: rules and routes with routing protocol 80
// ("proto 80" in `ip rule`), anything in or pointing to DefaultTable, a TUN
// called DefaultName and the nftables table inet KillSwitchTable. What the
// kernel cleans up by itself (the TUN and its routes die with the process)
// needs nothing; what it keeps (policy rules, the firewall table, the
// resolver file) is exactly what the journals cover.
//
// # Network namespaces
//
// Every operation can act in another network namespace (InNetNS, or the
// NetNS fields), which is how the tests run against real kernels without
// touching the host's network, and how a daemon could manage a namespace it
// is not in. Netlink and nftables sockets are opened inside the namespace;
// the few calls that need the calling thread itself there run on a locked
// thread that is discarded afterwards.
//
// # Limits
//
// Replies to marked sockets arrive unmarked, so a strict reverse-path filter
// (rp_filter=1) on the uplink drops them; the loose mode (2) most
// distributions use, and the default 0, are fine. Rules deleted by another
// program are not re-added until the next Up.
package tun
