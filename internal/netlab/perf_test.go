package netlab

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestBulkAndPingPong(t *testing.T) {
	_, hs := newTestLab(t, "client", "internet")
	client, inet := hs[0], hs[1]
	if err := inet.Announce(netip.MustParsePrefix("2001:db8::/64")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, dst := range []netip.Addr{{}, inet.Addr6(), netip.MustParseAddr("2001:db8::80")} {
		mbps, err := Bulk(ctx, client, inet, dst, 300*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		// Even a loaded two-core machine moves far more than this over veth.
		if mbps < 50 {
			t.Errorf("bulk to %v: %.0f Mbit/s, implausibly slow", dst, mbps)
		}
		rtt, err := PingPong(ctx, client, inet, dst, 200)
		if err != nil {
			t.Fatal(err)
		}
		if rtt <= 0 || rtt > 20*time.Millisecond {
			t.Errorf("ping-pong to %v: median %v, implausible", dst, rtt)
		}
		t.Logf("%v: %.0f Mbit/s, rtt %v", dst, mbps, rtt)
	}

	if _, err := Bulk(ctx, client, inet, netip.Addr{}, 0); err == nil {
		t.Error("Bulk with zero duration: got no error, want one")
	}
	if _, err := PingPong(ctx, client, inet, netip.Addr{}, 0); err == nil {
		t.Error("PingPong with zero count: got no error, want one")
	}
	if _, err := Bulk(ctx, client, inet, netip.MustParseAddr("198.51.100.1"), time.Second); err == nil {
		t.Error("Bulk to an unreachable address: got no error, want one")
	}

	// Cancelling stops a measurement at once, with the context's error.
	short, stop := context.WithTimeout(ctx, 200*time.Millisecond)
	defer stop()
	start := time.Now()
	_, err := Bulk(short, client, inet, netip.Addr{}, time.Minute)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled Bulk: %v, want deadline exceeded", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("cancelled Bulk returned after %v", el)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{[]time.Duration{5}, 5},
		{[]time.Duration{9, 1, 5}, 5},
		{[]time.Duration{4, 1, 3, 2}, 2},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
