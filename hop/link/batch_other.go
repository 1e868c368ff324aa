//go:build !linux

package link

import "net"

// batchPacketConn returns the socket itself: sendmmsg(2) is Linux's.
func batchPacketConn(conn *net.UDPConn) net.PacketConn { return conn }
