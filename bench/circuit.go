package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/link"
)

// circuitSuite measures circuits through in-process nodes on loopback: bulk
// download throughput of one stream over 1 and 3 hops, request round trip
// on a kept-alive stream, 3-hop build time, and relay CPU per GiB; and
// 1-hop throughput and a bare data channel's measured in turns (5 rounds,
// medians; ratio.circuit_1hop_vs_datachannel is computed from them).
// PEXIA_CELL overrides the cell size (bytes) to compare cell sizes;
// PEXIA_CPUPROFILE=path writes a CPU profile of each transfer to
// path.raw.N, path.1hop.N and path.3hop.
func circuitSuite(res Results) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dst, stop, err := benchServer()
	if err != nil {
		return err
	}
	defer stop()

	for _, hops := range []int{1, 3} {
		nodes, infos, err := hoptest.Circuit(hops)
		if err != nil {
			return err
		}
		start := time.Now()
		c, err := hop.Build(ctx, infos, hop.BuildConfig{CellSize: cellSize()})
		if err != nil {
			return err
		}
		if hops == 3 {
			// The first build also dials every link; a rebuild over the
			// same nodes is what a client pays after a failure.
			res.set("circuit.build_3hop_ms", float64(time.Since(start).Microseconds())/1000, "ms")
		}
		const total = 256 << 20
		if hops == 1 {
			// The bare channel and the 1-hop circuit in turns, so that the
			// machine's drift (on 2 shared cores) hits both alike.
			raws, circs, err := pairedBulk(ctx, c, dst, total, 5)
			if err != nil {
				return err
			}
			res.setRounds("datachannel.raw_mbps", raws, "Mbit/s")
			res.setRounds("circuit.throughput_1hop_mbps", circs, "Mbit/s")
		} else {
			cpu0 := cpuTime()
			stopProfile, err := startProfile("3hop")
			if err != nil {
				return err
			}
			t0 := time.Now()
			err = download(ctx, c, dst, total)
			el := time.Since(t0)
			stopProfile()
			if err != nil {
				return err
			}
			res.set("circuit.throughput_3hop_mbps", float64(total)*8/el.Seconds()/1e6, "Mbit/s")
			// Everything (client, 3 nodes, server) runs in this process:
			// CPU per GiB relayed is the process's CPU over 3 hops.
			gib := float64(total) / (1 << 30)
			res.set("relay.cpu_s_per_gib", (cpuTime()-cpu0).Seconds()/gib/3, "s/GiB")
		}
		rtt, err := echoRTT(ctx, c, dst, 500)
		if err != nil {
			return err
		}
		res.set(fmt.Sprintf("circuit.rtt_%dhop_us", hops), float64(rtt.Microseconds()), "µs")
		c.Close()
		for _, n := range nodes {
			n.Close()
		}
	}
	return nil
}

// pairedBulk measures, rounds times in turn, total bytes sent one way over
// a bare data channel (in link.MaxMessageSize messages, what circuits send
// under load: the bare channel's best size here) and downloaded through c,
// so that the machine's drift hits both alike. It returns each round's
// Mbit/s.
func pairedBulk(ctx context.Context, c *hop.Circuit, dst string, total, rounds int) (raws, circs []float64, err error) {
	bl, err := newBareLink()
	if err != nil {
		return nil, nil, err
	}
	defer bl.close()
	client, server, err := bl.dial(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer client.Close()
	defer server.Close()
	for i := range rounds {
		stop, err := startProfile(fmt.Sprintf("raw.%d", i))
		if err != nil {
			return nil, nil, err
		}
		r, err := benchBulk(ctx, client, server, total, link.MaxMessageSize)
		stop()
		if err != nil {
			return nil, nil, fmt.Errorf("bare channel: %w", err)
		}
		if stop, err = startProfile(fmt.Sprintf("1hop.%d", i)); err != nil {
			return nil, nil, err
		}
		t0 := time.Now()
		err = download(ctx, c, dst, int64(total))
		el := time.Since(t0)
		stop()
		if err != nil {
			return nil, nil, err
		}
		cm := float64(total) * 8 / el.Seconds() / 1e6
		fmt.Printf("  round %d: bare channel %.0f Mbit/s, 1-hop circuit %.0f Mbit/s (%.2f)\n", i+1, r, cm, cm/r)
		raws, circs = append(raws, r), append(circs, cm)
	}
	return raws, circs, nil
}

func medianf(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// benchServer serves "d <n>\n" with n bytes and "e\n" with an echo of each
// 64-byte message.
func benchServer() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go func() {
		buf := make([]byte, 64<<10)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var op string
				var n int64
				if _, err := fmt.Fscanf(c, "%s %d\n", &op, &n); err != nil {
					return
				}
				switch op {
				case "d":
					for n > 0 {
						k := min(n, int64(len(buf)))
						if _, err := c.Write(buf[:k]); err != nil {
							return
						}
						n -= k
					}
				case "e":
					io.Copy(c, c)
				}
			}()
		}
	}()
	return ln.Addr().String(), func() { ln.Close() }, nil
}

func download(ctx context.Context, c *hop.Circuit, dst string, n int64) error {
	conn, err := c.Dial(ctx, "tcp", dst)
	if err != nil {
		return err
	}
	defer conn.Close()
	fmt.Fprintf(conn, "d %d\n", n)
	got, err := io.Copy(io.Discard, io.LimitReader(conn, n))
	if err != nil || got != n {
		return fmt.Errorf("download: %d of %d bytes: %v", got, n, err)
	}
	return nil
}

func echoRTT(ctx context.Context, c *hop.Circuit, dst string, n int) (time.Duration, error) {
	conn, err := c.Dial(ctx, "tcp", dst)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	fmt.Fprintf(conn, "e 0\n")
	msg := make([]byte, 64)
	var ds []time.Duration
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if _, err := conn.Write(msg); err != nil {
			return 0, err
		}
		if _, err := io.ReadFull(conn, msg); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(t0))
	}
	return median(ds), nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fmt.Fprintln(os.Stderr, "getrusage:", err)
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startProfile starts a CPU profile into $PEXIA_CPUPROFILE.<name> when that
// variable is set.
func startProfile(name string) (stop func(), err error) {
	base := os.Getenv("PEXIA_CPUPROFILE")
	if base == "" {
		return func() {}, nil
	}
	f, err := os.Create(base + "." + name)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func cellSize() int {
	var n int
	fmt.Sscan(os.Getenv("PEXIA_CELL"), &n)
	return n
}
