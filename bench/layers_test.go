package main

import (
	"strings"
	"testing"
	"time"
)

// traces is `go tool pprof -traces` output of pexiad under a 1-hop
// transfer, five of its stacks.
const traces = `File: pexiad
Type: cpu
Duration: 4s, Total samples = 1.64s (40.99%)
-----------+-------------------------------------------------------
      30ms   internal/runtime/syscall/linux.Syscall6
             internal/runtime/syscall/linux.EpollWait
             runtime.netpoll
             runtime.findRunnable
             runtime.schedule
             runtime.mcall
-----------+-------------------------------------------------------
      10ms   internal/reflectlite.Swapper
             sort.Slice
             github.com/pion/sctp.sortChunksByFSN (inline)
             github.com/pion/sctp.(*Association).readLoop
-----------+-------------------------------------------------------
      20ms   syscall.Syscall6
             syscall.sendto
             net.(*UDPConn).WriteTo
             github.com/pion/transport/v3/udp.(*Conn).WriteTo
-----------+-------------------------------------------------------
      40ms   runtime.memmove
             crypto/internal/fips140/aes/gcm.seal
             github.com/pion/dtls/v3/pkg/crypto/ciphersuite.(*GCM).Encrypt
             github.com/pion/dtls/v3.(*Conn).writePackets
-----------+-------------------------------------------------------
     1.10s   runtime.scanobject
             runtime.gcDrain
             runtime.gcBgMarkWorker.func2
             runtime.gcBgMarkWorker
-----------+-------------------------------------------------------
`

func TestParseTracesChargesLayers(t *testing.T) {
	by, total, err := parseTraces(strings.NewReader(traces))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{
		"Go runtime: scheduling":     30 * time.Millisecond,
		"SCTP (pion)":                10 * time.Millisecond,
		"UDP socket syscalls (link)": 20 * time.Millisecond,
		"DTLS (pion)":                40 * time.Millisecond,
		"Go runtime: GC":             1100 * time.Millisecond,
	}
	if total != 1200*time.Millisecond {
		t.Errorf("total %v, want 1.2s", total)
	}
	for l, d := range want {
		if by[l] != d {
			t.Errorf("%s: %v, want %v (all: %v)", l, by[l], d, by)
		}
	}
	if len(by) != len(want) {
		t.Errorf("layers %v, want %v", by, want)
	}
}

func TestLayerOf(t *testing.T) {
	for _, c := range []struct {
		stack []string
		want  string
	}{
		{[]string{"syscall.Syscall", "syscall.read", "golang.zx2c4.com/wireguard/tun.(*NativeTun).Read"}, "TUN device syscalls"},
		{[]string{"crypto/internal/fips140/aes.encryptBlock", "github.com/pexia-network/pexia/hop/onion.(*Layer).Seal"}, "onion crypto"},
		{[]string{"runtime.mallocgc", "runtime.makeslice", "github.com/pion/sctp.(*Association).readLoop"}, "Go runtime: allocation"},
		{[]string{"runtime.selectgo", "github.com/pexia-network/pexia/hop/stream.(*Mux).run"}, "Go runtime: scheduling"},
		{[]string{"gvisor.dev/gvisor/pkg/tcpip/transport/tcp.(*sender).sendData"}, "gVisor netstack"},
		{[]string{"github.com/pexia-network/pexia/relay.(*Node).forward"}, "cells, streams, circuits"},
		{[]string{"runtime.memmove", "github.com/pexia-network/pexia/hop/wire.ReadCell"}, "cells, streams, circuits"},
	} {
		if got := layerOf(c.stack); got != c.want {
			t.Errorf("layerOf(%v) = %q, want %q", c.stack, got, c.want)
		}
	}
}
