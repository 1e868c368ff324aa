package tun

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"
)

// The connected state as the daemon builds it: TUN, routes and kill switch
// together. Apps' traffic, DNS included, enters the TUN; the daemon's marked
// TCP connection reaches the internet directly (its replies pass the input
// chain as established traffic); nothing else gets out.
func TestConnected(t *testing.T) {
	n := newTestNet(t)
	t.Parallel()
	dev, _ := n.connect(t, Policy{Iface: DefaultName, Mark: DefaultMark, AllowLAN: true})

	// Apps: the internet and the in-tunnel resolver are reached via the TUN.
	for _, dst := range []netip.AddrPort{
		netip.AddrPortFrom(internet4, testPort),
		netip.AddrPortFrom(internet6, testPort),
		netip.AddrPortFrom(DNS4, 53),
		netip.AddrPortFrom(DNS6, 53),
	} {
		if err := sendUDP(t, n.CPath, 0, dst, "app"); err != nil {
			t.Fatalf("app send to %v: %v", dst, err)
		}
		if got := readUDPFromTUN(t, dev, dst); got != "app" {
			t.Errorf("TUN got %q for %v", got, dst)
		}
	}
	// A resolver on the LAN is routed to the LAN but blocked there.
	if err := sendUDP(t, n.CPath, 0, netip.AddrPortFrom(lanPeer4, 53), "dns"); !isEPERM(err) {
		t.Errorf("DNS to the LAN resolver: %v; want EPERM", err)
	}

	// The daemon: a marked TCP connection to the internet works, an
	// unmarked dialer from the same place lands in the tunnel instead.
	var ln net.Listener
	err := inNetNS(n.PPath, func() error {
		var err error
		ln, err = net.Listen("tcp", netip.AddrPortFrom(internet4, 8080).String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hello"))
			c.Close()
		}
	}()
	var conn net.Conn
	err = inNetNS(n.CPath, func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		var err error
		conn, err = MarkDialer(DefaultMark).DialContext(ctx, "tcp", ln.Addr().String())
		return err
	})
	if err != nil {
		t.Fatalf("marked dial: %v", err)
	}
	buf := make([]byte, 5)
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := conn.Read(buf); err != nil || string(buf) != "hello" {
		t.Errorf("marked connection read %q, %v", buf, err)
	}
	conn.Close()
	err = inNetNS(n.CPath, func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", ln.Addr().String())
		if err == nil {
			c.Close()
		}
		return err
	})
	if err == nil {
		t.Error("unmarked dial reached the internet directly; it belongs in the tunnel")
	}
}
