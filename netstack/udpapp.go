package netstack

import (
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/waiter"
)

// udpApp is the app side of a UDP flow. A flow waits for its next
// datagram without holding a buffer (wait), then reads it into a pooled
// one: most UDP flows are idle most of the time, and a datagram may be up
// to 64 KiB.
type udpApp struct {
	*gonet.UDPConn
	ep    tcpip.Endpoint
	wq    *waiter.Queue
	entry waiter.Entry
	ch    chan struct{}
}

func newUDPApp(ep tcpip.Endpoint, wq *waiter.Queue) *udpApp {
	a := &udpApp{UDPConn: gonet.NewUDPConn(wq, ep), ep: ep, wq: wq}
	a.entry, a.ch = waiter.NewChannelEntry(waiter.ReadableEvents | waiter.EventHUp | waiter.EventErr)
	wq.EventRegister(&a.entry)
	return a
}

// wait blocks until a datagram is pending or the endpoint is closed
// (true), or until d passes (false); d <= 0 waits without limit.
func (a *udpApp) wait(d time.Duration) bool {
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	for a.ep.Readiness(waiter.ReadableEvents) == 0 {
		select {
		case <-a.ch:
		case <-timeout:
			return false
		}
	}
	return true
}

// Close closes the endpoint and unregisters the wait entry.
func (a *udpApp) Close() error {
	err := a.UDPConn.Close()
	a.wq.EventUnregister(&a.entry)
	return err
}
