package hop_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/relay"
)

// stallingChannel is a relay's circuit channel that, once stalled, takes
// the cells written to it and drops them: the relay's links stay up and
// it reads everything, but it no longer passes cells on.
type stallingChannel struct {
	link.Channel
	stalled *atomic.Bool
}

func (c stallingChannel) Write(p []byte) (int, error) {
	if c.stalled.Load() {
		return len(p), nil
	}
	return c.Channel.Write(p)
}

// TestRelayStalls: the middle relay of a 3-hop circuit keeps its links but
// stops passing cells on (towards the exit, towards the client, or both),
// once while a download runs and once while a stream waits for an answer.
// The circuit fails with ErrStalled within seconds, its streams get an
// error rather than a hang, and new streams work on a fresh circuit.
func TestRelayStalls(t *testing.T) {
	dst := testutil.Transfer(t, "127.0.0.1:0").Addr
	entry, spare, exit := startNode(t, false, relay.NodeConfig{}), startNode(t, false, relay.NodeConfig{}), startNode(t, true, relay.NodeConfig{})

	for _, tc := range []struct {
		name             string
		toExit, toClient bool
		bulk             bool
	}{
		{"both ways, bulk", true, true, true},
		{"towards the exit, bulk", true, false, true},
		{"towards the client, bulk", false, true, true},
		{"towards the exit, waiting for an answer", true, false, false},
		{"towards the client, waiting for an answer", false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var toPrev, toNext atomic.Bool // the bad relay's directions
			var mu sync.Mutex
			tapped := 0
			bad := startNode(t, false, relay.NodeConfig{Tap: func(ch link.Channel) link.Channel {
				// A relay taps its channel from the previous hop first,
				// then the one it dials to the next.
				mu.Lock()
				defer mu.Unlock()
				tapped++
				if tapped%2 == 1 {
					return stallingChannel{ch, &toPrev}
				}
				return stallingChannel{ch, &toNext}
			}})
			var stalled atomic.Bool
			sel := func(ctx context.Context, p hop.Profile) ([]hop.HopInfo, error) {
				middle := bad.Info
				if stalled.Load() {
					middle = spare.Info
				}
				return []hop.HopInfo{entry.Info, middle, exit.Info}, nil
			}
			pool := hop.NewPool(sel, hop.BuildConfig{}, t.Logf)
			defer pool.Close()
			prof := hop.Profile{Name: "default", Hops: 3}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c, err := pool.Circuit(ctx, prof)
			if err != nil {
				t.Fatal(err)
			}
			conn, err := c.Dial(ctx, "tcp", dst)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			readErr := make(chan error, 1)
			if tc.bulk {
				// Upload and download without end.
				fmt.Fprintf(conn, "%d\n", int64(1)<<40)
				go io.Copy(conn, testutil.Pattern(1))
				go func() {
					_, err := io.Copy(io.Discard, conn)
					readErr <- err
				}()
				time.Sleep(500 * time.Millisecond)
			} else {
				// The server answers after the 1000 bytes it waits for;
				// the stall comes before the client sends them.
				fmt.Fprintf(conn, "%d\n", 1000)
				time.Sleep(300 * time.Millisecond)
			}
			stalled.Store(true)
			toNext.Store(tc.toExit)
			toPrev.Store(tc.toClient)
			t0 := time.Now()
			if !tc.bulk {
				io.CopyN(conn, testutil.Pattern(1001), 1000)
				go func() {
					_, err := io.ReadFull(conn, make([]byte, 32))
					readErr <- err
				}()
			}
			select {
			case <-c.Done():
			case <-time.After(15 * time.Second):
				t.Fatal("stalled circuit not detected within 15 s")
			}
			found := time.Since(t0)
			if !errors.Is(c.Err(), hop.ErrStalled) {
				t.Fatalf("circuit ended with %v, want ErrStalled", c.Err())
			}
			t.Logf("stall found after %v: %v", found.Round(time.Millisecond), c.Err())
			if found > 2*hop.DefaultStallTimeout {
				t.Errorf("stall found after %v, want within %v", found, 2*hop.DefaultStallTimeout)
			}
			select {
			case err := <-readErr:
				if err == nil {
					t.Fatal("stream on the stalled circuit ended cleanly")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("stream on the stalled circuit hung")
			}
			if err := transferVia(ctx, pool, prof, dst); err != nil {
				t.Fatalf("new stream after the stall: %v", err)
			}
			if c2, _ := pool.Circuit(ctx, prof); c2 == c {
				t.Fatal("pool still hands out the stalled circuit")
			}
		})
	}
}

// transferVia moves 64 KiB each way on a new stream of the pool's circuit
// for prof.
func transferVia(ctx context.Context, pool *hop.Pool, prof hop.Profile, dst string) error {
	c, err := pool.Circuit(ctx, prof)
	if err != nil {
		return err
	}
	return transfer(ctx, c, dst, 64<<10)
}

// startNode starts an in-process node that the test closes when it ends.
func startNode(t *testing.T, exit bool, cfg relay.NodeConfig) *hoptest.Node {
	t.Helper()
	n, err := hoptest.Start(exit, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

// TestStallWhileWaitingForCredit: a stream's writer waits for credit that
// only the exit can give (the server stopped reading), and the last cell
// the client got came after the last one it sent. Then the middle relay
// drops the circuit's cells both ways. The client sends nothing more, so a
// watchdog that only probes after a cell it sent goes unanswered never
// notices; the circuit must still fail with ErrStalled, since the stream
// waits on the exit. This is the state "both ways, bulk" of TestRelayStalls
// ends in whenever the last cell before the stall is a WINDOW that gives no
// stream credit; here it is made on purpose.
func TestStallWhileWaitingForCredit(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	speak, quit := make(chan struct{}), make(chan struct{})
	defer close(quit)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
			return
		}
		// Reads no more: the client's upload runs out of credit.
		select {
		case <-speak:
		case <-quit:
			return
		}
		c.Write(make([]byte, 100))
		<-quit
	}()

	var drop atomic.Bool
	entry, exit := startNode(t, false, relay.NodeConfig{}), startNode(t, true, relay.NodeConfig{})
	bad := startNode(t, false, relay.NodeConfig{Tap: func(ch link.Channel) link.Channel {
		return stallingChannel{ch, &drop}
	}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := hop.Build(ctx, []hop.HopInfo{entry.Info, bad.Info, exit.Info}, hop.BuildConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conn, err := c.Dial(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "hold\n"); err != nil {
		t.Fatal(err)
	}
	// Upload until no credit comes for a while: the exit's socket and
	// stream window are full.
	chunk := make([]byte, 64<<10)
	for {
		conn.SetWriteDeadline(time.Now().Add(1500 * time.Millisecond))
		n, err := conn.Write(chunk)
		if errors.Is(err, os.ErrDeadlineExceeded) && n == 0 {
			break
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal(err)
		}
		if ctx.Err() != nil {
			t.Fatal("upload never ran out of credit")
		}
	}
	conn.SetWriteDeadline(time.Time{})
	go io.Copy(conn, testutil.Pattern(1)) // waits for credit
	// The last cells now come from the exit: 100 bytes, too few to make
	// the client return credit.
	close(speak)
	if _, err := io.ReadFull(conn, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	drop.Store(true)
	t0 := time.Now()
	select {
	case <-c.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("stalled circuit not detected within 15 s")
	}
	if !errors.Is(c.Err(), hop.ErrStalled) {
		t.Fatalf("circuit ended with %v, want ErrStalled", c.Err())
	}
	t.Logf("stall found after %v: %v", time.Since(t0).Round(time.Millisecond), c.Err())
}
