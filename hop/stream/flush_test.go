package stream

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/testutil"
)

// TestFlushGroupsFrames moves data both ways over streams whose send holds
// frames back until Flush (a circuit packing cells into messages): every
// byte arrives intact, frames do travel in groups, and once the transfer
// is over nothing is left held back.
func TestFlushGroupsFrames(t *testing.T) {
	const (
		streams = 8
		perDir  = 1 << 20
		batch   = 16
	)
	p := newPair(t, Config{}, Config{}, pipeOpts{batch: batch})
	data := make([]byte, perDir)
	rand.NewChaCha8([32]byte{7}).Read(data)
	want := sha256.Sum256(data)

	// The server echoes each stream; the client checks what comes back.
	p.serve(func(r *Request) {
		c := accept(r)
		if c == nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
		c.CloseWrite()
	})
	var wg sync.WaitGroup
	for i := range streams {
		wg.Go(func() {
			c := dial(t, p.client, "tcp", fmt.Sprintf("s%d.test:80", i))
			defer c.Close()
			done := make(chan error, 1)
			go func() {
				got, n, err := hashUntilEOF(c, rand.New(rand.NewPCG(uint64(i), 1)))
				if err == nil && (n != perDir || got != want) {
					err = fmt.Errorf("echo of %d bytes corrupted (%d bytes back)", perDir, n)
				}
				done <- err
			}()
			if err := writeRandomChunks(c, data, rand.New(rand.NewPCG(uint64(i), 2))); err != nil {
				t.Errorf("stream %d: write: %v", i, err)
			}
			c.CloseWrite()
			if err := <-done; err != nil {
				t.Errorf("stream %d: %v", i, err)
			}
		})
	}
	wg.Wait()

	for _, side := range []struct {
		name string
		m    *Mux
		b    *batcher
	}{{"client", p.client, p.cb}, {"server", p.server, p.sb}} {
		var held uint64
		testutil.WaitFor(t, side.name+" frames to be flushed", 5*time.Second, func() bool {
			held = side.m.Stats().FramesSent
			for _, g := range side.b.sizes() {
				held -= uint64(g)
			}
			return held == 0
		})
		grouped := 0
		for _, g := range side.b.sizes() {
			if g < 1 || g > batch {
				t.Errorf("%s: a group of %d frames, want 1..%d", side.name, g, batch)
			}
			if g > 1 {
				grouped++
			}
		}
		if grouped == 0 {
			t.Errorf("%s: bulk transfer never sent two frames together", side.name)
		}
		t.Logf("%s: %d frames in %d groups", side.name, side.m.Stats().FramesSent, len(side.b.sizes()))
	}
}

// TestFlushDoesNotDelay ping-pongs small messages over a send that holds
// frames until Flush: each lone frame must leave at once.
func TestFlushDoesNotDelay(t *testing.T) {
	p := newPair(t, Config{}, Config{}, pipeOpts{batch: 16})
	p.serve(func(r *Request) {
		c := accept(r)
		if c == nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	})
	c := dial(t, p.client, "tcp", "echo.test:7")
	defer c.Close()
	msg, buf := []byte("ping"), make([]byte, 4)
	for i := range 100 {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatalf("round trip %d: %v", i, err)
		}
	}
}

// TestFlushErrorClosesMux: an error from Flush closes the Mux with it.
func TestFlushErrorClosesMux(t *testing.T) {
	errBroken := errors.New("circuit broken")
	var r recorder
	m, err := New(Config{Role: RoleClient, Flush: func() error { return errBroken }}, r.send)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(nil)
	// New queues the circuit WINDOW at once; its Flush fails.
	select {
	case <-m.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Mux still open after Flush failed")
	}
	if err := m.Err(); !errors.Is(err, errBroken) || !errors.Is(err, ErrCircuitClosed) {
		t.Fatalf("Err() = %v, want ErrCircuitClosed and the Flush error", err)
	}
}

// TestReadFromSendsFullFrames: io.Copy into a stream goes through
// ReadFrom, which reads whole frames' worth at a time, so bulk data leaves
// in full frames.
func TestReadFromSendsFullFrames(t *testing.T) {
	p := newPair(t, Config{}, Config{}, pipeOpts{})
	got := make(chan []byte, 1)
	p.serve(func(r *Request) {
		c := accept(r)
		if c == nil {
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		got <- b
	})
	c := dial(t, p.client, "tcp", "sink.test:9")
	defer c.Close()
	const frames = 2 * readFromFrames
	data := make([]byte, frames*p.client.MaxDatagram())
	rand.NewChaCha8([32]byte{3}).Read(data)
	before := p.server.Stats().FramesReceived
	// Hide bytes.Reader's WriteTo, as a TCP connection's does, so that
	// io.Copy uses ReadFrom.
	n, err := io.Copy(c, struct{ io.Reader }{bytes.NewReader(data)})
	if err != nil || n != int64(len(data)) {
		t.Fatalf("io.Copy: %d of %d bytes, %v", n, len(data), err)
	}
	c.CloseWrite()
	select {
	case b := <-got:
		if !bytes.Equal(b, data) {
			t.Fatal("data corrupted")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("data did not arrive")
	}
	// DATA frames and the FIN; the client sends nothing else.
	if n := p.server.Stats().FramesReceived - before; n != frames+1 {
		t.Fatalf("%d bytes in %d frames, want %d full ones and a FIN", len(data), n-1, frames)
	}
}

// TestReadFromDatagrams: on a udp flow, each read is one datagram.
func TestReadFromDatagrams(t *testing.T) {
	p := newPair(t, Config{}, Config{}, pipeOpts{})
	got := make(chan []byte, 8)
	p.serve(func(r *Request) {
		c := accept(r)
		if c == nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 65536)
		for {
			n, err := c.Read(buf)
			if err != nil {
				close(got)
				return
			}
			got <- append([]byte(nil), buf[:n]...)
		}
	})
	c := dial(t, p.client, "udp", "8.8.8.8:53")
	sizes := []int{1, 100, p.client.MaxDatagram()}
	var src datagramSource
	for i, n := range sizes {
		src = append(src, bytes.Repeat([]byte{byte(i + 1)}, n))
	}
	if _, err := io.Copy(c, &src); err != nil {
		t.Fatal(err)
	}
	c.Close()
	for i, n := range sizes {
		select {
		case d := <-got:
			if !bytes.Equal(d, bytes.Repeat([]byte{byte(i + 1)}, n)) {
				t.Fatalf("datagram %d: %d bytes, want %d", i, len(d), n)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("datagram %d did not arrive", i)
		}
	}
}

// datagramSource returns one datagram per Read, like a UDP socket.
type datagramSource [][]byte

func (s *datagramSource) Read(p []byte) (int, error) {
	if len(*s) == 0 {
		return 0, io.EOF
	}
	n := copy(p, (*s)[0])
	*s = (*s)[1:]
	return n, nil
}
