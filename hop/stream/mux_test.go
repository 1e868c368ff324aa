package stream

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/testutil"
)

func dial(t testing.TB, m *Mux, network, addr string) *Stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := m.DialStream(ctx, network, addr)
	if err != nil {
		t.Fatalf("Dial %s %s: %v", network, addr, err)
	}
	return s
}

func accept(r *Request) *Stream {
	c, err := r.Accept()
	if err != nil {
		return nil
	}
	return c.(*Stream)
}

// writeRandomChunks writes data in pieces of random size.
func writeRandomChunks(c net.Conn, data []byte, rng *rand.Rand) error {
	for len(data) > 0 {
		n := min(len(data), 1+rng.IntN(48<<10))
		if _, err := c.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// hashUntilEOF reads with buffers of random size and hashes everything.
func hashUntilEOF(c net.Conn, rng *rand.Rand) ([32]byte, int, error) {
	h := sha256.New()
	buf := make([]byte, 32<<10)
	total := 0
	for {
		n, err := c.Read(buf[:1+rng.IntN(len(buf))])
		h.Write(buf[:n])
		total += n
		if err == io.EOF {
			var sum [32]byte
			h.Sum(sum[:0])
			return sum, total, nil
		}
		if err != nil {
			return [32]byte{}, total, err
		}
	}
}

// TestParallelStreamsIntegrity moves 64 MiB over 100 streams, both ways at
// once, and compares SHA-256 of every direction of every stream.
func TestParallelStreamsIntegrity(t *testing.T) {
	const (
		streams = 100
		perDir  = 64 << 20 / (2 * streams)
	)
	src := make([]byte, 1<<20+perDir)
	rand.NewChaCha8([32]byte{1}).Read(src)
	slice := func(seed uint64) []byte {
		off := int(seed*7919) % (len(src) - perDir)
		return src[off : off+perDir]
	}

	type result struct{ sent, recv [32]byte }
	var mu sync.Mutex
	serverRes := map[string]result{}

	p := newPair(t, Config{}, Config{}, pipeOpts{})
	p.serve(func(r *Request) {
		c := accept(r)
		if c == nil {
			return
		}
		defer c.Close()
		var seed uint64
		fmt.Sscanf(r.Address, "s%d.test:80", &seed)
		rng := rand.New(rand.NewPCG(seed, 2))
		data := slice(seed + 1000)
		var res result
		var rerr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			var n int
			res.recv, n, rerr = hashUntilEOF(c, rand.New(rand.NewPCG(seed, 3)))
			if rerr == nil && n != perDir {
				rerr = fmt.Errorf("got %d bytes, want %d", n, perDir)
			}
		}()
		if err := writeRandomChunks(c, data, rng); err != nil {
			t.Errorf("server write %s: %v", r.Address, err)
		}
		c.CloseWrite()
		<-done
		if rerr != nil {
			t.Errorf("server read %s: %v", r.Address, rerr)
		}
		res.sent = sha256.Sum256(data)
		mu.Lock()
		serverRes[r.Address] = res
		mu.Unlock()
	})

	clientRes := make([]result, streams)
	var wg sync.WaitGroup
	for i := range streams {
		wg.Go(func() {
			addr := fmt.Sprintf("s%d.test:80", i)
			c := dial(t, p.client, "tcp", addr)
			defer c.Close()
			data := slice(uint64(i))
			done := make(chan error, 1)
			go func() {
				sum, n, err := hashUntilEOF(c, rand.New(rand.NewPCG(uint64(i), 4)))
				if err == nil && n != perDir {
					err = fmt.Errorf("got %d bytes, want %d", n, perDir)
				}
				clientRes[i].recv = sum
				done <- err
			}()
			if err := writeRandomChunks(c, data, rand.New(rand.NewPCG(uint64(i), 5))); err != nil {
				t.Errorf("client write %d: %v", i, err)
			}
			if err := c.CloseWrite(); err != nil {
				t.Errorf("CloseWrite: %v", err)
			}
			if err := <-done; err != nil {
				t.Errorf("client read %d: %v", i, err)
			}
			clientRes[i].sent = sha256.Sum256(data)
		})
	}
	wg.Wait()
	testutil.WaitFor(t, "server handlers", 5*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(serverRes) == streams
	})
	mu.Lock()
	defer mu.Unlock()
	for i := range streams {
		s := serverRes[fmt.Sprintf("s%d.test:80", i)]
		if s.recv != clientRes[i].sent {
			t.Errorf("stream %d: client→server data corrupted", i)
		}
		if s.sent != clientRes[i].recv {
			t.Errorf("stream %d: server→client data corrupted", i)
		}
	}
	testutil.WaitFor(t, "streams to be released", 5*time.Second, func() bool {
		return p.client.Stats().Streams == 0 && p.server.Stats().Streams == 0
	})
}

func TestHalfClose(t *testing.T) {
	response := make([]byte, 1<<20) // several windows
	rand.NewChaCha8([32]byte{2}).Read(response)
	p := newPair(t, Config{}, Config{}, pipeOpts{})
	serverErr := make(chan error, 1)
	p.serve(func(r *Request) {
		c := accept(r)
		serverErr <- func() error {
			req, err := io.ReadAll(c)
			if err != nil {
				return fmt.Errorf("server read: %w", err)
			}
			if string(req) != "GET / HTTP/1.0\r\n\r\n" {
				return fmt.Errorf("server got %q", req)
			}
			// The client's direction is done; ours still flows.
			if _, err := c.Write(response); err != nil {
				return fmt.Errorf("server write after peer FIN: %w", err)
			}
			return c.Close()
		}()
	})
	c := dial(t, p.client, "tcp", "example.com:80")
	if _, err := c.Write([]byte("GET / HTTP/1.0\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, ErrWriteClosed) {
		t.Fatalf("Write after CloseWrite: %v, want ErrWriteClosed", err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("client read: %v", err)
	}
	if !bytes.Equal(got, response) {
		t.Fatalf("response: got %d bytes, want %d identical", len(got), len(response))
	}
	if err := <-serverErr; err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "streams to be released", 5*time.Second, func() bool {
		return p.client.Stats().Streams == 0 && p.server.Stats().Streams == 0
	})
}

func TestReset(t *testing.T) {
	for _, fromClient := range []bool{true, false} {
		t.Run(fmt.Sprintf("fromClient=%v", fromClient), func(t *testing.T) {
			p := newPair(t, Config{}, Config{}, pipeOpts{})
			accepted := make(chan *Stream, 1)
			p.serve(func(r *Request) { accepted <- accept(r) })
			c := dial(t, p.client, "tcp", "example.com:443")
			sc := <-accepted
			resetter, victim := c, sc
			if !fromClient {
				resetter, victim = sc, c
			}
			readErr := make(chan error, 1)
			go func() {
				_, err := victim.Read(make([]byte, 10))
				readErr <- err
			}()
			time.Sleep(20 * time.Millisecond) // let the Read block
			if err := resetter.Reset(ReasonConnReset); err != nil {
				t.Fatal(err)
			}
			var err error
			select {
			case err = <-readErr:
			case <-time.After(5 * time.Second):
				t.Fatal("blocked Read not woken by RST")
			}
			var re *ResetError
			if !errors.As(err, &re) || re.Reason != ReasonConnReset || !re.Remote || !errors.Is(err, ErrReset) {
				t.Fatalf("Read after peer reset: %v", err)
			}
			if _, err := victim.Write([]byte("x")); !errors.As(err, &re) {
				t.Fatalf("Write after peer reset: %v", err)
			}
			if _, err := resetter.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Read after local reset: %v", err)
			}
			if err := victim.Close(); err != nil {
				t.Fatal(err)
			}
			testutil.WaitFor(t, "streams to be released", 5*time.Second, func() bool {
				return p.client.Stats().Streams == 0 && p.server.Stats().Streams == 0
			})
		})
	}
}

// Closing with unread data resets the stream, like TCP.
func TestCloseWithUnreadDataResets(t *testing.T) {
	p := newPair(t, Config{}, Config{}, pipeOpts{})
	serverErr := make(chan error, 1)
	p.serve(func(r *Request) {
		c := accept(r)
		buf := make([]byte, 4096)
		for {
			if _, err := c.Write(buf); err != nil {
				serverErr <- err
				return
			}
		}
	})
	c := dial(t, p.client, "tcp", "example.com:80")
	testutil.WaitFor(t, "data to arrive", 5*time.Second, func() bool {
		p.client.mu.Lock()
		defer p.client.mu.Unlock()
		return c.rlen > 0
	})
	c.Close()
	select {
	case err := <-serverErr:
		var re *ResetError
		if !errors.As(err, &re) || re.Reason != ReasonClosed {
			t.Fatalf("server Write: %v, want reset with ReasonClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server writer not reset")
	}
}

func TestMuxCloseUnblocksEverything(t *testing.T) {
	p := newPair(t, Config{}, Config{}, pipeOpts{})
	ctx := context.Background()
	// openPair dials addr and accepts it on the server by hand (no accept
	// loop, so that the blocked Accept below is the only one).
	openPair := func(addr string) (client, server *Stream) {
		ch := make(chan *Stream, 1)
		go func() { ch <- dial(t, p.client, "tcp", addr) }()
		r, err := p.server.Accept(ctx)
		if err != nil {
			t.Fatal(err)
		}
		srv := accept(r)
		return <-ch, srv
	}
	reader, srvReader := openPair("reader.test:1")
	writer, _ := openPair("writer.test:1")

	cause := errors.New("link died")
	type op struct {
		name string
		f    func() error
	}
	ops := []op{
		{"client Read", func() error { _, err := reader.Read(make([]byte, 10)); return err }},
		{"client Write", func() error {
			_, err := writer.Write(make([]byte, 4<<20)) // far beyond the window
			return err
		}},
		{"client Dial", func() error {
			_, err := p.client.Dial(context.Background(), "tcp", "hang.test:1")
			return err
		}},
		{"server Read", func() error { _, err := srvReader.Read(make([]byte, 10)); return err }},
		{"server Accept", func() error { _, err := p.server.Accept(context.Background()); return err }},
	}
	errs := make(chan error, len(ops))
	for _, o := range ops[:4] {
		go func() { errs <- fmt.Errorf("%s: %w", o.name, o.f()) }()
	}
	if _, err := p.server.Accept(ctx); err != nil { // the Dial's request, never answered
		t.Fatal(err)
	}
	go func() { errs <- fmt.Errorf("%s: %w", ops[4].name, ops[4].f()) }()
	time.Sleep(50 * time.Millisecond) // let everything block
	start := time.Now()
	p.client.Close(cause)
	p.server.Close(cause)
	for range ops {
		select {
		case err := <-errs:
			if !errors.Is(err, ErrCircuitClosed) || !errors.Is(err, cause) {
				t.Errorf("%v: want ErrCircuitClosed wrapping the cause", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("an operation still blocks after Close")
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("unblocking took %v", d)
	}
	select {
	case <-p.client.Done():
	default:
		t.Error("Done not closed")
	}
	if _, err := reader.Write([]byte("x")); !errors.Is(err, ErrCircuitClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	if _, err := p.client.Dial(context.Background(), "tcp", "a.test:1"); !errors.Is(err, ErrCircuitClosed) {
		t.Errorf("Dial after Close: %v", err)
	}
	if err := p.client.Deliver(fHdr(frameFin, 1)); !errors.Is(err, ErrCircuitClosed) {
		t.Errorf("Deliver after Close: %v", err)
	}
}

func TestDeadlines(t *testing.T) {
	p := newPair(t, Config{}, Config{}, pipeOpts{})
	accepted := make(chan *Stream, 1)
	p.serve(func(r *Request) { accepted <- accept(r) })
	c := dial(t, p.client, "tcp", "example.com:80")
	sc := <-accepted

	isTimeout := func(err error) bool {
		var ne net.Error
		return errors.Is(err, os.ErrDeadlineExceeded) && errors.As(err, &ne) && ne.Timeout()
	}

	// Read deadline in the future.
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	if _, err := c.Read(make([]byte, 1)); !isTimeout(err) {
		t.Fatalf("Read: %v, want timeout", err)
	}
	if d := time.Since(start); d < 40*time.Millisecond || d > 2*time.Second {
		t.Errorf("Read timed out after %v", d)
	}
	// Deadline in the past fails at once, even with data waiting.
	sc.Write([]byte("hi"))
	testutil.WaitFor(t, "data", 5*time.Second, func() bool {
		p.client.mu.Lock()
		defer p.client.mu.Unlock()
		return c.rlen == 2
	})
	c.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := c.Read(make([]byte, 1)); !isTimeout(err) {
		t.Fatalf("Read with past deadline: %v", err)
	}
	// Clearing the deadline makes the stream usable again.
	c.SetReadDeadline(time.Time{})
	buf := make([]byte, 2)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hi" {
		t.Fatalf("Read after clearing deadline: %q %v", buf, err)
	}

	// Shortening a deadline wakes a blocked Read.
	c.SetReadDeadline(time.Now().Add(time.Hour))
	readErr := make(chan error, 1)
	go func() { _, err := c.Read(make([]byte, 1)); readErr <- err }()
	time.Sleep(20 * time.Millisecond)
	c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	select {
	case err := <-readErr:
		if !isTimeout(err) {
			t.Fatalf("Read: %v, want timeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shortened deadline did not wake Read")
	}
	c.SetReadDeadline(time.Time{})

	// Write deadline: the server does not read, so the writer runs out of
	// stream credit after one window.
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	n, err := c.Write(make([]byte, 1<<20))
	if !isTimeout(err) {
		t.Fatalf("Write: %v, want timeout", err)
	}
	if n <= 0 || n > DefaultStreamWindow {
		t.Fatalf("Write wrote %d bytes, want 1..%d", n, DefaultStreamWindow)
	}
	// SetDeadline wakes a blocked Write.
	c.SetDeadline(time.Time{})
	writeErr := make(chan error, 1)
	go func() { _, err := c.Write(make([]byte, 1<<20)); writeErr <- err }()
	time.Sleep(20 * time.Millisecond)
	c.SetDeadline(time.Now())
	select {
	case err := <-writeErr:
		if !isTimeout(err) {
			t.Fatalf("Write: %v, want timeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SetDeadline did not wake Write")
	}
	// Nothing was lost or duplicated: the server reads exactly what the
	// writes reported.
	c.SetDeadline(time.Time{})
	c.CloseWrite()
	got, err := io.ReadAll(sc)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < n {
		t.Fatalf("server read %d bytes, fewer than the %d reported by the first Write", len(got), n)
	}
}

func TestRefused(t *testing.T) {
	p := newPair(t, Config{}, Config{MaxStreams: 3}, pipeOpts{})
	held := make(chan *Stream, 10)
	p.serve(func(r *Request) {
		switch r.Address {
		case "smtp.test:25":
			if err := r.Refuse(ReasonPolicy); err != nil {
				t.Error(err)
			}
			if err := r.Refuse(ReasonPolicy); !errors.Is(err, ErrAnswered) {
				t.Errorf("second Refuse: %v", err)
			}
			if _, err := r.Accept(); !errors.Is(err, ErrAnswered) {
				t.Errorf("Accept after Refuse: %v", err)
			}
		case "nx.test:80":
			r.Refuse(ReasonDNS)
		default:
			held <- accept(r)
		}
	})
	ctx := context.Background()
	for addr, reason := range map[string]Reason{"smtp.test:25": ReasonPolicy, "nx.test:80": ReasonDNS} {
		_, err := p.client.Dial(ctx, "tcp", addr)
		var re *RefusedError
		if !errors.As(err, &re) || re.Reason != reason || !errors.Is(err, ErrRefused) {
			t.Errorf("Dial %s: %v, want refusal %v", addr, err, reason)
		}
	}
	// Bad arguments never reach the wire.
	for _, tc := range []struct{ network, addr string }{
		{"sctp", "a.test:1"},
		{"tcp", "no-port"},
		{"tcp", ""},
		{"tcp", string(make([]byte, 300)) + ":1"},
	} {
		if _, err := p.client.Dial(ctx, tc.network, tc.addr); err == nil {
			t.Errorf("Dial(%q, %.20q) succeeded", tc.network, tc.addr)
		}
	}
	if _, err := p.server.Dial(ctx, "tcp", "a.test:1"); !errors.Is(err, ErrWrongRole) {
		t.Errorf("Dial on server: %v", err)
	}
	if _, err := p.client.Accept(ctx); !errors.Is(err, ErrWrongRole) {
		t.Errorf("Accept on client: %v", err)
	}
	// The server takes 3 streams at most.
	for i := range 3 {
		dial(t, p.client, "tcp", fmt.Sprintf("h%d.test:1", i))
	}
	_, err := p.client.Dial(ctx, "tcp", "h3.test:1")
	var re *RefusedError
	if !errors.As(err, &re) || re.Reason != ReasonResources {
		t.Errorf("Dial over MaxStreams: %v, want ReasonResources", err)
	}
	// An unknown kind is refused, not a protocol error.
	rec := &recorder{}
	m, _ := New(Config{Role: RoleServer}, rec.send)
	defer m.Close(nil)
	if err := m.Deliver(fOpen(1, 77, 1000, "a:1")); err != nil {
		t.Fatal(err)
	}
	if f := rec.waitFrame(t, frameRefused, 1); Reason(f[5]) != ReasonUnsupported {
		t.Errorf("unknown kind refused with %v", Reason(f[5]))
	}
}

func TestDialCanceled(t *testing.T) {
	p := newPair(t, Config{}, Config{}, pipeOpts{})
	reqs := make(chan *Request, 1)
	p.serve(func(r *Request) { reqs <- r })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := p.client.Dial(ctx, "tcp", "slow.test:80"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial: %v", err)
	}
	r := <-reqs
	select {
	case <-r.Context().Done():
	case <-time.After(5 * time.Second):
		t.Fatal("request context not canceled by the withdrawal")
	}
	var re *ResetError
	if _, err := r.Accept(); !errors.As(err, &re) || re.Reason != ReasonCanceled {
		t.Fatalf("Accept of withdrawn request: %v", err)
	}
	testutil.WaitFor(t, "streams to be released", 5*time.Second, func() bool {
		return p.client.Stats().Streams == 0 && p.server.Stats().Streams == 0
	})
}

// TestDatagrams runs a udp flow and an icmp (echo) flow, which the mux
// carries alike.
func TestDatagrams(t *testing.T) {
	for _, tt := range []struct {
		network, addr string
		kind          Kind
	}{
		{"udp", "8.8.8.8:53", KindUDP},
		{"icmp", "192.0.2.1", KindICMP},
		{"icmp", "2001:db8::1", KindICMP},
	} {
		t.Run(tt.network+" "+tt.addr, func(t *testing.T) { testDatagrams(t, tt.network, tt.addr, tt.kind) })
	}
}

func testDatagrams(t *testing.T, network, addr string, kind Kind) {
	p := newPair(t, Config{}, Config{}, pipeOpts{})
	serverEOF := make(chan error, 1)
	p.serve(func(r *Request) {
		if r.Network != network || r.Kind() != kind || r.Address != addr {
			t.Errorf("request %q %q (kind %v)", r.Network, r.Address, r.Kind())
		}
		c := accept(r)
		buf := make([]byte, 65536)
		for {
			n, err := c.Read(buf)
			if err != nil {
				serverEOF <- err
				return
			}
			c.Write(buf[:n])
		}
	})
	c := dial(t, p.client, network, addr)
	max := p.client.MaxDatagram()
	sizes := []int{0, 1, 2, 100, 1200, max - 1, max, 7, 0}
	for i, n := range sizes {
		d := bytes.Repeat([]byte{byte(i + 1)}, n)
		if w, err := c.Write(d); err != nil || w != n {
			t.Fatalf("Write %d: %d %v", n, w, err)
		}
	}
	buf := make([]byte, max+10)
	for i, n := range sizes {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf[:got], bytes.Repeat([]byte{byte(i + 1)}, n)) {
			t.Fatalf("datagram %d: got %d bytes, want %d", i, got, n)
		}
	}
	// Truncation like a UDP socket.
	c.Write([]byte("hello world"))
	small := make([]byte, 5)
	if n, err := c.Read(small); err != nil || string(small[:n]) != "hello" {
		t.Fatalf("truncated read: %q %v", small[:n], err)
	}
	if _, err := c.Write(make([]byte, max+1)); !errors.Is(err, ErrDatagramTooLarge) {
		t.Fatalf("oversized datagram: %v", err)
	}
	if err := c.CloseWrite(); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("CloseWrite on udp: %v", err)
	}
	c.Close()
	select {
	case err := <-serverEOF:
		if err != io.EOF {
			t.Fatalf("server read after client Close: %v, want EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server not told about the closed flow")
	}
	testutil.WaitFor(t, "streams to be released", 5*time.Second, func() bool {
		return p.client.Stats().Streams == 0 && p.server.Stats().Streams == 0
	})
}

func TestDatagramDrops(t *testing.T) {
	p := newPair(t, Config{DatagramQueue: 64}, Config{DatagramQueue: 8}, pipeOpts{rate: 200_000})
	accepted := make(chan *Stream, 1)
	p.serve(func(r *Request) { accepted <- accept(r) })
	c := dial(t, p.client, "udp", "10.0.0.1:9")
	sc := <-accepted
	const sent = 200
	d := make([]byte, 1000)
	for i := range sent {
		d[0] = byte(i)
		if _, err := c.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	// The circuit is slow: the client's queue overflowed.
	droppedOut := p.client.Stats().DatagramsDroppedOut
	if droppedOut == 0 {
		t.Errorf("no outgoing drops with a slow circuit")
	}
	// The server does not read: its queue fills up and further datagrams
	// are dropped.
	testutil.WaitFor(t, "the client queue to drain", 5*time.Second, func() bool {
		p.client.mu.Lock()
		defer p.client.mu.Unlock()
		return c.dgOut.len() == 0
	})
	// Datagrams that waited past MaxDatagramAge were dropped as the queue
	// drained: count them too.
	droppedOut = p.client.Stats().DatagramsDroppedOut
	time.Sleep(50 * time.Millisecond)
	droppedIn := p.server.Stats().DatagramsDroppedIn
	if droppedIn == 0 {
		t.Errorf("no incoming drops with a reader that does not read")
	}
	got := 0
	for {
		sc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := sc.Read(make([]byte, 2000)); err != nil {
			break
		}
		got++
	}
	if got != 8 || uint64(got)+droppedIn+droppedOut != sent {
		t.Errorf("read %d, dropped %d in and %d out; want 8 read and %d in all", got, droppedIn, droppedOut, sent)
	}
}

func TestDNSKind(t *testing.T) {
	p := newPair(t, Config{}, Config{}, pipeOpts{})
	p.serve(func(r *Request) {
		if r.Network != "dns" || r.Kind() != KindDNS || r.Address != "10.64.0.1:53" {
			r.Refuse(ReasonUnsupported)
			return
		}
		c := accept(r)
		io.Copy(c, c)
		c.Close()
	})
	c := dial(t, p.client, "dns", "10.64.0.1:53")
	msg := []byte{0, 3, 'a', 'b', 'c'}
	c.Write(msg)
	c.CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("dns echo: %q %v", got, err)
	}
	if c.RemoteAddr().Network() != "dns" || c.RemoteAddr().String() != "10.64.0.1:53" {
		t.Errorf("RemoteAddr %v", c.RemoteAddr())
	}
}

// A reader that stops reading stalls only its own stream.
func TestSlowReaderDoesNotBlockOthers(t *testing.T) {
	p := newPair(t, Config{}, Config{}, pipeOpts{})
	const fast = 8 << 20
	var slowWritten atomic.Int64
	p.serve(func(r *Request) {
		c := accept(r)
		buf := make([]byte, 16<<10)
		if r.Address == "fast.test:1" {
			for range fast / len(buf) {
				if _, err := c.Write(buf); err != nil {
					return
				}
			}
			c.Close()
			return
		}
		for {
			n, err := c.Write(buf)
			slowWritten.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	// Several streams nobody reads: together they hold much of the
	// circuit window, but each only its stream window.
	const slow = 4
	for i := range slow {
		dial(t, p.client, "tcp", fmt.Sprintf("slow%d.test:1", i))
	}
	testutil.WaitFor(t, "slow streams to fill", 5*time.Second, func() bool {
		return slowWritten.Load() == slow*DefaultStreamWindow
	})
	c := dial(t, p.client, "tcp", "fast.test:1")
	start := time.Now()
	n, err := io.Copy(io.Discard, c)
	if err != nil || n != fast {
		t.Fatalf("fast stream: %d bytes, %v", n, err)
	}
	t.Logf("fast stream: %d MiB in %v while %d streams are stalled", fast>>20, time.Since(start), slow)
	if got := slowWritten.Load(); got != slow*DefaultStreamWindow {
		t.Errorf("slow streams accepted %d bytes, want exactly %d windows", got, slow)
	}
}

// A bulk transfer saturating a slow circuit does not delay an interactive
// request/response stream by more than a few frames.
func TestFairness(t *testing.T) {
	const rate = 1 << 20 // 1 MiB/s: a 4000-byte frame takes ~4 ms
	p := newPair(t, Config{}, Config{}, pipeOpts{rate: rate})
	p.serve(func(r *Request) {
		c := accept(r)
		defer c.Close()
		switch r.Address {
		case "bulk.test:1":
			// Large writes: a scheduler that served whole writes in
			// order would hold the echo back for a window or more.
			buf := make([]byte, 1<<20)
			for {
				if _, err := c.Write(buf); err != nil {
					return
				}
			}
		case "echo.test:1":
			buf := make([]byte, 64)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				if _, err := c.Write(buf[:n]); err != nil {
					return
				}
			}
		}
	})
	bulk := dial(t, p.client, "tcp", "bulk.test:1")
	var bulkBytes atomic.Int64
	p.goTracked(func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := bulk.Read(buf)
			bulkBytes.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	time.Sleep(300 * time.Millisecond) // the bulk stream saturates the circuit
	echo := dial(t, p.client, "tcp", "echo.test:1")
	startBytes, start := bulkBytes.Load(), time.Now()
	var rtts []time.Duration
	ping := []byte("ping-0123456789-0123456789-01234")
	for range 25 {
		t0 := time.Now()
		if _, err := echo.Write(ping); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(echo, make([]byte, len(ping))); err != nil {
			t.Fatal(err)
		}
		rtts = append(rtts, time.Since(t0))
	}
	elapsed := time.Since(start)
	bulkRate := float64(bulkBytes.Load()-startBytes) / elapsed.Seconds()
	slices.Sort(rtts)
	median, worst := rtts[len(rtts)/2], rtts[len(rtts)-1]
	t.Logf("interactive RTT median %v, max %v; bulk %.0f KiB/s of %d KiB/s", median, worst, bulkRate/1024, rate/1024)
	// A FIFO sender would queue the echo behind a whole window of bulk data
	// (256 KiB = 250 ms at this rate); round robin behind about one frame
	// per direction (~4 ms each).
	if median > 50*time.Millisecond || worst > 200*time.Millisecond {
		t.Errorf("interactive stream starved: median %v, max %v", median, worst)
	}
	if bulkRate < rate/3 {
		t.Errorf("bulk stream only got %.0f B/s", bulkRate)
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	base := runtime.NumGoroutine()
	p := newPairNoCleanup(t, Config{}, Config{}, pipeOpts{latency: time.Millisecond})
	p.serve(func(r *Request) {
		c := accept(r)
		if c == nil {
			return
		}
		io.Copy(c, c) // echo until the circuit dies
	})
	var streams []*Stream
	for i := range 20 {
		c := dial(t, p.client, "tcp", fmt.Sprintf("leak%d.test:1", i))
		streams = append(streams, c)
		c.Write([]byte("hello"))
		p.goTracked(func() { io.Copy(io.Discard, c) }) // blocks until the Mux closes
	}
	u := dial(t, p.client, "udp", "1.1.1.1:53")
	p.goTracked(func() { u.Read(make([]byte, 100)) })
	c := streams[0]
	c.SetDeadline(time.Now().Add(time.Hour)) // a pending timer
	time.Sleep(20 * time.Millisecond)
	p.close()
	testutil.WaitFor(t, fmt.Sprintf("goroutines back to %d", base), 5*time.Second, func() bool {
		return runtime.NumGoroutine() <= base
	})
}
