package netstack

import (
	"bytes"
	"errors"
	"io"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/waiter"
)

// epConn reads and writes a connected gVisor TCP endpoint. It is the hot
// path of every TCP flow, so unlike gonet it keeps its wait channel and
// reader state across calls (no allocation per call) and returns gVisor's
// errors unchanged. Reads never block: the flow reads when the stack says
// the endpoint is readable (tcpFlow.wakeUpload), so an idle flow has no
// goroutine parked on its app side. One goroutine may read while another
// Writes.
type epConn struct {
	ep tcpip.Endpoint
	wq *waiter.Queue

	wEntry waiter.Entry
	wCh    chan struct{}

	sw tcpip.SliceWriter // used by Read only
	br bytes.Reader      // used by Write only
}

func newEpConn(ep tcpip.Endpoint, wq *waiter.Queue) *epConn {
	c := &epConn{ep: ep, wq: wq}
	c.wEntry, c.wCh = waiter.NewChannelEntry(waiter.WritableEvents | waiter.EventHUp | waiter.EventErr)
	wq.EventRegister(&c.wEntry)
	return c
}

// tcpipError carries a gVisor error as a Go error.
type tcpipError struct{ err tcpip.Error }

func (e tcpipError) Error() string { return "netstack: " + e.err.String() }

// errWouldBlock is tryRead's answer when nothing is there to read.
var errWouldBlock = errors.New("netstack: would block")

// tryRead reads what is available without blocking: errWouldBlock if
// nothing is. A FIN from the app is io.EOF; a reset or abort is a
// tcpipError.
func (c *epConn) tryRead(b []byte) (int, error) {
	c.sw = b
	res, err := c.ep.Read(&c.sw, tcpip.ReadOptions{})
	c.sw = nil
	switch err.(type) {
	case nil:
		if res.Count > 0 {
			// Receive buffer auto-tuning follows the reader.
			c.ep.ModerateRecvBuf(res.Count)
		}
		return res.Count, nil
	case *tcpip.ErrWouldBlock:
		return 0, errWouldBlock
	case *tcpip.ErrClosedForReceive:
		return 0, io.EOF
	default:
		return 0, tcpipError{err}
	}
}

// Write writes all of b, blocking while the send buffer is full.
func (c *epConn) Write(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		c.br.Reset(b[n:])
		m, err := c.ep.Write(&c.br, tcpip.WriteOptions{})
		n += int(m)
		switch err.(type) {
		case nil:
		case *tcpip.ErrWouldBlock:
			<-c.wCh
		default:
			return n, tcpipError{err}
		}
	}
	c.br.Reset(nil)
	return n, nil
}

// CloseWrite sends a FIN to the app after the data written so far.
func (c *epConn) CloseWrite() error {
	if err := c.ep.Shutdown(tcpip.ShutdownWrite); err != nil {
		return tcpipError{err}
	}
	return nil
}

// release unregisters the wait entry; the endpoint is closed separately.
func (c *epConn) release() {
	c.wq.EventUnregister(&c.wEntry)
}
