//go:build linux

package link

import (
	"context"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// abMode is one side of an A/B comparison of the link's data path.
type abMode struct {
	name string
	set  func()
}

// abModes are the comparisons BenchmarkAB knows: LINK_AB=batch compares
// one sendto per datagram with batched sendmmsg; LINK_AB=mtu compares SCTP
// packet sizes; LINK_AB=yield compares the flusher without and with its
// yields.
var abModes = map[string][2]abMode{
	"batch": {
		{"sendto", func() { batchSize = 1 }},
		{"sendmmsg", func() { batchSize, batchYields = 64, 0 }},
	},
	"yield": {
		{"yield0", func() { batchYields = 0 }},
		{"yield3", func() { batchYields = 3 }},
	},
	"same": {
		{"a", func() {}},
		{"b", func() {}},
	},
	"mtu": {
		{"mtu1191", func() { sctpMTU = 1191 }},
		{"mtu1400", func() { sctpMTU = 1400 }},
	},
}

// BenchmarkAB alternates two settings of the link's data path (LINK_AB,
// see abModes; default batch; "same" runs the defaults twice, to compare
// two builds) in LINK_AB_ROUNDS rounds (default 5) and
// reports, per setting, the medians of a one-way bulk transfer's Mbit/s,
// the CPU-seconds per GiB of the whole process (both ends of the link)
// and a 64-byte round trip on an idle link. Run it with -benchtime=1x:
//
//	LINK_AB=batch go test -run '^$' -bench BenchmarkAB -benchtime=1x ./hop/link
func BenchmarkAB(b *testing.B) {
	which := os.Getenv("LINK_AB")
	if which == "" {
		which = "batch"
	}
	modes, ok := abModes[which]
	if !ok {
		b.Fatalf("LINK_AB=%q: not one of batch, yield, mtu, same", which)
	}
	rounds := 5
	if n, err := strconv.Atoi(os.Getenv("LINK_AB_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	defer func() { batchSize, batchYields, sctpMTU = 64, 0, 1400 }()
	const bulk = 64 << 20
	type sample struct{ mbps, cpu, rtt, per []float64 }
	got := [2]sample{}
	for r := range rounds {
		for i, m := range modes {
			m.set()
			mbps, cpu, rtt, per := abRound(b, bulk)
			got[i].mbps = append(got[i].mbps, mbps)
			got[i].cpu = append(got[i].cpu, cpu)
			got[i].rtt = append(got[i].rtt, rtt)
			got[i].per = append(got[i].per, per)
			b.Logf("round %d %-9s %6.0f Mbit/s %6.1f CPU s/GiB  rtt %5.0f µs  %4.1f datagrams/sendmmsg  load %s",
				r+1, m.name, mbps, cpu, rtt, per, loadAvg())
		}
	}
	for i, m := range modes {
		b.ReportMetric(median(got[i].mbps), m.name+"-Mbit/s")
		b.ReportMetric(median(got[i].cpu), m.name+"-CPUs/GiB")
		b.ReportMetric(median(got[i].rtt), m.name+"-rtt-µs")
	}
}

// abRound connects a fresh link pair on loopback, sends n bytes one way
// and times 200 idle round trips.
func abRound(b *testing.B, n int) (mbps, cpuPerGiB, rttUs, perCall float64) {
	cert, pin, err := NewCertificate()
	if err != nil {
		b.Fatal(err)
	}
	l, err := NewListener(ListenConfig{UDPAddr: "127.0.0.1:0", Certificate: cert})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = l.Serve(tcp) }()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := Dial(ctx, "https://"+tcp.Addr().String()+"/", pin, DialConfig{UDPAddr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	server, err := l.Accept(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer server.Close()
	ch, err := client.Open(ctx, "ab")
	if err != nil {
		b.Fatal(err)
	}
	peer, err := server.AcceptChannel(ctx)
	if err != nil {
		b.Fatal(err)
	}

	calls0, dgrams0 := sendStats.calls.Load(), sendStats.datagrams.Load()
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, MaxMessageSize)
		for got := 0; got < n; {
			k, err := peer.Read(buf)
			if err != nil {
				done <- err
				return
			}
			got += k
		}
		done <- nil
	}()
	msg := make([]byte, 16<<10)
	cpu0, t0 := cpuTime(), time.Now()
	for sent := 0; sent < n; sent += len(msg) {
		if _, err := ch.Write(msg); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	el, cpu := time.Since(t0), cpuTime()-cpu0
	mbps = float64(n) * 8 / el.Seconds() / 1e6
	cpuPerGiB = cpu.Seconds() / (float64(n) / (1 << 30))
	if c := sendStats.calls.Load() - calls0; c > 0 {
		perCall = float64(sendStats.datagrams.Load()-dgrams0) / float64(c)
	}

	go func() {
		buf := make([]byte, MaxMessageSize)
		for {
			k, err := peer.Read(buf)
			if err != nil {
				return
			}
			if _, err := peer.Write(buf[:k]); err != nil {
				return
			}
		}
	}()
	small, buf := make([]byte, 64), make([]byte, MaxMessageSize)
	var rtts []float64
	for range 200 {
		t := time.Now()
		if _, err := ch.Write(small); err != nil {
			b.Fatal(err)
		}
		if _, err := ch.Read(buf); err != nil {
			b.Fatal(err)
		}
		rtts = append(rtts, float64(time.Since(t).Nanoseconds())/1e3)
	}
	return mbps, cpuPerGiB, median(rtts), perCall
}

// cpuTime is the user and system CPU time of the whole process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// loadAvg is the first three fields of /proc/loadavg.
func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
