// Package tun owns the operating system side of the client's data path: the
// TUN device, routes and policy rules that keep the daemon's own traffic off
// the tunnel, the hand-over of system DNS, the kill-switch firewall and the
// split-tunnel hooks, with one file per OS where they differ.
package tun
