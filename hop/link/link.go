package link

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/pion/datachannel"
	"github.com/pion/webrtc/v4"

	"github.com/pexia-network/pexia/internal/logger"
)

// ctrlLabel names the pre-negotiated channel on SCTP stream 0 whose opening
// tells each side the association is up.
const ctrlLabel = "pexia-link"

// acceptBacklog bounds the channels the peer opened that wait for
// AcceptChannel; beyond it further channels are refused (closed).
const acceptBacklog = 256

// errPeerClosed and errPeerLost are the causes Err reports for a link the
// peer ended or that stopped answering.
var (
	errPeerClosed = errors.New("link: closed by peer")
	errPeerLost   = errors.New("link: peer stopped answering")
)

// Link is one WebRTC PeerConnection between two parties. It carries many
// channels, typically one per circuit. Its methods are safe for concurrent
// use.
type Link struct {
	pc     *webrtc.PeerConnection
	mux    io.Closer // UDP mux owned by this link; nil when a Listener owns it
	window uint64    // per-channel send window, bytes
	logf   logger.Logf

	ready     chan struct{} // closed when the control channel opens
	readyOnce sync.Once
	incoming  chan *channel
	done      chan struct{} // closed when the link dies
	closed    chan struct{} // closed when teardown has finished
	onClosed  func(*Link)   // set before start; called after teardown

	mu  sync.Mutex
	err error // why the link died; nil while alive

	lane   lane // the datagram lane (lane.go)
	noLane bool // a dialer that offers none
}

// newLink creates the PeerConnection and its reserved control channel and
// starts the goroutine that tears the link down once it dies. mux, if not
// nil, is closed by the teardown. window is the per-channel send window
// (0: DefaultChannelWindow).
func newLink(api *webrtc.API, mux io.Closer, window int, logf logger.Logf, onClosed func(*Link)) (*Link, error) {
	logf = logger.OrDiscard(logf)
	if window <= 0 {
		window = DefaultChannelWindow
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("link: new peer connection: %w", err)
	}
	l := &Link{
		pc:       pc,
		mux:      mux,
		window:   uint64(window),
		logf:     logf,
		ready:    make(chan struct{}),
		incoming: make(chan *channel, acceptBacklog),
		done:     make(chan struct{}),
		closed:   make(chan struct{}),
		onClosed: onClosed,
	}
	negotiated, id := true, uint16(0)
	ctrl, err := pc.CreateDataChannel(ctrlLabel, &webrtc.DataChannelInit{Negotiated: &negotiated, ID: &id})
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("link: control channel: %w", err)
	}
	ctrl.OnOpen(func() {
		// Detached but never read or written: the PeerConnection's close
		// releases it.
		if _, err := ctrl.Detach(); err != nil {
			l.die(fmt.Errorf("link: detach control channel: %w", err))
			return
		}
		l.readyOnce.Do(func() { close(l.ready) })
	})
	pc.OnDataChannel(l.onDataChannel)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateDisconnected:
			logf("link: peer silent, waiting before giving up")
		case webrtc.PeerConnectionStateFailed:
			l.die(errPeerLost)
		case webrtc.PeerConnectionStateClosed:
			l.die(errPeerClosed)
		default:
		}
	})
	pc.SCTP().OnClose(func(err error) {
		if err == nil || errors.Is(err, io.EOF) {
			l.die(errPeerClosed)
			return
		}
		l.die(fmt.Errorf("%w: %w", errPeerClosed, err))
	})
	go l.teardown()
	return l, nil
}

// die records why the link ended (the first cause wins) and wakes the
// teardown.
func (l *Link) die(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return
	}
	l.err = err
	close(l.done)
}

// teardown waits for the link to die, then releases everything it holds.
func (l *Link) teardown() {
	<-l.done
	if err := l.pc.GracefulClose(); err != nil {
		l.logf("link: close peer connection: %v", err)
	}
	l.closeLane()
	if l.mux != nil {
		_ = l.mux.Close()
	}
	// Channels the peer opened that nobody accepted. onDataChannel does
	// not queue once done is closed (it checks under mu).
	l.mu.Lock()
	close(l.incoming)
	l.mu.Unlock()
	for c := range l.incoming {
		_ = c.Close()
	}
	close(l.closed)
	if l.onClosed != nil {
		l.onClosed(l)
	}
}

// Done returns a channel closed when the link has ended: closed by either
// side or the peer stopped answering (about 3 s of silence).
func (l *Link) Done() <-chan struct{} { return l.done }

// Err returns nil while the link is up and then why it ended; a link closed
// by Close reports net.ErrClosed.
func (l *Link) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Close ends the link and every channel on it and waits until pion has
// released the link's goroutines and socket. It is idempotent.
func (l *Link) Close() error {
	l.die(net.ErrClosed)
	<-l.closed
	return nil
}

// waitReady waits until the SCTP association is up.
func (l *Link) waitReady(ctx context.Context) error {
	select {
	case <-l.ready:
		return nil
	case <-l.done:
		return l.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Open opens a reliable ordered channel with the given label (at most 65535
// bytes; it is sent to the peer in clear inside the DTLS session). It
// returns once the channel is open on this side; the peer receives it from
// AcceptChannel.
func (l *Link) Open(ctx context.Context, label string) (Channel, error) {
	if len(label) > 65535 {
		return nil, errors.New("link: channel label longer than 65535 bytes")
	}
	if err := l.waitReady(ctx); err != nil {
		return nil, err
	}
	dc, err := l.pc.CreateDataChannel(label, nil)
	if err != nil {
		if errors.Is(err, webrtc.ErrMaxDataChannelID) {
			return nil, ErrExhausted
		}
		if l.Err() != nil {
			return nil, l.Err()
		}
		return nil, fmt.Errorf("link: open channel: %w", err)
	}
	type result struct {
		raw datachannel.ReadWriteCloserDeadliner
		err error
	}
	opened := make(chan result, 1)
	dc.OnOpen(func() {
		raw, err := dc.DetachWithDeadline()
		opened <- result{raw, err}
	})
	select {
	case r := <-opened:
		if r.err != nil {
			_ = dc.Close()
			return nil, fmt.Errorf("link: detach channel: %w", r.err)
		}
		return l.newChannel(dc, r.raw), nil
	case <-l.done:
		_ = dc.Close()
		return nil, l.Err()
	case <-ctx.Done():
		// If it opens after all, the peer sees it reset at once.
		_ = dc.Close()
		return nil, ctx.Err()
	}
}

// AcceptChannel returns the next channel the peer opened.
func (l *Link) AcceptChannel(ctx context.Context) (Channel, error) {
	select {
	case c, ok := <-l.incoming:
		if ok {
			return c, nil
		}
		return nil, l.Err()
	case <-l.done:
		return nil, l.Err()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// onDataChannel vets a channel the peer opened and queues it for
// AcceptChannel once it is open. Runs on pion's goroutines.
func (l *Link) onDataChannel(dc *webrtc.DataChannel) {
	if dc.Label() == laneLabel {
		l.acceptLane(dc)
		return
	}
	if !dc.Ordered() || dc.MaxRetransmits() != nil || dc.MaxPacketLifeTime() != nil {
		l.logf("link: refusing unreliable or unordered channel %q", dc.Label())
		_ = dc.Close()
		return
	}
	dc.OnOpen(func() {
		raw, err := dc.DetachWithDeadline()
		if err != nil {
			l.logf("link: detach channel %q: %v", dc.Label(), err)
			_ = dc.Close()
			return
		}
		c := l.newChannel(dc, raw)
		if !l.enqueue(c) {
			_ = c.Close()
		}
	})
}

// enqueue queues c for AcceptChannel unless the link is dead or the backlog
// is full.
func (l *Link) enqueue(c *channel) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return false
	}
	select {
	case l.incoming <- c:
		return true
	default:
		l.logf("link: %d channels waiting for AcceptChannel, refusing %q", acceptBacklog, c.label)
		return false
	}
}

// Channel is one reliable ordered data channel on a link, a stream of whole
// messages. Read and Write may be called concurrently with each other and
// with Close; concurrent Writes are serialized.
type Channel interface {
	// Read reads one whole message into p, which should hold
	// MaxMessageSize bytes; a longer message is truncated and Read returns
	// io.ErrShortBuffer. Read returns io.EOF once the peer has closed the
	// channel, net.ErrClosed after Close, and another error when the link
	// ends (see Link.Done and Link.Err).
	Read(p []byte) (int, error)
	// Write queues p, at most MaxMessageSize bytes, as one message. It
	// blocks while the channel's window is full: while the bytes written
	// but not yet acknowledged by the peer reach the channel window (see
	// DialConfig.ChannelWindow).
	Write(p []byte) (int, error)
	// Close closes the channel in both directions and unblocks pending
	// Reads and Writes.
	Close() error
	// Label returns the label the channel was opened with.
	Label() string
}

type channel struct {
	label  string
	dc     *webrtc.DataChannel // for the buffered amount
	raw    datachannel.ReadWriteCloserDeadliner
	window uint64
	link   *Link

	wmu       sync.Mutex    // serializes Writes
	drained   chan struct{} // signalled when the buffered amount falls to window/2
	closeOnce sync.Once
	closed    chan struct{}
}

func (l *Link) newChannel(dc *webrtc.DataChannel, raw datachannel.ReadWriteCloserDeadliner) *channel {
	c := &channel{
		label:   dc.Label(),
		dc:      dc,
		raw:     raw,
		window:  l.window,
		link:    l,
		drained: make(chan struct{}, 1),
		closed:  make(chan struct{}),
	}
	dc.SetBufferedAmountLowThreshold(c.window / 2)
	// Runs on the SCTP association's read loop: must not block.
	dc.OnBufferedAmountLow(func() {
		select {
		case c.drained <- struct{}{}:
		default:
		}
	})
	return c
}

func (c *channel) Label() string { return c.label }

func (c *channel) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

func (c *channel) Read(p []byte) (int, error) {
	if c.isClosed() {
		return 0, net.ErrClosed
	}
	n, err := c.raw.Read(p)
	switch {
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, io.ErrShortBuffer):
	case c.isClosed():
		return 0, net.ErrClosed
	default:
		select {
		case <-c.link.done:
			return 0, c.link.Err()
		default:
		}
	}
	return n, err
}

func (c *channel) Write(p []byte) (int, error) {
	if len(p) > MaxMessageSize {
		return 0, fmt.Errorf("link: message of %d bytes exceeds %d", len(p), MaxMessageSize)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	// Wait for the window. The buffered amount counts bytes queued and in
	// flight until the peer acknowledges them; the drained signal fires as
	// it falls to half the window, so a stale signal only costs a recheck.
	for c.dc.BufferedAmount() >= c.window {
		select {
		case <-c.drained:
		case <-c.closed:
			return 0, net.ErrClosed
		case <-c.link.done:
			return 0, c.link.Err()
		}
	}
	if c.isClosed() {
		return 0, net.ErrClosed
	}
	n, err := c.raw.Write(p)
	if err != nil && c.isClosed() {
		return 0, net.ErrClosed
	}
	return n, err
}

func (c *channel) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		// Reset the outgoing stream (the peer's Read sees io.EOF and resets
		// its side in turn), then wake our own blocked Read.
		_ = c.raw.Close()
		_ = c.raw.SetReadDeadline(time.Unix(1, 0))
	})
	return nil
}
