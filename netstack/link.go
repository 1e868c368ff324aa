package netstack

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.zx2c4.com/wireguard/tun"
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/stack/gro"
)

const (
	// tunOffset is the headroom left before each packet in TUN buffers;
	// the wireguard TUN writes its 10-byte virtio-net header there.
	tunOffset = 16
	// maxPacket is the largest IP packet a TUN carries. Write buffers need
	// this much room even at a small MTU: the wireguard TUN coalesces the
	// following segments of a flow into the first one's buffer.
	maxPacket = 65535
	// maxQueued bounds the packets waiting for the writer goroutine;
	// senders block beyond it.
	maxQueued = 2048
	// flushTimeout bounds how long Close waits for queued packets.
	flushTimeout = time.Second
)

// link is the gVisor link endpoint on top of a tun.Device: a reader
// goroutine delivers packet batches into the stack and a writer goroutine
// writes what the stack queued. See the package documentation.
type link struct {
	dev   tun.Device
	vnet  *os.File // the device file when the offload path is on (vnet.go)
	batch int
	c     *counters
	logf  func(string, ...any)

	// echo, if set, takes the ICMP echo requests read from the device
	// before gVisor sees them (echo.go); it reports whether it took pkt.
	// Set before start.
	echo func(pkt []byte) bool

	dmu        sync.RWMutex
	dispatcher stack.NetworkDispatcher // guarded by dmu

	qmu     sync.Mutex
	qcond   sync.Cond             // signalled when the queue drains or closes; uses qmu
	queue   []*stack.PacketBuffer // guarded by qmu
	qclosed bool                  // guarded by qmu
	wake    chan struct{}         // cap 1: work for the writer

	mtuNow atomic.Uint32 // current MTU, follows EventMTUUpdate

	writeFailures int // consecutive failed writes; writer goroutine only

	readerDone chan struct{}
	writerDone chan struct{}
	eventsDone chan struct{}
	closeOnce  sync.Once
	closeErr   error
}

var (
	_ stack.LinkEndpoint = (*link)(nil)
	_ stack.GSOEndpoint  = (*link)(nil)
)

func newLink(dev tun.Device, mtu int, c *counters, logf func(string, ...any)) *link {
	l := &link{
		dev:        dev,
		batch:      max(dev.BatchSize(), 1),
		c:          c,
		logf:       logf,
		wake:       make(chan struct{}, 1),
		readerDone: make(chan struct{}),
		writerDone: make(chan struct{}),
		eventsDone: make(chan struct{}),
		vnet:       vnetFile(dev, logf),
	}
	l.mtuNow.Store(uint32(mtu))
	l.qcond.L = &l.qmu
	return l
}

// start launches the reader and writer; the NIC must be attached.
func (l *link) start() {
	go l.readLoop()
	go l.writeLoop()
	go l.eventLoop()
}

// eventLoop consumes the device's events until Close closes the channel:
// the wireguard TUN blocks its netlink listener when nobody reads them. An
// MTU change is followed; up and down are logged.
func (l *link) eventLoop() {
	defer close(l.eventsDone)
	up := true // as far as New knows
	for ev := range l.dev.Events() {
		if ev&tun.EventMTUUpdate != 0 {
			if mtu, err := l.dev.MTU(); err == nil && mtu >= minMTU && mtu <= maxMTU {
				if old := l.mtuNow.Swap(uint32(mtu)); old != uint32(mtu) {
					l.logf("tun mtu changed from %d to %d", old, mtu)
				}
			}
		}
		if ev&tun.EventDown != 0 && up {
			up = false
			l.logf("tun down")
		}
		if ev&tun.EventUp != 0 && !up {
			up = true
			l.logf("tun up")
		}
	}
}

// shutdown writes out what is queued (the resets of the flows just
// closed), closes the device and waits for the goroutines. A device whose
// Write hangs gets flushTimeout before it is closed under the writer.
// Safe to call more than once.
func (l *link) shutdown() error {
	l.closeOnce.Do(func() {
		l.qmu.Lock()
		l.qclosed = true
		l.qcond.Broadcast()
		l.qmu.Unlock()
		l.kick()
		select {
		case <-l.writerDone:
		case <-time.After(flushTimeout):
		}
		l.closeErr = l.dev.Close()
		<-l.writerDone
		<-l.readerDone
		<-l.eventsDone
	})
	return l.closeErr
}

func (l *link) kick() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *link) readLoop() {
	defer close(l.readerDone)
	if l.vnet != nil {
		l.vnetReadLoop()
		return
	}
	bufs := make([][]byte, l.batch)
	sizes := make([]int, l.batch)
	for i := range bufs {
		bufs[i] = make([]byte, tunOffset+maxPacket)
	}
	var g gro.GRO
	g.Init(true)
	failures := 0
	for {
		n, err := l.dev.Read(bufs, sizes, tunOffset)
		if n > 0 {
			l.deliver(&g, bufs[:n], sizes[:n])
		}
		if err == nil {
			failures = 0
			continue
		}
		if errors.Is(err, os.ErrClosed) {
			return
		}
		if errors.Is(err, tun.ErrTooManySegments) {
			l.c.drops.Add(1)
			continue
		}
		l.readFailed(err, &failures)
	}
}

// deliverOne hands one packet to the stack.
func (l *link) deliverOne(pkt []byte) {
	l.dmu.RLock()
	d := l.dispatcher
	l.dmu.RUnlock()
	if d == nil {
		return
	}
	l.c.packetsIn.Add(1)
	proto, ok := ipProto(pkt)
	if !ok {
		l.c.drops.Add(1)
		return
	}
	if l.echo != nil && l.echo(pkt) {
		return
	}
	pb := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(pkt)})
	pb.NetworkProtocolNumber = proto
	pb.RXChecksumValidated = true
	d.DeliverNetworkPacket(proto, pb)
	pb.DecRef()
}

func ipProto(pkt []byte) (tcpip.NetworkProtocolNumber, bool) {
	switch header.IPVersion(pkt) {
	case header.IPv4Version:
		return header.IPv4ProtocolNumber, true
	case header.IPv6Version:
		return header.IPv6ProtocolNumber, true
	}
	return 0, false
}

// deliver hands one batch to the stack through GRO.
func (l *link) deliver(g *gro.GRO, bufs [][]byte, sizes []int) {
	l.dmu.RLock()
	d := l.dispatcher
	l.dmu.RUnlock()
	if d == nil {
		return
	}
	g.Dispatcher = d
	l.c.packetsIn.Add(uint64(len(bufs)))
	for i, b := range bufs {
		pkt := b[tunOffset : tunOffset+sizes[i]]
		proto, ok := ipProto(pkt)
		if !ok {
			l.c.drops.Add(1)
			continue
		}
		if l.echo != nil && l.echo(pkt) {
			continue
		}
		pb := stack.NewPacketBuffer(stack.PacketBufferOptions{
			Payload: buffer.MakeWithData(pkt),
		})
		pb.NetworkProtocolNumber = proto
		pb.RXChecksumValidated = true
		g.Enqueue(pb)
		pb.DecRef()
	}
	g.Flush()
}

// WritePackets queues pkts for the writer goroutine. It blocks while the
// queue is full, which slows the senders down instead of dropping.
func (l *link) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	n := 0
	l.qmu.Lock()
	for _, pkt := range pkts.AsSlice() {
		for len(l.queue) >= maxQueued && !l.qclosed {
			l.qcond.Wait()
		}
		if l.qclosed {
			break
		}
		l.queue = append(l.queue, pkt.IncRef())
		n++
	}
	l.qmu.Unlock()
	if n == 0 {
		return 0, &tcpip.ErrClosedForSend{}
	}
	l.kick()
	return n, nil
}

// inject queues pkt, a complete IP packet built outside gVisor, for the
// writer. Unlike WritePackets it never waits: when the queue is full or
// closed pkt is dropped and counted, and inject reports false.
func (l *link) inject(pkt []byte) bool {
	pb := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(pkt)})
	l.qmu.Lock()
	if l.qclosed || len(l.queue) >= maxQueued {
		l.qmu.Unlock()
		pb.DecRef()
		l.c.drops.Add(1)
		return false
	}
	l.queue = append(l.queue, pb)
	l.qmu.Unlock()
	l.kick()
	return true
}

func (l *link) writeLoop() {
	defer close(l.writerDone)
	var (
		spare []*stack.PacketBuffer
		bufs  = make([][]byte, 0, l.batch) // grown lazily, each tunOffset+maxPacket
		out   = make([][]byte, 0, l.batch)
	)
	for {
		<-l.wake
		for {
			l.qmu.Lock()
			if len(l.queue) == 0 {
				closed := l.qclosed
				l.qmu.Unlock()
				if closed {
					return
				}
				break
			}
			// Swap the queue with the drained spare; senders fill one
			// while this loop writes the other.
			all := l.queue
			l.queue, spare = spare[:0], nil
			l.qcond.Broadcast()
			l.qmu.Unlock()
			if l.vnet != nil {
				l.vnetWriteAll(all, &bufs)
				clear(all)
				spare = all[:0]
				continue
			}
			for pkts := all; len(pkts) > 0; {
				k := min(len(pkts), l.batch)
				out = out[:0]
				for i, pkt := range pkts[:k] {
					if i == len(bufs) {
						bufs = append(bufs, make([]byte, tunOffset+maxPacket))
					}
					if size := pkt.Size(); size <= maxPacket {
						out = append(out, bufs[i][:tunOffset+copyPacket(bufs[i][tunOffset:], pkt)])
					} else {
						l.c.drops.Add(1)
					}
					pkt.DecRef()
				}
				clear(pkts[:k])
				pkts = pkts[k:]
				if len(out) == 0 {
					continue
				}
				_, err := l.dev.Write(out, tunOffset)
				l.wrote(len(out), err)
			}
			spare = all[:0]
		}
	}
}

// vnetWriteAll writes pkts one by one on the offload path and releases
// them.
func (l *link) vnetWriteAll(pkts []*stack.PacketBuffer, bufs *[][]byte) {
	if len(*bufs) == 0 {
		*bufs = append(*bufs, make([]byte, virtioHdrLen+maxPacket))
	}
	buf := (*bufs)[0]
	for _, pkt := range pkts {
		if pkt.Size() > maxPacket {
			l.c.drops.Add(1)
		} else {
			l.wrote(1, l.vnetWrite(buf, pkt))
		}
		pkt.DecRef()
	}
}

// wrote accounts for a write of n packets; errors are logged sparingly (a
// TUN that is down fails every write).
func (l *link) wrote(n int, err error) {
	if err == nil {
		l.c.packetsOut.Add(uint64(n))
		l.writeFailures = 0
		return
	}
	l.c.drops.Add(uint64(n))
	l.writeFailures++
	if !errors.Is(err, os.ErrClosed) && (l.writeFailures <= errLogFirst || l.writeFailures%errLogEvery == 0) {
		l.logf("tun write: %v", err)
	}
}

// copyPacket copies the whole packet (headers and payload) into dst, which
// must be large enough, and returns its length.
func copyPacket(dst []byte, pkt *stack.PacketBuffer) int {
	views, off := pkt.AsViewList()
	n := 0
	for v := views.Front(); v != nil; v = v.Next() {
		b := v.AsSlice()
		if off >= len(b) {
			off -= len(b)
			continue
		}
		n += copy(dst[n:], b[off:])
		off = 0
	}
	return n
}

// MTU implements stack.LinkEndpoint.
func (l *link) MTU() uint32 { return l.mtuNow.Load() }

// SetMTU implements stack.LinkEndpoint; the MTU is fixed by the device.
func (l *link) SetMTU(uint32) {}

// MaxHeaderLength implements stack.LinkEndpoint: a TUN has no link header.
func (l *link) MaxHeaderLength() uint16 { return 0 }

// LinkAddress implements stack.LinkEndpoint.
func (l *link) LinkAddress() tcpip.LinkAddress { return "" }

// SetLinkAddress implements stack.LinkEndpoint.
func (l *link) SetLinkAddress(tcpip.LinkAddress) {}

// Capabilities implements stack.LinkEndpoint.
func (l *link) Capabilities() stack.LinkEndpointCapabilities {
	return stack.CapabilityRXChecksumOffload
}

// GSOMaxSize implements stack.GSOEndpoint.
func (l *link) GSOMaxSize() uint32 {
	if l.vnet != nil {
		return vnetGSOMaxSize
	}
	return stack.GVisorGSOMaxSize
}

// SupportedGSO implements stack.GSOEndpoint: on the offload path the
// kernel segments gVisor's large TCP segments; otherwise gVisor splits
// them itself.
func (l *link) SupportedGSO() stack.SupportedGSO {
	if l.vnet != nil {
		return stack.HostGSOSupported
	}
	return stack.GVisorGSOSupported
}

// Attach implements stack.LinkEndpoint.
func (l *link) Attach(d stack.NetworkDispatcher) {
	l.dmu.Lock()
	l.dispatcher = d
	l.dmu.Unlock()
}

// IsAttached implements stack.LinkEndpoint.
func (l *link) IsAttached() bool {
	l.dmu.RLock()
	defer l.dmu.RUnlock()
	return l.dispatcher != nil
}

// Wait implements stack.LinkEndpoint; the goroutines end in shutdown.
func (l *link) Wait() {}

// ARPHardwareType implements stack.LinkEndpoint.
func (l *link) ARPHardwareType() header.ARPHardwareType { return header.ARPHardwareNone }

// AddHeader implements stack.LinkEndpoint.
func (l *link) AddHeader(*stack.PacketBuffer) {}

// ParseHeader implements stack.LinkEndpoint.
func (l *link) ParseHeader(*stack.PacketBuffer) bool { return true }

// Close implements stack.LinkEndpoint; the device is closed by shutdown.
func (l *link) Close() {}

// SetOnCloseAction implements stack.LinkEndpoint.
func (l *link) SetOnCloseAction(func()) {}
