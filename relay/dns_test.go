package relay_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/relay"
)

// dnsServer answers DNS-over-TCP queries for a.test with 192.0.2.7.
func dnsServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for {
					var l [2]byte
					if _, err := io.ReadFull(c, l[:]); err != nil {
						return
					}
					q := make([]byte, binary.BigEndian.Uint16(l[:]))
					if _, err := io.ReadFull(c, q); err != nil {
						return
					}
					// Answer: same ID and question, QR bit, one A record
					// pointing at the question name.
					a := append([]byte(nil), q...)
					a[2] |= 0x80
					a[7] = 1 // ANCOUNT
					a = append(a, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7)
					binary.BigEndian.PutUint16(l[:], uint16(len(a)))
					c.Write(append(l[:], a...))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// query builds a DNS query for name (type A).
func query(id uint16, name string) []byte {
	q := []byte{byte(id >> 8), byte(id), 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			q = append(q, byte(i-start))
			q = append(q, name[start:i]...)
			start = i + 1
		}
	}
	return append(q, 0, 0, 1, 0, 1)
}

// TestExitResolvesNames: a "dns" stream reaches the exit's resolver, not
// one of the client's choosing.
func TestExitResolvesNames(t *testing.T) {
	server := dnsServer(t)
	exit := hoptest.StartExit(t, relay.NodeConfig{DNSServer: server})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := hoptest.Build(t, ctx, []hop.HopInfo{exit.Info}, hop.BuildConfig{})
	conn, err := c.Dial(ctx, "dns", "ignored.invalid:53")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for id := uint16(1); id <= 3; id++ {
		q := query(id, "a.test")
		var l [2]byte
		binary.BigEndian.PutUint16(l[:], uint16(len(q)))
		if _, err := conn.Write(append(l[:], q...)); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(conn, l[:]); err != nil {
			t.Fatal(err)
		}
		a := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(conn, a); err != nil {
			t.Fatal(err)
		}
		if binary.BigEndian.Uint16(a) != id || a[2]&0x80 == 0 || net.IP(a[len(a)-4:]).String() != "192.0.2.7" {
			t.Fatalf("answer %x", a)
		}
	}
}
