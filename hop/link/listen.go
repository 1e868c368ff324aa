package link

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/pexia-network/pexia/internal/logger"
)

// Listener defaults.
const (
	defaultOffersPerSecond       = 100
	defaultOfferBurst            = 200
	defaultSourceOffersPerSecond = 2
	defaultSourceOfferBurst      = 10
	defaultMaxSources            = 4096
	defaultMaxHandshakes         = 64
	defaultMaxSourceHandshakes   = 8
	defaultBacklog               = 64
	defaultHandshakeTimeout      = 10 * time.Second
	gatherTimeout                = 5 * time.Second
)

// ListenConfig configures a [Listener]. The zero value is usable with
// Handler; Serve needs a Certificate.
type ListenConfig struct {
	// UDPAddr is the local address of the UDP socket every link of the
	// listener shares, e.g. ":7070". Empty means ":0": an ephemeral port on
	// every interface, IPv6 and IPv4.
	UDPAddr string
	// Certificate is the TLS certificate Serve presents (see
	// NewCertificate); its pin is what the registry publishes.
	Certificate tls.Certificate
	// SourceOffersPerSecond and SourceOfferBurst bound the rate of offers
	// answered from one source (a token bucket per remote IPv4 address or
	// IPv6 /64); excess offers get 429 with Retry-After. An honest dialer
	// sends one offer per link, and circuits share links. Defaults 2 and
	// 10.
	SourceOffersPerSecond float64
	SourceOfferBurst      int
	// MaxSources bounds the sources whose rate is tracked; beyond it the
	// source seen least recently is forgotten. Default 4096.
	MaxSources int
	// OffersPerSecond and OfferBurst bound the rate of offers answered
	// from all sources together, a ceiling on the work a flood from many
	// sources causes; excess offers get 429 with Retry-After. Defaults 100
	// and 200.
	OffersPerSecond float64
	OfferBurst      int
	// MaxHandshakes bounds offers answered whose links are not up yet;
	// excess offers get 503. Default 64.
	MaxHandshakes int
	// MaxSourceHandshakes bounds such offers from one source (as for
	// SourceOffersPerSecond), so that a few sources whose links never come
	// up cannot hold every handshake slot; excess offers get 503. Default
	// 8, at most MaxHandshakes.
	MaxSourceHandshakes int
	// Backlog bounds links that are up and wait for Accept; a link beyond
	// it is closed. Default 64.
	Backlog int
	// HandshakeTimeout bounds the time from answer to a link that is up.
	// Default 10 s.
	HandshakeTimeout time.Duration
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
	Logf   logger.Logf
}

// Listener is a node's side of links: it answers offers over HTTPS and
// hands out the links that come up. All its links share one UDP socket.
type Listener struct {
	cfg     ListenConfig
	mux     *ice.UDPMuxDefault
	limiter *offerLimiter
	backlog chan *Link
	closing chan struct{}

	mu         sync.Mutex
	closed     bool
	handshakes int
	inflight   map[netip.Prefix]int // handshakes per source; no zero entries
	links      map[*Link]struct{}
	servers    map[*http.Server]struct{}
	wg         sync.WaitGroup // handshakes in flight

	closeOnce sync.Once

	// tap, if set before serving, sees every offer answered and its
	// answer (tests).
	tap func(offer, answer string)
}

// NewListener opens the listener's UDP socket. Serve it on a TCP listener
// with Serve, or mount it (it is an http.Handler answering POST) on an
// HTTPS server of your own.
func NewListener(cfg ListenConfig) (*Listener, error) {
	cfg.Logf = logger.OrDiscard(cfg.Logf)
	if cfg.OffersPerSecond <= 0 {
		cfg.OffersPerSecond = defaultOffersPerSecond
	}
	if cfg.OfferBurst <= 0 {
		cfg.OfferBurst = defaultOfferBurst
	}
	if cfg.SourceOffersPerSecond <= 0 {
		cfg.SourceOffersPerSecond = defaultSourceOffersPerSecond
	}
	if cfg.SourceOfferBurst <= 0 {
		cfg.SourceOfferBurst = defaultSourceOfferBurst
	}
	if cfg.MaxSources <= 0 {
		cfg.MaxSources = defaultMaxSources
	}
	if cfg.MaxHandshakes <= 0 {
		cfg.MaxHandshakes = defaultMaxHandshakes
	}
	if cfg.MaxSourceHandshakes <= 0 {
		cfg.MaxSourceHandshakes = defaultMaxSourceHandshakes
	}
	cfg.MaxSourceHandshakes = min(cfg.MaxSourceHandshakes, cfg.MaxHandshakes)
	if cfg.Backlog <= 0 {
		cfg.Backlog = defaultBacklog
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = defaultHandshakeTimeout
	}
	mux, err := newUDPMux(cfg.UDPAddr, 0, cfg.Impair, cfg.Logf)
	if err != nil {
		return nil, err
	}
	return &Listener{
		cfg: cfg,
		mux: mux,
		limiter: newOfferLimiter(cfg.SourceOffersPerSecond, cfg.SourceOfferBurst,
			cfg.OffersPerSecond, cfg.OfferBurst, cfg.MaxSources),
		backlog:  make(chan *Link, cfg.Backlog),
		closing:  make(chan struct{}),
		links:    map[*Link]struct{}{},
		servers:  map[*http.Server]struct{}{},
		inflight: map[netip.Prefix]int{},
	}, nil
}

// UDPAddr returns the local address of the listener's UDP socket.
func (l *Listener) UDPAddr() net.Addr { return l.mux.LocalAddr() }

// Accept returns the next link that came up. After Close it returns an
// error matching net.ErrClosed.
func (l *Listener) Accept(ctx context.Context) (*Link, error) {
	select {
	case <-l.closing:
		return nil, fmt.Errorf("link: listener: %w", net.ErrClosed)
	default:
	}
	select {
	case link := <-l.backlog:
		return link, nil
	case <-l.closing:
		return nil, fmt.Errorf("link: listener: %w", net.ErrClosed)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Serve serves signaling over HTTPS on ln with the configured certificate
// until Close. It returns an error matching net.ErrClosed after Close.
func (l *Listener) Serve(ln net.Listener) error {
	if len(l.cfg.Certificate.Certificate) == 0 {
		return errors.New("link: ListenConfig.Certificate is empty")
	}
	srv := &http.Server{
		Handler: l,
		TLSConfig: &tls.Config{
			MinVersion:   tls.VersionTLS13,
			Certificates: []tls.Certificate{l.cfg.Certificate},
		},
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      gatherTimeout + 10*time.Second,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          logger.StdLogger(logger.WithPrefix(l.cfg.Logf, "link: ")),
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return fmt.Errorf("link: listener: %w", net.ErrClosed)
	}
	l.servers[srv] = struct{}{}
	l.mu.Unlock()
	err := srv.ServeTLS(ln, "", "")
	if errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("link: listener: %w", net.ErrClosed)
	}
	return err
}

// ServeHTTP answers one offer (POST, JSON body) with the complete answer.
func (l *Listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST an SDP offer", http.StatusMethodNotAllowed)
		return
	}
	src := remoteIP(r)
	switch limit, wait := l.limiter.allow(src, time.Now()); limit {
	case sourceLimit:
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter(wait)))
		http.Error(w, fmt.Sprintf("too many offers from your address; retry in %d s", retryAfter(wait)), http.StatusTooManyRequests)
		return
	case overallLimit:
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter(wait)))
		http.Error(w, fmt.Sprintf("node is answering too many offers; retry in %d s", retryAfter(wait)), http.StatusTooManyRequests)
		return
	case admitted:
	}
	key := sourceKey(src)
	if msg := l.reserve(key); msg != "" {
		w.Header().Set("Retry-After", "1")
		http.Error(w, msg, http.StatusServiceUnavailable)
		return
	}
	link, status, err := l.answer(w, r)
	if err != nil {
		l.cfg.Logf("link: offer from %s: %v", r.RemoteAddr, err)
		if status != 0 {
			http.Error(w, err.Error(), status)
		}
		if link != nil {
			_ = link.Close()
		}
		l.release(key)
		return
	}
	go l.handshake(link, key)
}

// remoteIP is the address an offer came from, or the zero Addr if the
// server did not say (all such offers count as one source).
func remoteIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// localIP is the node's address an offer arrived on, or the zero Addr if
// the server did not say.
func localIP(r *http.Request) netip.Addr {
	a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return netip.Addr{}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// answer reads and checks the offer, creates the link and writes the
// answer. On error it returns the HTTP status to report, or 0 if the
// response is already under way.
func (l *Listener) answer(w http.ResponseWriter, r *http.Request) (*Link, int, error) {
	var offer signal
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSignalBytes))
	if err := dec.Decode(&offer); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("offer larger than %d bytes", maxSignalBytes)
		}
		return nil, http.StatusBadRequest, fmt.Errorf("decode offer: %w", err)
	}
	desc, err := parseSignal(offer, webrtc.SDPTypeOffer)
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("bad offer: %w", err)
	}
	// The node checks no address but the one the offer came from: an
	// offer cannot aim it at other hosts or ports (its own network's, say).
	// A client whose candidate is another address (behind NAT) is reached
	// through the peer-reflexive candidate its own checks create.
	desc.SDP = keepCandidatesFrom(desc.SDP, remoteIP(r))
	// The answer lists the node's address the client reached it on, not
	// every address of the node.
	scoped, err := scope(l.mux, localIP(r))
	if err != nil {
		return nil, http.StatusInternalServerError, err
	}
	link, err := newLink(newAPI(scoped, l.cfg.Logf), nil, l.cfg.ChannelWindow, l.cfg.Logf, l.forget)
	if err != nil {
		return nil, http.StatusInternalServerError, err
	}
	l.mu.Lock()
	l.links[link] = struct{}{}
	l.mu.Unlock()
	if err := link.pc.SetRemoteDescription(desc); err != nil {
		return link, http.StatusBadRequest, fmt.Errorf("bad offer: %w", err)
	}
	answer, err := link.pc.CreateAnswer(nil)
	if err != nil {
		return link, http.StatusBadRequest, fmt.Errorf("create answer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(link.pc)
	if err := link.pc.SetLocalDescription(answer); err != nil {
		return link, http.StatusInternalServerError, fmt.Errorf("set answer: %w", err)
	}
	timer := time.NewTimer(gatherTimeout)
	defer timer.Stop()
	select {
	case <-gathered:
	case <-timer.C:
		return link, http.StatusInternalServerError, errors.New("ICE gathering timed out")
	case <-r.Context().Done():
		return link, http.StatusServiceUnavailable, r.Context().Err()
	case <-l.closing:
		return link, http.StatusServiceUnavailable, net.ErrClosed
	}
	local := link.pc.LocalDescription()
	if l.tap != nil {
		l.tap(offer.SDP, local.SDP)
	}
	body, err := json.Marshal(signal{Type: local.Type.String(), SDP: local.SDP})
	if err != nil {
		return link, http.StatusInternalServerError, err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if _, err := w.Write(body); err != nil {
		return link, 0, fmt.Errorf("write answer: %w", err)
	}
	return link, http.StatusOK, nil
}

// handshake waits for an answered link to come up and queues it for Accept.
func (l *Listener) handshake(link *Link, key netip.Prefix) {
	defer l.release(key)
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.HandshakeTimeout)
	defer cancel()
	go func() {
		select {
		case <-l.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := link.waitReady(ctx); err != nil {
		l.cfg.Logf("link: handshake: %v", err)
		_ = link.Close()
		return
	}
	select {
	case l.backlog <- link:
	default:
		l.cfg.Logf("link: %d links waiting for Accept, closing a new one", cap(l.backlog))
		_ = link.Close()
	}
}

// reserve takes a handshake slot for source key, unless the listener is
// closed or full or the source holds its share. It returns why not, or "".
func (l *Listener) reserve(key netip.Prefix) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return "closing"
	case l.inflight[key] >= l.cfg.MaxSourceHandshakes:
		return "too many links being set up from your address"
	case l.handshakes >= l.cfg.MaxHandshakes:
		return "busy"
	}
	l.handshakes++
	l.inflight[key]++
	l.wg.Add(1)
	return ""
}

func (l *Listener) release(key netip.Prefix) {
	l.mu.Lock()
	l.handshakes--
	if l.inflight[key]--; l.inflight[key] <= 0 {
		delete(l.inflight, key)
	}
	l.mu.Unlock()
	l.wg.Done()
}

// forget drops a closed link from the listener's set.
func (l *Listener) forget(link *Link) {
	l.mu.Lock()
	delete(l.links, link)
	l.mu.Unlock()
}

// Close stops answering offers, stops the servers Serve started, closes every
// link of the listener (they share its socket) and the socket, and waits for
// all of it. It is idempotent.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		servers := make([]*http.Server, 0, len(l.servers))
		for srv := range l.servers {
			servers = append(servers, srv)
		}
		l.mu.Unlock()
		close(l.closing)
		for _, srv := range servers {
			_ = srv.Close()
		}
		l.wg.Wait()
		l.mu.Lock()
		links := make([]*Link, 0, len(l.links))
		for link := range l.links {
			links = append(links, link)
		}
		l.mu.Unlock()
		for _, link := range links {
			_ = link.Close()
		}
		_ = l.mux.Close()
	})
	return nil
}
