package link

import (
	"context"
	"net"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"
)

// benchPair connects a dialer and a listener on loopback and opens one
// channel from the dialer.
func benchPair(b *testing.B) (client, server *Link, ch, peer Channel) {
	b.Helper()
	cert, pin, err := NewCertificate()
	if err != nil {
		b.Fatal(err)
	}
	l, err := NewListener(ListenConfig{UDPAddr: "127.0.0.1:0", Certificate: cert})
	if err != nil {
		b.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = l.Serve(tcp) }()
	b.Cleanup(func() { _ = l.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err = Dial(ctx, "https://"+tcp.Addr().String()+"/", pin, DialConfig{UDPAddr: "127.0.0.1:0", ChannelWindow: benchWindow})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = client.Close() })
	server, err = l.Accept(ctx)
	if err != nil {
		b.Fatal(err)
	}
	ch, err = client.Open(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	peer, err = server.AcceptChannel(ctx)
	if err != nil {
		b.Fatal(err)
	}
	return client, server, ch, peer
}

// BenchmarkBulk sends 16 KiB messages one way on one channel.
func BenchmarkBulk(b *testing.B) {
	_, _, ch, peer := benchPair(b)
	const size = 16 << 10
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, MaxMessageSize)
		for got := 0; got < b.N*size; {
			n, err := peer.Read(buf)
			if err != nil {
				done <- err
				return
			}
			got += n
		}
		done <- nil
	}()
	msg := make([]byte, size)
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		if _, err := ch.Write(msg); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*size)*8/b.Elapsed().Seconds()/1e6, "Mbit/s")
}

// BenchmarkEcho measures 64-byte round trips.
func BenchmarkEcho(b *testing.B) {
	_, _, ch, peer := benchPair(b)
	go func() {
		buf := make([]byte, MaxMessageSize)
		for {
			n, err := peer.Read(buf)
			if err != nil {
				return
			}
			if _, err := peer.Write(buf[:n]); err != nil {
				return
			}
		}
	}()
	msg := make([]byte, 64)
	buf := make([]byte, MaxMessageSize)
	rtts := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := ch.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := ch.Read(buf); err != nil {
			b.Fatal(err)
		}
		rtts = append(rtts, time.Since(start))
	}
	sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
	b.ReportMetric(float64(rtts[len(rtts)/2].Nanoseconds())/1e3, "µs-median")
}

// BenchmarkEchoUnderLoad measures 64-byte round trips on one channel while
// another channel of the same link carries a bulk transfer.
func BenchmarkEchoUnderLoad(b *testing.B) {
	client, server, ch, peer := benchPair(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bulk, err := client.Open(ctx, "bulk")
	if err != nil {
		b.Fatal(err)
	}
	sink, err := server.AcceptChannel(ctx)
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		buf := make([]byte, MaxMessageSize)
		for {
			if _, err := sink.Read(buf); err != nil {
				return
			}
		}
	}()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		msg := make([]byte, 16<<10)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := bulk.Write(msg); err != nil {
				return
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	go func() {
		buf := make([]byte, MaxMessageSize)
		for {
			n, err := peer.Read(buf)
			if err != nil {
				return
			}
			if _, err := peer.Write(buf[:n]); err != nil {
				return
			}
		}
	}()
	msg := make([]byte, 64)
	buf := make([]byte, MaxMessageSize)
	rtts := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := ch.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := ch.Read(buf); err != nil {
			b.Fatal(err)
		}
		rtts = append(rtts, time.Since(start))
	}
	sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
	b.ReportMetric(float64(rtts[len(rtts)/2].Nanoseconds())/1e3, "µs-median")
	b.ReportMetric(float64(rtts[len(rtts)*99/100].Nanoseconds())/1e3, "µs-p99")
}

// benchWindow lets a benchmark run try another channel window; 0 is the
// default.
var benchWindow = func() int { n, _ := strconv.Atoi(os.Getenv("LINK_BENCH_WINDOW")); return n }()
