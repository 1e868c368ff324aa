package relay_test

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/stream"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/relay"
)

// ownAddr returns an address of one of this machine's interfaces other
// than loopback, or skips.
func ownAddr(t *testing.T) netip.Addr {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() && !p.Addr().IsLoopback() {
			return p.Addr()
		}
	}
	t.Skip("no IPv4 address besides loopback")
	return netip.Addr{}
}

// TestExitRefusesItsOwnAddresses: an exit refuses streams to its own
// addresses (loopback, and the addresses of its interfaces, which for a
// real exit include its public one) even when its policy accepts every
// destination with a wildcard; only a rule naming the address lets it
// through.
func TestExitRefusesItsOwnAddresses(t *testing.T) {
	own := ownAddr(t)
	ownPort, loPort := testutil.EchoTCP(t, netip.AddrPortFrom(own, 0).String()).Port(), testutil.EchoTCP(t, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 0).String()).Port()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, tc := range []struct {
		policy string
		dst    string
		refuse bool
	}{
		{relay.DefaultExitPolicyText, netip.AddrPortFrom(own, ownPort).String(), true},
		{"accept *:*", netip.AddrPortFrom(own, ownPort).String(), true},
		{"accept *:*", "127.0.0.1:" + itoa(int(loPort)), true},
		{"accept *:*", "0.0.0.0:" + itoa(int(loPort)), true},
		{"reject 10.0.0.0/8:*; accept *:*", netip.AddrPortFrom(own, ownPort).String(), true},
		{"accept tcp " + own.String() + ":" + itoa(int(ownPort)) + "; accept *:*", netip.AddrPortFrom(own, ownPort).String(), false},
		{"accept 127.0.0.0/8:*; reject *:*", "127.0.0.1:" + itoa(int(loPort)), false},
	} {
		policy, err := relay.ParseExitPolicy(tc.policy)
		if err != nil {
			t.Fatal(err)
		}
		exit, err := hoptest.Start(true, relay.NodeConfig{Policy: policy})
		if err != nil {
			t.Fatal(err)
		}
		c, err := hop.Build(ctx, []hop.HopInfo{exit.Info}, hop.BuildConfig{})
		if err != nil {
			exit.Close()
			t.Fatal(err)
		}
		conn, err := c.Dial(ctx, "tcp", tc.dst)
		switch {
		case tc.refuse && !isRefused(err, stream.ReasonPolicy):
			t.Errorf("policy %q: stream to the exit's own %s: got %v, want refused by policy", short(tc.policy), tc.dst, err)
		case !tc.refuse && err != nil:
			t.Errorf("policy %q names %s: got %v, want it served", short(tc.policy), tc.dst, err)
		}
		if conn != nil {
			conn.Close()
		}
		c.Close()
		exit.Close()
	}
}

// short names a policy in a test message.
func short(policy string) string {
	if policy == relay.DefaultExitPolicyText {
		return "(default)"
	}
	return policy
}
