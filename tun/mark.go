package tun

import (
	"net"
	"syscall"
)

// MarkDialer returns a dialer whose sockets carry the firewall mark, so their
// packets bypass the tunnel (Routes) and pass the kill switch. The daemon uses
// it for every connection that must not enter the tunnel: signaling, chain
// RPC and flows the rule engine sends direct.
func MarkDialer(mark uint32) *net.Dialer {
	return &net.Dialer{Control: MarkControl(mark)}
}

// MarkListenConfig returns a ListenConfig whose sockets carry the firewall
// mark; use it for the UDP sockets handed to WebRTC.
func MarkListenConfig(mark uint32) *net.ListenConfig {
	return &net.ListenConfig{Control: MarkControl(mark)}
}

// MarkControl returns a socket Control function that sets the firewall mark
// (SO_MARK, which needs CAP_NET_ADMIN) before the socket binds or connects.
// It fits net.Dialer.Control, net.ListenConfig.Control and any library that
// accepts such a hook.
func MarkControl(mark uint32) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		return setMark(c, mark)
	}
}
