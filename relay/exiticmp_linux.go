//go:build linux

package relay

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/pexia-network/pexia/internal/icmperr"
)

// listenPing opens a ping socket with IP_RECVERR (IPV6_RECVERR) set, so
// the ICMP errors the network sends for its echo requests are queued on
// the socket's error queue, where readPing finds them.
func listenPing(network string) (net.PacketConn, error) {
	family, proto, level, opt := unix.AF_INET, unix.IPPROTO_ICMP, unix.IPPROTO_IP, unix.IP_RECVERR
	var sa unix.Sockaddr = &unix.SockaddrInet4{}
	if network == "udp6" {
		family, proto, level, opt = unix.AF_INET6, unix.IPPROTO_ICMPV6, unix.IPPROTO_IPV6, unix.IPV6_RECVERR
		sa = &unix.SockaddrInet6{}
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := unix.SetsockoptInt(fd, level, opt, 1); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("setsockopt", err)
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	f := os.NewFile(uintptr(fd), "ping")
	defer f.Close()
	return net.FilePacketConn(f)
}

// readPing reads the next echo reply from pc into buf, returning its
// length and sender, or the next ICMP error the network sent for one of
// pc's echo requests (the request's sequence number and what the error
// says). A socket without an error queue (not from listenPing) only
// returns replies.
func readPing(pc net.PacketConn, buf []byte) (n int, from netip.Addr, e *icmperr.Error, err error) {
	sc, ok := pc.(syscall.Conn)
	if !ok {
		return readPlain(pc, buf)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return readPlain(pc, buf)
	}
	oob := make([]byte, 512)
	rerr := rc.Read(func(fd uintptr) bool {
		for {
			// The error queue first: an ICMP error also sets the socket's
			// pending error, which a plain read returns once.
			en, oobn, _, _, qerr := unix.Recvmsg(int(fd), buf, oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
			if qerr == nil {
				if e = pingError(buf[:en], oob[:oobn]); e != nil {
					return true
				}
				continue
			}
			var sa unix.Sockaddr
			n, sa, err = unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
			switch {
			case err == unix.EAGAIN || err == unix.EINTR:
				err = nil
				return false
			case err != nil && isICMPErrno(err):
				continue // reported through the error queue
			case err != nil:
				err = os.NewSyscallError("recvfrom", err)
				return true
			}
			switch sa := sa.(type) {
			case *unix.SockaddrInet4:
				from = netip.AddrFrom4(sa.Addr)
			case *unix.SockaddrInet6:
				from = netip.AddrFrom16(sa.Addr)
			}
			return true
		}
	})
	if rerr != nil {
		return 0, netip.Addr{}, nil, rerr
	}
	return n, from, e, err
}

func isICMPErrno(err error) bool {
	switch err {
	case unix.ECONNREFUSED, unix.EHOSTUNREACH, unix.ENETUNREACH, unix.EMSGSIZE, unix.EACCES, unix.EPROTO, unix.EHOSTDOWN, unix.ENONET, unix.ENOPROTOOPT:
		return true
	}
	return false
}

// pingError makes a icmperr.Error of one entry of a ping socket's
// error queue: the echo request it quotes (the kernel's ICMP header, with
// the sequence number) and the extended error in the control message.
// It returns nil for an entry that is not about an echo request or says
// nothing the client can use.
func pingError(quoted, oob []byte) *icmperr.Error {
	if len(quoted) < 8 || (quoted[0] != 8 && quoted[0] != 128) {
		return nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	for _, m := range msgs {
		if !(m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_RECVERR) &&
			!(m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_RECVERR) {
			continue
		}
		if len(m.Data) < int(unsafe.Sizeof(unix.SockExtendedErr{})) {
			continue
		}
		ee := (*unix.SockExtendedErr)(unsafe.Pointer(&m.Data[0]))
		typ, mtu, ok := icmpType(ee)
		if !ok {
			return nil
		}
		return &icmperr.Error{Type: typ, Seq: binary.BigEndian.Uint16(quoted[6:8]), MTU: mtu}
	}
	return nil
}

// icmpType maps an extended socket error to what the client is told.
func icmpType(ee *unix.SockExtendedErr) (icmperr.Type, int, bool) {
	switch ee.Origin {
	case unix.SO_EE_ORIGIN_ICMP:
		if ee.Type != 3 { // destination unreachable; time exceeded and the rest are not carried
			return 0, 0, false
		}
		switch ee.Code {
		case 4: // fragmentation needed
			return icmperr.TooBig, int(ee.Info), true
		case 0, 6, 11: // network unreachable, unknown, for the TOS
			return icmperr.NetUnreachable, 0, true
		case 9, 10, 13: // administratively prohibited
			return icmperr.Prohibited, 0, true
		}
		return icmperr.HostUnreachable, 0, true
	case unix.SO_EE_ORIGIN_ICMP6:
		switch ee.Type {
		case 2: // packet too big
			return icmperr.TooBig, int(ee.Info), true
		case 1: // destination unreachable
			switch ee.Code {
			case 0: // no route
				return icmperr.NetUnreachable, 0, true
			case 1, 5, 6: // administratively prohibited, policy, reject route
				return icmperr.Prohibited, 0, true
			}
			return icmperr.HostUnreachable, 0, true
		}
	case unix.SO_EE_ORIGIN_LOCAL:
		if ee.Errno == uint32(unix.EMSGSIZE) && ee.Info > 0 {
			return icmperr.TooBig, int(ee.Info), true
		}
	}
	return 0, 0, false
}

// pathMTU returns the path MTU the kernel knows for c's destination (a
// connected UDP socket), or 0.
func pathMTU(c net.Conn) int {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0
	}
	level, opt := unix.IPPROTO_IP, unix.IP_MTU
	if ua, ok := c.RemoteAddr().(*net.UDPAddr); ok && ua.IP.To4() == nil {
		level, opt = unix.IPPROTO_IPV6, unix.IPV6_MTU
	}
	mtu := 0
	rc.Control(func(fd uintptr) {
		if v, err := unix.GetsockoptInt(int(fd), level, opt); err == nil {
			mtu = v
		}
	})
	return mtu
}
