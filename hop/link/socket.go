package link

import (
	"context"
	"fmt"
	"net"
	"syscall"

	"github.com/pion/ice/v4"

	"github.com/pexia-network/pexia/internal/logger"
)

// socketBuffer is the kernel send and receive buffer size requested for the
// UDP socket handed to pion.
const socketBuffer = 4 << 20

// batchSize is the most datagrams one sendmmsg(2) sends (Linux; see
// batchConn). A batchSize of 1 sends each datagram with its own sendto(2)
// (benchmarks compare the two).
var batchSize = 64

// defaultUDPAddr listens on every interface, IPv6 and IPv4 on one
// dual-stack socket where the host has IPv6.
const defaultUDPAddr = ":0"

// listenUDP opens the UDP socket pion will use, with large buffers and, if
// mark is non-zero, the given firewall mark.
func listenUDP(addr string, mark int, logf logger.Logf) (*net.UDPConn, error) {
	logf = logger.OrDiscard(logf)
	if addr == "" {
		addr = defaultUDPAddr
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		return setMark(c, mark)
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp", addr)
	if err != nil {
		return nil, fmt.Errorf("link: listen udp %s: %w", addr, err)
	}
	conn, ok := pc.(*net.UDPConn)
	if !ok {
		_ = pc.Close()
		return nil, fmt.Errorf("link: listen udp %s: got %T", addr, pc)
	}
	setBuffers(conn, socketBuffer, logf)
	return conn, nil
}

// newUDPMux opens a socket and wraps it in the ICE mux pion reads from,
// its writes batched (see batchSize) and impaired if imp says so. Closing
// the mux closes the socket.
func newUDPMux(addr string, mark int, imp *Impairment, logf logger.Logf) (*ice.UDPMuxDefault, error) {
	conn, err := listenUDP(addr, mark, logf)
	if err != nil {
		return nil, err
	}
	var pc net.PacketConn = conn
	if batchSize > 1 {
		pc = batchPacketConn(conn)
	}
	if imp.active() {
		pc = impair(pc, *imp)
	}
	return ice.NewUDPMuxDefault(ice.UDPMuxParams{
		UDPConn: pc,
		Logger:  pionLoggers{logf: logf}.NewLogger("udpmux"),
	}), nil
}
