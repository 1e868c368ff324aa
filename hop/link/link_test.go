package link

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/testutil"
)

// message returns the i-th message of the stream seeded by seed: random
// length (sometimes 0 or the maximum) and random content.
func message(seed uint64, i int) []byte {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	var n int
	switch i % 10 {
	case 0:
		n = MaxMessageSize
	case 1:
		n = 0
	default:
		n = r.IntN(MaxMessageSize + 1)
	}
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	binary.LittleEndian.PutUint64(key[8:], uint64(i))
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}

func send(c Channel, seed uint64, count int) error {
	for i := range count {
		if _, err := c.Write(message(seed, i)); err != nil {
			return fmt.Errorf("write %d on %q: %w", i, c.Label(), err)
		}
	}
	return nil
}

func receive(c Channel, seed uint64, count int) error {
	buf := make([]byte, MaxMessageSize)
	for i := range count {
		n, err := c.Read(buf)
		if err != nil {
			return fmt.Errorf("read %d on %q: %w", i, c.Label(), err)
		}
		if want := message(seed, i); !bytes.Equal(buf[:n], want) {
			return fmt.Errorf("message %d on %q: got %d bytes, want %d (or content differs)", i, c.Label(), n, len(want))
		}
	}
	return nil
}

// exchange moves count messages each way over the pair concurrently and
// checks every byte.
func exchange(a, b Channel, seed uint64, count int) error {
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i, f := range []func() error{
		func() error { return send(a, seed, count) },
		func() error { return receive(b, seed, count) },
		func() error { return send(b, seed+1, count) },
		func() error { return receive(a, seed+1, count) },
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func TestTwoChannelsBothWays(t *testing.T) {
	testutil.CheckGoroutines(t)
	n := newNode(t, ListenConfig{})
	client, server := connect(t, n, DialConfig{})

	// One channel opened by each side.
	a1, b1 := openPair(t, client, server, "from-client")
	b2, a2 := openPair(t, server, client, "from-node")

	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(2)
	go func() { defer wg.Done(); errs[0] = exchange(a1, b1, 1, 150) }()
	go func() { defer wg.Done(); errs[1] = exchange(a2, b2, 3, 150) }()
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if client.Err() != nil || server.Err() != nil {
		t.Fatalf("link errors: client %v, server %v", client.Err(), server.Err())
	}
}

func TestManyChannels(t *testing.T) {
	testutil.CheckGoroutines(t)
	n := newNode(t, ListenConfig{})
	client, server := connect(t, n, DialConfig{})

	const channels = 64
	var wg sync.WaitGroup
	errs := make([]error, channels)
	for i := range channels {
		from, to := client, server
		if i%2 == 1 {
			from, to = server, client
		}
		a, b := openPair(t, from, to, fmt.Sprintf("circuit-%d", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = exchange(a, b, uint64(100+2*i), 8)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

func TestChannelClose(t *testing.T) {
	testutil.CheckGoroutines(t)
	n := newNode(t, ListenConfig{})
	client, server := connect(t, n, DialConfig{})
	a, b := openPair(t, client, server, "c")

	if _, err := a.Write(make([]byte, MaxMessageSize+1)); err == nil {
		t.Error("Write of MaxMessageSize+1 bytes succeeded")
	}
	if _, err := a.Write([]byte("last")); err != nil {
		t.Fatal(err)
	}
	// A Read blocked on b's own side ends with net.ErrClosed on b.Close;
	// first drain the message so the Read really blocks.
	buf := make([]byte, MaxMessageSize)
	if n, err := b.Read(buf); err != nil || string(buf[:n]) != "last" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}

	// The peer's Close reaches a blocked Read as io.EOF.
	readErr := make(chan error, 1)
	go func() {
		_, err := b.Read(buf)
		readErr <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-readErr:
		if !errors.Is(err, io.EOF) {
			t.Fatalf("Read after peer Close: %v, want io.EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still blocked 5 s after the peer closed the channel")
	}
	if _, err := a.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close: %v, want net.ErrClosed", err)
	}

	// Local Close unblocks a local Read.
	c, d := openPair(t, server, client, "d")
	go func() {
		_, err := d.Read(make([]byte, MaxMessageSize))
		readErr <- err
	}()
	time.Sleep(50 * time.Millisecond)
	_ = d.Close()
	select {
	case err := <-readErr:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Read after own Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still blocked 5 s after Close")
	}
	_ = c.Close()
	// The link is still fine.
	e, f := openPair(t, client, server, "e")
	if err := exchange(e, f, 7, 10); err != nil {
		t.Fatal(err)
	}
}

func TestPinMismatch(t *testing.T) {
	testutil.CheckGoroutines(t)
	n := newNode(t, ListenConfig{})
	_, other, err := NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	for _, pin := range []Pin{other, {}} {
		_, err := Dial(ctxT(t, 10*time.Second), n.url, pin, DialConfig{Logf: testutil.NewLog(t).Logf})
		if !errors.Is(err, ErrPinMismatch) {
			t.Fatalf("Dial with pin %v: %v, want ErrPinMismatch", pin, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if l, err := n.l.Accept(ctx); err == nil {
		t.Fatalf("listener accepted %v after a refused dial", l)
	}
	// The right pin still works.
	connect(t, n, DialConfig{})
}

func TestMalformedOffers(t *testing.T) {
	testutil.CheckGoroutines(t)
	n := newNode(t, ListenConfig{})
	tr := &http.Transport{TLSClientConfig: pinnedTLSConfig(n.pin), DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	const audioOnly = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n" +
		"a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n"
	const noCandidates = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
		"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
	const noFingerprint = noCandidates + "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
		"a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n"
	for _, tc := range []struct {
		name   string
		method string
		body   string
		status int
	}{
		{"get", http.MethodGet, "", http.StatusMethodNotAllowed},
		{"not json", http.MethodPost, "hello", http.StatusBadRequest},
		{"empty", http.MethodPost, "", http.StatusBadRequest},
		{"answer type", http.MethodPost, `{"type":"answer","sdp":"v=0"}`, http.StatusBadRequest},
		{"garbage sdp", http.MethodPost, `{"type":"offer","sdp":"\u0000\u0001 not sdp"}`, http.StatusBadRequest},
		{"audio", http.MethodPost, fmt.Sprintf(`{"type":"offer","sdp":%q}`, audioOnly), http.StatusBadRequest},
		{"trickle", http.MethodPost, fmt.Sprintf(`{"type":"offer","sdp":%q}`, noCandidates), http.StatusBadRequest},
		{"no fingerprint", http.MethodPost, fmt.Sprintf(`{"type":"offer","sdp":%q}`, noFingerprint), http.StatusBadRequest},
		{"huge", http.MethodPost, `{"type":"offer","sdp":"` + strings.Repeat("a", 2*maxSignalBytes) + `"}`, http.StatusRequestEntityTooLarge},
	} {
		req, err := http.NewRequest(tc.method, n.url, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d (%s), want %d", tc.name, resp.StatusCode, bytes.TrimSpace(msg), tc.status)
		}
	}
	// The node keeps serving.
	client, server := connect(t, n, DialConfig{})
	a, b := openPair(t, client, server, "after")
	if err := exchange(a, b, 9, 10); err != nil {
		t.Fatal(err)
	}
	n.l.mu.Lock()
	left := len(n.l.links)
	n.l.mu.Unlock()
	if left != 1 {
		t.Errorf("listener holds %d links, want 1 (refused offers must not leak)", left)
	}
}

func TestOfferRateLimit(t *testing.T) {
	testutil.CheckGoroutines(t)
	n := newNode(t, ListenConfig{OffersPerSecond: 0.5, OfferBurst: 2})
	tr := &http.Transport{TLSClientConfig: pinnedTLSConfig(n.pin), DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var got []int
	for range 3 {
		resp, err := hc.Post(n.url, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		got = append(got, resp.StatusCode)
	}
	if want := []int{400, 400, 429}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
}

// TestPeerClose: closing either end's link ends the other within 5 s.
func TestPeerClose(t *testing.T) {
	for _, side := range []string{"client", "node"} {
		t.Run("close "+side, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			n := newNode(t, ListenConfig{})
			client, server := connect(t, n, DialConfig{})
			a, b := openPair(t, client, server, "c")
			closing, other, otherCh := client, server, b
			if side == "node" {
				closing, other, otherCh = server, client, a
			}
			readErr := make(chan error, 1)
			go func() {
				_, err := otherCh.Read(make([]byte, MaxMessageSize))
				readErr <- err
			}()
			if err := closing.Close(); err != nil {
				t.Fatal(err)
			}
			if !errors.Is(closing.Err(), net.ErrClosed) {
				t.Errorf("Err after Close = %v, want net.ErrClosed", closing.Err())
			}
			took := waitDone(t, other, 5*time.Second)
			t.Logf("peer noticed the close after %v: %v", took, other.Err())
			select {
			case err := <-readErr:
				if err == nil {
					t.Error("Read on a closed link succeeded")
				}
				t.Logf("Read on the ended link: %v", err)
			case <-time.After(5 * time.Second):
				t.Fatal("Read still blocked after the link ended")
			}
			if _, err := other.Open(ctxT(t, time.Second), "x"); err == nil {
				t.Error("Open on a dead link succeeded")
			}
		})
	}
}

// TestPeerVanishes: when one end's UDP socket disappears without a word,
// the other end's link ends within 5 s.
func TestPeerVanishes(t *testing.T) {
	for _, side := range []string{"client", "node"} {
		t.Run(side+" socket closed", func(t *testing.T) {
			testutil.CheckGoroutines(t)
			n := newNode(t, ListenConfig{})
			client, server := connect(t, n, DialConfig{})
			a, b := openPair(t, client, server, "c")
			if err := exchange(a, b, 11, 5); err != nil {
				t.Fatal(err)
			}
			other := server
			if side == "client" {
				_ = client.mux.Close()
			} else {
				_ = n.l.mux.Close()
				other = client
			}
			took := waitDone(t, other, 5*time.Second)
			t.Logf("peer declared lost after %v: %v", took, other.Err())
			if !errors.Is(other.Err(), errPeerLost) {
				t.Errorf("Err = %v, want errPeerLost", other.Err())
			}
		})
	}
}

func TestListenerClose(t *testing.T) {
	testutil.CheckGoroutines(t)
	n := newNode(t, ListenConfig{})
	client, server := connect(t, n, DialConfig{})
	_, _ = openPair(t, client, server, "c")
	// A second link that nobody accepts.
	pending, err := Dial(ctxT(t, 10*time.Second), n.url, n.pin, DialConfig{Logf: testutil.NewLog(t).Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer pending.Close()
	if err := n.l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-server.Done():
	default:
		t.Error("accepted link still up after Listener.Close")
	}
	if _, err := n.l.Accept(ctxT(t, time.Second)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
	waitDone(t, client, 5*time.Second)
	waitDone(t, pending, 5*time.Second)
	if _, err := Dial(ctxT(t, 10*time.Second), n.url, n.pin, DialConfig{Logf: testutil.NewLog(t).Logf}); err == nil {
		t.Error("Dial to a closed listener succeeded")
	}
}

func TestDialContextCancel(t *testing.T) {
	testutil.CheckGoroutines(t)
	// A TLS server that never answers.
	cert, pin, err := NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	block := make(chan struct{})
	srv := &http.Server{
		Handler:   http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block }),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.ServeTLS(tcp, "", "") }()
	defer func() { close(block); _ = srv.Close() }()

	start := time.Now()
	_, err = Dial(ctxT(t, 300*time.Millisecond), "https://"+tcp.Addr().String()+"/", pin, DialConfig{Logf: testutil.NewLog(t).Logf})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial: %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("Dial returned after %v", took)
	}
	if _, err := Dial(context.Background(), "http://"+tcp.Addr().String(), pin, DialConfig{}); err == nil {
		t.Error("Dial accepted an http URL")
	}
}

func TestPin(t *testing.T) {
	cert, pin, err := NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := PinOf(cert); err != nil || got != pin {
		t.Fatalf("PinOf = %v, %v; want %v", got, err, pin)
	}
	for _, s := range []string{pin.String(), strings.ToUpper(pin.String())} {
		if got, err := ParsePin(s); err != nil || got != pin {
			t.Errorf("ParsePin(%q) = %v, %v", s, got, err)
		}
	}
	colons := make([]string, 0, len(pin))
	for _, b := range pin {
		colons = append(colons, fmt.Sprintf("%02X", b))
	}
	if got, err := ParsePin(strings.Join(colons, ":")); err != nil || got != pin {
		t.Errorf("ParsePin(colon form) = %v, %v", got, err)
	}
	for _, bad := range []string{"", "zz", pin.String()[:62]} {
		if _, err := ParsePin(bad); err == nil {
			t.Errorf("ParsePin(%q) succeeded", bad)
		}
	}
	if !(Pin{}).IsZero() || pin.IsZero() {
		t.Error("IsZero wrong")
	}
}

// TestUnreadChannel: data a channel's reader has not read yet does not
// hold up the other channels while it fits the link's receive buffer.
func TestUnreadChannel(t *testing.T) {
	testutil.CheckGoroutines(t)
	n := newNode(t, ListenConfig{})
	client, server := connect(t, n, DialConfig{})
	stuck, unread := openPair(t, client, server, "nobody reads yet")
	a, b := openPair(t, client, server, "busy")
	const backlog = 2 << 20
	msg := make([]byte, 16<<10)
	for range backlog / len(msg) {
		if _, err := stuck.Write(msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := exchange(a, b, 21, 40); err != nil {
		t.Fatalf("other channel while one is unread: %v", err)
	}
	buf := make([]byte, MaxMessageSize)
	for range backlog / len(msg) {
		if n, err := unread.Read(buf); err != nil || n != len(msg) {
			t.Fatalf("Read = %d, %v", n, err)
		}
	}
}

// TestWindow: when the peer stops acknowledging, Write blocks once the
// channel window is full, and Close unblocks it.
func TestWindow(t *testing.T) {
	testutil.CheckGoroutines(t)
	n := newNode(t, ListenConfig{})
	const window = 128 << 10
	client, server := connect(t, n, DialConfig{ChannelWindow: window})
	ch, _ := openPair(t, client, server, "c")
	_ = n.l.mux.Close() // the node vanishes: nothing is acknowledged any more

	var total atomic.Int64
	writeErr := make(chan error, 1)
	go func() {
		msg := make([]byte, 16<<10)
		for {
			if _, err := ch.Write(msg); err != nil {
				writeErr <- err
				return
			}
			total.Add(int64(len(msg)))
		}
	}()
	time.Sleep(500 * time.Millisecond)
	select {
	case err := <-writeErr:
		t.Fatalf("Write failed before the link died: %v", err)
	default:
	}
	if got := total.Load(); got < window || got > window+MaxMessageSize {
		t.Errorf("wrote %d bytes before blocking, want about the window (%d)", got, window)
	}
	_ = ch.Close()
	select {
	case err := <-writeErr:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("blocked Write after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Write still blocked 1 s after Close")
	}
}

// TestGoroutineCleanup: links with channels mid-transfer, closed from
// every direction, leave no goroutine behind.
func TestGoroutineCleanup(t *testing.T) {
	testutil.CheckGoroutines(t)
	n := newNode(t, ListenConfig{})
	for i := range 3 {
		client, server := connect(t, n, DialConfig{})
		a, b := openPair(t, client, server, "x")
		go func() { _ = send(a, 1, 1000) }()
		go func() { _ = receive(b, 1, 1000) }()
		time.Sleep(50 * time.Millisecond)
		switch i {
		case 0:
			_ = client.Close()
		case 1:
			_ = server.Close()
		}
		// i == 2: the listener's Close in cleanup ends it.
	}
}
