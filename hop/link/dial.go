package link

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/pexia-network/pexia/internal/logger"
)

// defaultDialTimeout bounds a Dial whose context has no earlier deadline.
const defaultDialTimeout = 15 * time.Second

// DialConfig configures [Dial]. The zero value is usable.
type DialConfig struct {
	// UDPAddr is the local address of the link's own UDP socket. Empty
	// means ":0": an ephemeral port on every interface, IPv6 and IPv4. If
	// it names an IP address, the signaling connection is made from that
	// address too.
	UDPAddr string
	// Mark, if not zero, is set as the firewall mark (SO_MARK) of the
	// link's UDP socket and of the signaling TCP connection, so policy
	// routing can keep them out of the tunnel. Linux only (it needs
	// CAP_NET_ADMIN); ignored on other systems.
	Mark int
	// Timeout bounds the whole Dial when ctx has no earlier deadline.
	// Default 15 s.
	Timeout time.Duration
	// ChannelWindow bounds the bytes each channel of the link may have
	// written but not yet acknowledged by the peer; Write blocks beyond it.
	// It bounds how much one busy channel delays the others (they share
	// one SCTP send queue) and caps one channel's throughput at
	// ChannelWindow per round trip (1 MiB at 50 ms: 160 Mbit/s). Default
	// DefaultChannelWindow.
	ChannelWindow int
	// Logf receives diagnostics; nil is silent.
	// Impair, if set, delays and drops the packets the link sends (see
	// Impairment); for tests and benchmarks.
	Impair *Impairment
	// NoDatagramLane makes the link without a datagram lane, as links
	// were before the lane (docs/PROTOCOL.md 2.9).
	NoDatagramLane bool
	Logf           logger.Logf
}

// Dial opens a link to the node whose signaling endpoint is signalURL (an
// https URL), accepting only a TLS certificate matching pin. It returns once
// the link can carry channels. The link owns a fresh UDP socket and a fresh
// DTLS certificate, so links to different nodes share neither.
//
// Its offer lists one host candidate: the local address the kernel sends
// from to reach the node's signaling address (with the link's mark), or
// the address UDPAddr names. The node learns no other address of the
// client's (no LAN, ULA or loopback address of another interface).
func Dial(ctx context.Context, signalURL string, pin Pin, cfg DialConfig) (*Link, error) {
	cfg.Logf = logger.OrDiscard(cfg.Logf)
	u, err := url.Parse(signalURL)
	if err != nil {
		return nil, fmt.Errorf("link: dial: %w", err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("link: dial %q: want an https URL", signalURL)
	}
	if pin.IsZero() {
		return nil, fmt.Errorf("link: dial %s: %w: no pin", u.Host, ErrPinMismatch)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = defaultDialTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	from, err := signalingSource(cfg.UDPAddr)
	if err != nil {
		return nil, err
	}
	// Signaling connects first: the node address it reached is the one
	// the offer's candidate must route to.
	conn, err := dialSignaling(ctx, u, from, cfg.Mark)
	if err != nil {
		return nil, fmt.Errorf("link: dial %s: %w", u.Host, err)
	}
	defer conn.close()
	src, err := routeSource(ctx, conn.remote, cfg.Mark)
	if err != nil {
		return nil, fmt.Errorf("link: dial %s: %w", u.Host, err)
	}
	mux, err := newUDPMux(cfg.UDPAddr, cfg.Mark, cfg.Impair, cfg.Logf)
	if err != nil {
		return nil, err
	}
	scoped, err := scope(mux, src)
	if err != nil {
		_ = mux.Close()
		return nil, fmt.Errorf("link: dial %s: %w", u.Host, err)
	}
	l, err := newLink(newAPI(scoped, cfg.Logf), mux, cfg.ChannelWindow, cfg.Logf, nil)
	if err != nil {
		_ = mux.Close()
		return nil, err
	}
	l.noLane = cfg.NoDatagramLane
	if err := l.dial(ctx, u.String(), pin, conn); err != nil {
		_ = l.Close()
		return nil, fmt.Errorf("link: dial %s: %w", u.Host, err)
	}
	return l, nil
}

// dial runs the offer/answer exchange over conn and waits for the link to
// come up.
func (l *Link) dial(ctx context.Context, signalURL string, pin Pin, conn *signalConn) error {
	offer, err := l.pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("create offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(l.pc)
	if err := l.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("set offer: %w", err)
	}
	select {
	case <-gathered:
	case <-l.done:
		return l.Err()
	case <-ctx.Done():
		return fmt.Errorf("ICE gathering: %w", ctx.Err())
	}
	local := l.pc.LocalDescription()
	answer, err := postOffer(ctx, signalURL, pin, conn, signal{Type: local.Type.String(), SDP: local.SDP})
	if err != nil {
		return err
	}
	desc, err := parseSignal(answer, webrtc.SDPTypeAnswer)
	if err != nil {
		return fmt.Errorf("bad answer: %w", err)
	}
	if err := l.pc.SetRemoteDescription(desc); err != nil {
		return fmt.Errorf("bad answer: %w", err)
	}
	if err := l.waitReady(ctx); err != nil {
		return err
	}
	if !l.noLane {
		l.openLane(ctx)
	}
	return nil
}

// signalConn is the TCP connection the offer is posted over, dialed before
// the offer is made. It is handed to the HTTP client once.
type signalConn struct {
	remote netip.AddrPort

	mu sync.Mutex
	c  net.Conn // nil once taken or closed
}

// dialSignaling connects to the node's signaling endpoint, from local if it
// is not nil, with the firewall mark (0: none).
func dialSignaling(ctx context.Context, u *url.URL, local net.Addr, mark int) (*signalConn, error) {
	port := u.Port()
	if port == "" {
		port = "443"
	}
	d := net.Dialer{LocalAddr: local, Control: func(_, _ string, c syscall.RawConn) error { return setMark(c, mark) }}
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return nil, fmt.Errorf("signaling: %w", err)
	}
	remote, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("signaling: node address %v: %w", c.RemoteAddr(), err)
	}
	return &signalConn{remote: remote, c: c}, nil
}

// take hands the connection over, once.
func (s *signalConn) take(context.Context, string, string) (net.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil {
		return nil, errors.New("signaling connection already used")
	}
	c := s.c
	s.c = nil
	return c, nil
}

// close closes the connection unless it was taken.
func (s *signalConn) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil {
		_ = s.c.Close()
		s.c = nil
	}
}

// signalingSource is the local address of the signaling connection: the
// IP address udpAddr names, or nil (the kernel chooses) if it names none.
func signalingSource(udpAddr string) (net.Addr, error) {
	if udpAddr == "" {
		return nil, nil
	}
	host, _, err := net.SplitHostPort(udpAddr)
	if err != nil {
		return nil, fmt.Errorf("link: dial: UDPAddr %q: %w", udpAddr, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.IsUnspecified() {
		return nil, nil
	}
	return &net.TCPAddr{IP: ip.AsSlice(), Zone: ip.Zone()}, nil
}

// postOffer sends the offer to the node over conn and returns its answer.
func postOffer(ctx context.Context, signalURL string, pin Pin, conn *signalConn, offer signal) (signal, error) {
	body, err := json.Marshal(offer)
	if err != nil {
		return signal{}, err
	}
	tr := &http.Transport{
		Proxy:             nil, // never through an environment proxy
		DialContext:       conn.take,
		TLSClientConfig:   pinnedTLSConfig(pin),
		DisableKeepAlives: true,
		ForceAttemptHTTP2: false,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, signalURL, bytes.NewReader(body))
	if err != nil {
		return signal{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, ErrPinMismatch) {
			return signal{}, ErrPinMismatch
		}
		return signal{}, fmt.Errorf("signaling: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxSignalBytes+1))
	if err != nil {
		return signal{}, fmt.Errorf("signaling: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		msg := strings.TrimSpace(string(data))
		if len(msg) > 200 {
			msg = msg[:200]
		}
		return signal{}, fmt.Errorf("signaling: %s: %s", resp.Status, msg)
	}
	if len(data) > maxSignalBytes {
		return signal{}, fmt.Errorf("signaling: answer larger than %d bytes", maxSignalBytes)
	}
	var answer signal
	if err := json.Unmarshal(data, &answer); err != nil {
		return signal{}, fmt.Errorf("signaling: decode answer: %w", err)
	}
	return answer, nil
}
