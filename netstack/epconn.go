package netstack

import (
	"bytes"
	"io"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/waiter"
)

// epConn reads and writes a connected gVisor TCP endpoint. It is the hot
// path of every TCP flow, so unlike gonet it keeps its wait channels and
// reader state across calls (no allocation per call) and returns gVisor's
// errors unchanged. One goroutine may Read while another Writes.
type epConn struct {
	ep tcpip.Endpoint
	wq *waiter.Queue

	rEntry waiter.Entry
	rCh    chan struct{}
	wEntry waiter.Entry
	wCh    chan struct{}

	sw tcpip.SliceWriter // used by Read only
	br bytes.Reader      // used by Write only
}

func newEpConn(ep tcpip.Endpoint, wq *waiter.Queue) *epConn {
	c := &epConn{ep: ep, wq: wq}
	c.rEntry, c.rCh = waiter.NewChannelEntry(waiter.ReadableEvents | waiter.EventHUp | waiter.EventErr)
	c.wEntry, c.wCh = waiter.NewChannelEntry(waiter.WritableEvents | waiter.EventHUp | waiter.EventErr)
	wq.EventRegister(&c.rEntry)
	wq.EventRegister(&c.wEntry)
	return c
}

// tcpipError carries a gVisor error as a Go error.
type tcpipError struct{ err tcpip.Error }

func (e tcpipError) Error() string { return "netstack: " + e.err.String() }

// Read reads what is available, blocking until something is. A FIN from
// the app is io.EOF; a reset or abort is a tcpipError.
func (c *epConn) Read(b []byte) (int, error) {
	for {
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
			<-c.rCh
		case *tcpip.ErrClosedForReceive:
			return 0, io.EOF
		default:
			return 0, tcpipError{err}
		}
	}
}

// readable reports whether a Read would return at once (data, FIN or
// error pending).
func (c *epConn) readable() bool {
	return c.ep.Readiness(waiter.ReadableEvents) != 0
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

// release unregisters the wait entries; the endpoint is closed separately.
func (c *epConn) release() {
	c.wq.EventUnregister(&c.rEntry)
	c.wq.EventUnregister(&c.wEntry)
}
