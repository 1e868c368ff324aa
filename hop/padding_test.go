package hop_test

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/relay"
)

// countingChannel counts the cells a node reads from and writes to its
// client.
type countingChannel struct {
	link.Channel
	in, out *atomic.Int64
}

func (c countingChannel) Read(p []byte) (int, error) {
	n, err := c.Channel.Read(p)
	if n > 0 {
		c.in.Add(1)
	}
	return n, err
}

func (c countingChannel) Write(p []byte) (int, error) {
	c.out.Add(1)
	return c.Channel.Write(p)
}

// TestPadding: with padding on, the cell rate on the client's link is the
// padding rate in both directions whether the circuit is idle or busy, and
// a bulk transfer is capped at that rate.
func TestPadding(t *testing.T) {
	var in, out atomic.Int64
	exit, err := hoptest.Start(true, relay.NodeConfig{
		Tap: func(ch link.Channel) link.Channel { return countingChannel{ch, &in, &out} },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer exit.Close()
	dst := testutil.Transfer(t, "127.0.0.1:0").Addr
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const rate = 200
	c, err := hop.Build(ctx, []hop.HopInfo{exit.Info}, hop.BuildConfig{PaddingRate: rate})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	measure := func(what string, d time.Duration) {
		t.Helper()
		i0, o0 := in.Load(), out.Load()
		time.Sleep(d)
		ri := float64(in.Load()-i0) / d.Seconds()
		ro := float64(out.Load()-o0) / d.Seconds()
		t.Logf("%s: %.0f cells/s from the client, %.0f to it (padding rate %d)", what, ri, ro, rate)
		for _, r := range []float64{ri, ro} {
			if r < rate*0.8 || r > rate*1.2 {
				t.Errorf("%s: cell rate %.0f/s, want %d ± 20 %%", what, r, rate)
			}
		}
	}
	time.Sleep(300 * time.Millisecond) // the exit starts padding
	measure("idle", 2*time.Second)

	// A bulk download: the same rate, and the throughput it allows.
	conn, err := c.Dial(ctx, "tcp", dst)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "%d\n", 0)
	conn.Close()
	conn, err = c.Dial(ctx, "tcp", dst)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Ask for an upload hash and then a long download: the sink reads n
	// bytes first, so send them.
	const n = 64 << 20
	fmt.Fprintf(conn, "%d\n", n)
	go io.Copy(conn, io.LimitReader(testutil.Pattern(1), n))
	var got atomic.Int64
	go func() {
		buf := make([]byte, 64<<10)
		for {
			k, err := conn.Read(buf)
			got.Add(int64(k))
			if err != nil {
				return
			}
		}
	}()
	time.Sleep(500 * time.Millisecond)
	measure("busy", 2*time.Second)
}
