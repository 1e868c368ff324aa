package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// revenue prints the running node's revenue report, read from its metrics
// at metrics.listen: the traffic it metered for payment and what it costs
// at the node's price, against what the tickets it accepted are worth and
// what its winners won, with the spread the lottery predicts. The amounts
// are in whole tokens, since the node started.
func revenue(ctx context.Context, cfg *Config, out io.Writer) error {
	if cfg.Metrics.Listen == "" {
		return errors.New("revenue reads the running node's metrics: set metrics.listen")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+cfg.Metrics.Listen+"/metrics", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("revenue: is the node running? %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("revenue: %s answered %s", req.URL, resp.Status)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		name, mine := strings.CutPrefix(name, "pexia_node_")
		if !ok || !mine || strings.Contains(name, "{") {
			continue
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			m[name] = f
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if _, ok := m["paid_bytes_total"]; !ok {
		return errors.New("revenue: the node does not charge (price 0), so it has no revenue report")
	}
	return writeRevenue(out, m)
}

func writeRevenue(out io.Writer, m map[string]float64) error {
	due, won, costs, sd := m["revenue_due_tokens_total"], m["winners_value_tokens_total"], m["winners_claim_cost_tokens_total"], m["winners_value_sd_tokens"]
	net := won - costs
	fmt.Fprintf(out, "metered   %.1f MiB; due at the node's price %.6f\n", m["paid_bytes_total"]/(1<<20), due)
	fmt.Fprintf(out, "tickets   %.0f accepted, worth %.6f (%.6f after claim costs, as credited)\n",
		m["tickets_accepted_total"], m["tickets_value_tokens_total"], m["tickets_credited_tokens_total"])
	fmt.Fprintf(out, "winners   %.0f, face value %.6f, %.6f after claim costs; %.0f claimed on chain, earned %.6f\n",
		m["winners_stored_total"], won, net, m["winners_claimed_total"], m["earned_tokens_total"])
	diff := net - due
	dev := "no spread predicted yet"
	if sd > 0 {
		dev = fmt.Sprintf("%+.2f σ of the lottery's predicted σ %.6f", diff/sd, sd)
	}
	ratio := math.NaN()
	if due > 0 {
		ratio = net / due
	}
	_, err := fmt.Fprintf(out, "revenue   %.6f for %.6f due: ×%.4f, %+.6f (%s)\n", net, due, ratio, diff, dev)
	return err
}
