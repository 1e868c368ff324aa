package world

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pexia-network/pexia/internal/netlab"
)

// nodeMetricsURL is where pexia-node serves its metrics by default, on the
// loopback of its own namespace.
const nodeMetricsURL = "http://127.0.0.1:9478/metrics"

// NodeMetrics reads the Prometheus metrics of the node in host h: each
// series (name and labels, as exposed) to its value.
func (w *World) NodeMetrics(ctx context.Context, h *netlab.Host) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, nodeMetricsURL, nil)
	if err != nil {
		return nil, err
	}
	cl := h.HTTPClient(nil)
	defer cl.CloseIdleConnections()
	resp, err := cl.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s metrics: %w", h.Name(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s metrics: %s", h.Name(), resp.Status)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics reads the Prometheus text format's samples.
func parseMetrics(r io.Reader) (map[string]float64, error) {
	m := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("metrics: bad line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics: bad line %q: %w", line, err)
		}
		m[strings.TrimSpace(line[:i])] = v
	}
	return m, sc.Err()
}

// Claims is what a node did with the winning tickets it stored.
type Claims struct {
	Stored, Claimed, Refused float64
}

// Settled reports whether every stored winner was claimed on chain or
// refused by it.
func (c Claims) Settled() bool { return c.Claimed+c.Refused >= c.Stored }

// NodeClaims reads a node's winner counters.
func (w *World) NodeClaims(ctx context.Context, h *netlab.Host) (Claims, error) {
	m, err := w.NodeMetrics(ctx, h)
	if err != nil {
		return Claims{}, err
	}
	return Claims{
		Stored:  m["pexia_node_winners_stored_total"],
		Claimed: m["pexia_node_winners_claimed_total"],
		Refused: m["pexia_node_winners_refused_total"],
	}, nil
}

// WaitClaimed waits until every node has settled on chain every winning
// ticket it stored (claimed, or refused by the contract), and returns each
// node's counters; or an error naming the nodes still holding winners when
// limit passes.
func (w *World) WaitClaimed(ctx context.Context, limit time.Duration) (map[*netlab.Host]Claims, error) {
	hosts := append(append([]*netlab.Host{}, w.Relays...), w.Exits...)
	deadline := time.Now().Add(limit)
	for {
		all := map[*netlab.Host]Claims{}
		var waiting []string
		var lastErr error
		for _, h := range hosts {
			c, err := w.NodeClaims(ctx, h)
			if err != nil {
				lastErr = err
				waiting = append(waiting, h.Name()+" (metrics unreadable)")
				continue
			}
			all[h] = c
			if !c.Settled() {
				waiting = append(waiting, fmt.Sprintf("%s (%.0f of %.0f winners settled)", h.Name(), c.Claimed+c.Refused, c.Stored))
			}
		}
		if len(waiting) == 0 {
			return all, nil
		}
		if time.Now().After(deadline) {
			err := fmt.Errorf("after %v still waiting for %s", limit, strings.Join(waiting, ", "))
			if lastErr != nil {
				err = fmt.Errorf("%w: %w", err, lastErr)
			}
			return all, err
		}
		select {
		case <-ctx.Done():
			return all, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
