package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// The -layers mode reads CPU profiles (those -profile writes, merged when
// several are given) with `go tool pprof -traces` and charges every
// sample to one layer of the data path, so that the shares add up to the
// process's whole CPU:
//
//	go run ./bench -layers /tmp/prof/1hop-round*-pexiad.pprof
//
// A sample whose innermost function is a system call is charged by what
// made the call (the link's UDP socket, the TUN device, a TCP socket, the
// scheduler's epoll); one in the Go runtime to garbage collection,
// allocation or scheduling (goroutine hand-offs, channels, timers), except
// copying and clearing memory, which is charged like the rest: to the
// innermost frame of a known layer (SCTP, DTLS, onion crypto, gVisor ...).

// layerOf names the layer a sample's stack (innermost frame first) is
// charged to.
func layerOf(stack []string) string {
	if len(stack) == 0 {
		return "other"
	}
	has := func(subs ...string) bool {
		for _, f := range stack {
			for _, s := range subs {
				if strings.Contains(f, s) {
					return true
				}
			}
		}
		return false
	}
	leaf := stack[0]
	if isSyscall(leaf) {
		switch {
		case has("runtime.netpoll", "runtime.findRunnable", "runtime.futex", "runtime.usleep"):
			return "Go runtime: scheduling"
		case has("github.com/pion/", "/hop/link.", "net.(*UDPConn)", "golang.org/x/net/ipv"):
			return "UDP socket syscalls (link)"
		case has("/netstack.", "/tun.", "golang.zx2c4.com/wireguard/tun"):
			return "TUN device syscalls"
		case has("net.(*TCPConn)", "net.(*conn)", "net.(*netFD)", "internal/poll."):
			return "TCP socket syscalls"
		}
		return "other syscalls"
	}
	if pkgOf(leaf) == "runtime" && !isMemory(leaf) {
		switch {
		case has("runtime.gcBgMarkWorker", "runtime.bgsweep", "runtime.bgscavenge", "runtime.gcStart",
			"runtime.gcAssistAlloc", "runtime.markroot", "runtime.gcDrain", "runtime.scanobject", "runtime.sweepone"):
			return "Go runtime: GC"
		case has("runtime.mallocgc", "runtime.newobject", "runtime.makeslice", "runtime.growslice", "runtime.makechan"):
			return "Go runtime: allocation"
		}
		return "Go runtime: scheduling"
	}
	for _, f := range stack {
		if l := layerOfPkg(pkgOf(f)); l != "" {
			return l
		}
	}
	return "other"
}

// layers maps package path prefixes to the layer they are charged to,
// first match wins.
var layers = []struct{ prefix, layer string }{
	{"github.com/pion/dtls", "DTLS (pion)"},
	{"github.com/pion/sctp", "SCTP (pion)"},
	{"github.com/pion/", "ICE, transport, data channels (pion)"},
	{"github.com/pexia-network/pexia/hop/onion", "onion crypto"},
	{"github.com/pexia-network/pexia/hop/link", "link (data channel I/O, batched writes)"},
	{"github.com/pexia-network/pexia/hop", "cells, streams, circuits"},
	{"github.com/pexia-network/pexia/relay", "cells, streams, circuits"},
	{"gvisor.dev/gvisor", "gVisor netstack"},
	{"github.com/pexia-network/pexia/netstack", "TUN side (netstack glue, TUN device)"},
	{"github.com/pexia-network/pexia/tun", "TUN side (netstack glue, TUN device)"},
	{"golang.zx2c4.com/wireguard/tun", "TUN side (netstack glue, TUN device)"},
	{"github.com/pexia-network/pexia/", "other Pexia code (daemon, wallet, tickets)"},
}

func layerOfPkg(pkg string) string {
	for _, l := range layers {
		if strings.HasPrefix(pkg, l.prefix) {
			return l.layer
		}
	}
	return ""
}

// pkgOf is the package path of a function name as pprof prints it
// ("github.com/pion/sctp.(*Association).readLoop" → "github.com/pion/sctp").
func pkgOf(fn string) string {
	fn = strings.TrimSuffix(fn, " (inline)")
	slash := strings.LastIndexByte(fn, '/')
	if dot := strings.IndexByte(fn[slash+1:], '.'); dot >= 0 {
		return fn[:slash+1+dot]
	}
	return fn
}

func isSyscall(fn string) bool {
	p := pkgOf(fn)
	return p == "syscall" || p == "internal/runtime/syscall/linux" || p == "internal/runtime/syscall" ||
		p == "runtime/internal/syscall" || p == "golang.org/x/sys/unix"
}

// isMemory says whether fn is one of the runtime's memory copies or
// compares, which are charged to their caller's layer.
func isMemory(fn string) bool {
	for _, s := range []string{"runtime.memmove", "runtime.memclrNoHeapPointers", "runtime.memequal", "runtime.cmpbody", "runtime.aeshash", "runtime.memhash"} {
		if strings.HasPrefix(fn, s) {
			return true
		}
	}
	return false
}

// parseTraces reads `go tool pprof -traces` output: each stack's CPU
// time and its frames, innermost first.
func parseTraces(r io.Reader) (map[string]time.Duration, time.Duration, error) {
	out := map[string]time.Duration{}
	var total time.Duration
	var stack []string
	var d time.Duration
	flush := func() {
		if len(stack) > 0 {
			out[layerOf(stack)] += d
			total += d
		}
		stack, d = nil, 0
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	in := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "-----------+") {
			flush()
			in = true
			continue
		}
		if !in || strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) >= 2 && len(line) > 0 && line[0] == ' ' && !strings.HasPrefix(line, "             ") {
			v, err := time.ParseDuration(f[0])
			if err != nil {
				return nil, 0, fmt.Errorf("traces: %q: %w", line, err)
			}
			d = v
			stack = append(stack, strings.Join(f[1:], " "))
			continue
		}
		stack = append(stack, strings.TrimSpace(line))
	}
	flush()
	return out, total, sc.Err()
}

// printLayers runs `go tool pprof -traces` on the profiles and prints the
// share of CPU each layer took.
func printLayers(w io.Writer, profiles []string) error {
	cmd := exec.Command("go", append([]string{"tool", "pprof", "-traces"}, profiles...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go tool pprof: %v: %s", err, stderr.Bytes())
	}
	by, total, err := parseTraces(bytes.NewReader(out))
	if err != nil {
		return err
	}
	if total == 0 {
		return fmt.Errorf("no samples in %s", strings.Join(profiles, " "))
	}
	names := make([]string, 0, len(by))
	for n := range by {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return int(by[b] - by[a]) })
	fmt.Fprintf(w, "%s: %.2f s of CPU sampled\n", strings.Join(profiles, " "), total.Seconds())
	for _, n := range names {
		fmt.Fprintf(w, "  %5.1f %%  %6.2f s  %s\n", 100*by[n].Seconds()/total.Seconds(), by[n].Seconds(), n)
	}
	return nil
}

func runLayers(profiles []string) {
	if err := printLayers(os.Stdout, profiles); err != nil {
		fmt.Fprintln(os.Stderr, "bench -layers:", err)
		os.Exit(1)
	}
}
