package world

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// PingResult is what ping(8) (iputils) reports in its summary.
type PingResult struct {
	Sent, Received int
	LossPct        float64
	Min, Avg, Max  time.Duration // zero when no reply came
}

var (
	pingCounts = regexp.MustCompile(`(\d+) packets transmitted, (\d+) received.*?, ([0-9.]+)% packet loss`)
	pingRTT    = regexp.MustCompile(`rtt min/avg/max/mdev = ([0-9.]+)/([0-9.]+)/([0-9.]+)/[0-9.]+ ms`)
)

// ParsePing reads the summary of ping's output.
func ParsePing(out string) (PingResult, error) {
	var r PingResult
	m := pingCounts.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no ping summary in %q", out)
	}
	r.Sent, _ = strconv.Atoi(m[1])
	r.Received, _ = strconv.Atoi(m[2])
	r.LossPct, _ = strconv.ParseFloat(m[3], 64)
	if m := pingRTT.FindStringSubmatch(out); m != nil {
		ms := func(s string) time.Duration {
			f, _ := strconv.ParseFloat(s, 64)
			return time.Duration(f * float64(time.Millisecond))
		}
		r.Min, r.Avg, r.Max = ms(m[1]), ms(m[2]), ms(m[3])
	}
	return r, nil
}
