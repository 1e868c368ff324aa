package world

import (
	"testing"
	"time"
)

func TestParsePing(t *testing.T) {
	tests := []struct {
		out  string
		want PingResult
		err  bool
	}{
		{out: `PING 203.0.113.10 (203.0.113.10) 56(84) bytes of data.
64 bytes from 203.0.113.10: icmp_seq=1 ttl=64 time=1.52 ms

--- 203.0.113.10 ping statistics ---
20 packets transmitted, 20 received, 0% packet loss, time 3805ms
rtt min/avg/max/mdev = 0.912/1.530/2.470/0.402 ms
`, want: PingResult{Sent: 20, Received: 20, Min: 912 * time.Microsecond, Avg: 1530 * time.Microsecond, Max: 2470 * time.Microsecond}},
		{out: `--- 2001:db8::10 ping statistics ---
20 packets transmitted, 0 received, 100% packet loss, time 3840ms
`, want: PingResult{Sent: 20, LossPct: 100}},
		{out: `--- 2001:db8::10 ping statistics ---
5 packets transmitted, 3 received, +2 errors, 40% packet loss, time 803ms
rtt min/avg/max/mdev = 1.000/2.000/3.000/0.5 ms
`, want: PingResult{Sent: 5, Received: 3, LossPct: 40, Min: time.Millisecond, Avg: 2 * time.Millisecond, Max: 3 * time.Millisecond}},
		{out: "ping: connect: Network is unreachable\n", err: true},
	}
	for _, tt := range tests {
		got, err := ParsePing(tt.out)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParsePing(%q) = %+v, %v; want %+v (error %v)", tt.out, got, err, tt.want, tt.err)
		}
	}
}
