package netstack

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
)

// BenchmarkTCPThroughput moves bulk data over one TCP connection from an
// app in the namespace, through the TUN and the Stack, to a loopback
// server (upload), and back (download), on the offload and the generic
// link path. "kernel" is the same transfer over the host's loopback
// without the Stack, for the ratio. MB/s is per direction.
func BenchmarkTCPThroughput(b *testing.B) {
	const chunk = 1 << 20
	b.Run("kernel", func(b *testing.B) {
		srv := startServers(b)
		for _, dir := range []string{"upload", "download"} {
			b.Run(dir, func(b *testing.B) {
				dial := func() (net.Conn, error) {
					port := srv.ports["discard"]
					if dir == "download" {
						port = srv.ports["zeros"]
					}
					return net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
				}
				benchTransfer(b, dir, chunk, dial)
			})
		}
	})
	for _, tc := range []struct {
		path string
		mtu  int
	}{{"offload", 1500}, {"offload", 9000}, {"offload", 65535}, {"generic", 1500}, {"generic", 65535}} {
		b.Run(fmt.Sprintf("%s/mtu%d", tc.path, tc.mtu), func(b *testing.B) {
			e := newEnvPath(b, tc.mtu, Config{}, tc.path == "generic")
			for _, fam := range families() {
				for _, dir := range []string{"upload", "download"} {
					b.Run(fam.name+"/"+dir, func(b *testing.B) {
						port := uint16(portDiscard)
						if dir == "download" {
							port = portZeros
						}
						dial := func() (net.Conn, error) { return e.dial("tcp", netip.AddrPortFrom(fam.dst, port)) }
						benchTransfer(b, dir, chunk, dial)
					})
				}
			}
		})
	}
}

func benchTransfer(b *testing.B, dir string, chunk int, dial func() (net.Conn, error)) {
	c, err := dial()
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, chunk)
	b.SetBytes(int64(chunk))
	b.ResetTimer()
	total := uint64(b.N) * uint64(chunk)
	switch dir {
	case "upload":
		for range b.N {
			if _, err := c.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		c.(*net.TCPConn).CloseWrite()
		var resp [8]byte
		if _, err := io.ReadFull(c, resp[:]); err != nil {
			b.Fatal(err)
		}
		if got := binary.BigEndian.Uint64(resp[:]); got != total {
			b.Fatalf("server got %d bytes, want %d", got, total)
		}
	case "download":
		if _, err := c.Write(binary.BigEndian.AppendUint64(nil, total)); err != nil {
			b.Fatal(err)
		}
		var got uint64
		for {
			n, err := c.Read(buf)
			got += uint64(n)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		if got != total {
			b.Fatalf("got %d bytes, want %d", got, total)
		}
	}
}

// BenchmarkTCPRoundTrip times a kept-alive request and reply of 64 bytes
// each through the TUN and the Stack to a loopback echo server and back,
// on the offload path: what the stack adds to a round trip through the
// tunnel. "kernel" is the same over the host's loopback, without the
// Stack.
func BenchmarkTCPRoundTrip(b *testing.B) {
	b.Run("kernel", func(b *testing.B) {
		srv := startServers(b)
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", srv.ports["echo"]))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		benchPingPong(b, c)
	})
	b.Run("stack", func(b *testing.B) {
		e := newEnv(b, 9000, Config{})
		c := e.mustDial(b, "tcp", netip.AddrPortFrom(dst4, portEcho))
		defer c.Close()
		benchPingPong(b, c)
	})
}

func benchPingPong(b *testing.B, c net.Conn) {
	msg := make([]byte, 64)
	reply := make([]byte, 64)
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, reply); err != nil {
			b.Fatal(err)
		}
	}
}
