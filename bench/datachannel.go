package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"time"

	"github.com/pexia-network/pexia/hop/link"
)

// datachannelSuite measures a bare link (one pion PeerConnection, no
// circuit) between a dialer and a listener in this process on loopback:
// setup time and 64-byte echo round trip. Its bulk throughput
// (datachannel.raw_mbps) is measured by the circuit suite, in turns with
// the 1-hop circuit it is compared with. The link has the settings
// circuits use (link package defaults).
func datachannelSuite(res Results) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bl, err := newBareLink()
	if err != nil {
		return err
	}
	defer bl.close()

	// Setup: Dial until the first channel has carried one message each way.
	const setups = 7
	var setup []time.Duration
	for range setups {
		d, err := benchSetup(ctx, bl.l, bl.url, bl.pin, bl.dc)
		if err != nil {
			return fmt.Errorf("setup: %w", err)
		}
		setup = append(setup, d)
	}
	res.set("datachannel.setup_ms", float64(median(setup).Microseconds())/1e3, "ms")

	client, server, err := bl.dial(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	defer server.Close()
	rtt, err := benchEcho(ctx, client, server, 1000, 64)
	if err != nil {
		return fmt.Errorf("echo: %w", err)
	}
	res.set("datachannel.rtt_us", float64(rtt.Nanoseconds())/1e3, "µs")
	return nil
}

// bareLink is a link listener on loopback for bare-channel measurements.
type bareLink struct {
	l      *link.Listener
	url    string
	pin    link.Pin
	dc     link.DialConfig
	served chan error
}

func newBareLink() (*bareLink, error) {
	cert, pin, err := link.NewCertificate()
	if err != nil {
		return nil, err
	}
	l, err := link.NewListener(link.ListenConfig{UDPAddr: "127.0.0.1:0", Certificate: cert})
	if err != nil {
		return nil, err
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	b := &bareLink{l: l, url: "https://" + tcp.Addr().String() + "/link", pin: pin,
		dc: link.DialConfig{UDPAddr: "127.0.0.1:0"}, served: make(chan error, 1)}
	go func() { b.served <- l.Serve(tcp) }()
	return b, nil
}

// dial returns both ends of a new link.
func (b *bareLink) dial(ctx context.Context) (client, server *link.Link, err error) {
	client, err = link.Dial(ctx, b.url, b.pin, b.dc)
	if err != nil {
		return nil, nil, err
	}
	server, err = b.l.Accept(ctx)
	if err != nil {
		client.Close()
		return nil, nil, err
	}
	return client, server, nil
}

func (b *bareLink) close() {
	_ = b.l.Close()
	<-b.served
}

// benchSetup dials a fresh link and returns the time until a channel opened
// on it has echoed one message.
func benchSetup(ctx context.Context, l *link.Listener, url string, pin link.Pin, dc link.DialConfig) (time.Duration, error) {
	start := time.Now()
	client, err := link.Dial(ctx, url, pin, dc)
	if err != nil {
		return 0, err
	}
	defer client.Close()
	server, err := l.Accept(ctx)
	if err != nil {
		return 0, err
	}
	defer server.Close()
	ch, err := client.Open(ctx, "setup")
	if err != nil {
		return 0, err
	}
	defer ch.Close()
	peer, err := server.AcceptChannel(ctx)
	if err != nil {
		return 0, err
	}
	defer peer.Close()
	buf := make([]byte, link.MaxMessageSize)
	if _, err := ch.Write([]byte{1}); err != nil {
		return 0, err
	}
	if _, err := peer.Read(buf); err != nil {
		return 0, err
	}
	if _, err := peer.Write([]byte{2}); err != nil {
		return 0, err
	}
	if _, err := ch.Read(buf); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// benchBulk sends total bytes in size-byte messages on one channel from
// client to server and returns the goodput in Mbit/s.
func benchBulk(ctx context.Context, client, server *link.Link, total, size int) (float64, error) {
	ch, err := client.Open(ctx, "bulk")
	if err != nil {
		return 0, err
	}
	defer ch.Close()
	peer, err := server.AcceptChannel(ctx)
	if err != nil {
		return 0, err
	}
	defer peer.Close()

	recvd := make(chan error, 1)
	var received int
	go func() {
		buf := make([]byte, link.MaxMessageSize)
		for received < total {
			n, err := peer.Read(buf)
			if err != nil {
				recvd <- err
				return
			}
			received += n
		}
		recvd <- nil
	}()
	msg := make([]byte, size)
	start := time.Now()
	for sent := 0; sent < total; sent += size {
		if _, err := ch.Write(msg); err != nil {
			return 0, err
		}
	}
	select {
	case err := <-recvd:
		if err != nil {
			return 0, err
		}
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	secs := time.Since(start).Seconds()
	return float64(received) * 8 / secs / 1e6, nil
}

// benchEcho returns the median round trip of n size-byte echoes.
func benchEcho(ctx context.Context, client, server *link.Link, n, size int) (time.Duration, error) {
	ch, err := client.Open(ctx, "echo")
	if err != nil {
		return 0, err
	}
	defer ch.Close()
	peer, err := server.AcceptChannel(ctx)
	if err != nil {
		return 0, err
	}
	echoed := make(chan error, 1)
	go func() {
		buf := make([]byte, link.MaxMessageSize)
		for {
			m, err := peer.Read(buf)
			if err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
					err = nil
				}
				echoed <- err
				return
			}
			if _, err := peer.Write(buf[:m]); err != nil {
				echoed <- err
				return
			}
		}
	}()
	defer func() {
		_ = peer.Close()
		<-echoed
	}()
	msg := make([]byte, size)
	buf := make([]byte, link.MaxMessageSize)
	rtts := make([]time.Duration, 0, n)
	for i := range n + 10 {
		start := time.Now()
		if _, err := ch.Write(msg); err != nil {
			return 0, err
		}
		if _, err := ch.Read(buf); err != nil {
			return 0, err
		}
		if i >= 10 { // warm-up
			rtts = append(rtts, time.Since(start))
		}
	}
	return median(rtts), nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
