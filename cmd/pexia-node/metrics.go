package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/lottery"
	"github.com/pexia-network/pexia/hop/stream"
	"github.com/pexia-network/pexia/internal/logger"
	"github.com/pexia-network/pexia/internal/payhop"
	"github.com/pexia-network/pexia/relay"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/ticket"
)

// Metrics.
//
// The node's counters live where the work happens, as plain atomics with
// a Snapshot: relay.NodeStats (circuits, streams, bytes, cells, handshakes,
// links), payhop.TicketStats (tickets) and claimStats here (claims on
// chain). One Collector turns snapshots into Prometheus metrics at scrape
// time, on a registry of the node's own (never the global one), served on a
// separate address (by default loopback only: the numbers say how busy the
// node is, which is nobody else's business).

// claimStats counts the redeemer's claims.
type claimStats struct {
	txOK, txFailed atomic.Uint64
	claimed        atomic.Uint64 // winners paid on chain
	refused        atomic.Uint64 // winners the chain refused
	gas            atomic.Uint64 // gas used by claim transactions

	mu       sync.Mutex
	fees     *big.Int // wei spent on claim gas; guarded by mu
	earned   *big.Int // paid to the node by its claims; guarded by mu
	earnings *big.Int // uncollected earnings on chain, last read; nil until read; guarded by mu
}

func newClaimStats() *claimStats { return &claimStats{fees: new(big.Int), earned: new(big.Int)} }

// claimer claims winners like ticket.ChainClaimer, and counts what the
// claims did and cost.
type claimer struct {
	cl    *chain.Client
	key   *ecdsa.PrivateKey
	stats *claimStats
	logf  logger.Logf
}

// Claim implements ticket.Claimer.
func (c claimer) Claim(ctx context.Context, ts []lottery.LotteryTicket) (map[common.Hash]ticket.Outcome, error) {
	res, err := c.cl.Claim(ctx, c.key, common.Address{}, ts)
	if res != nil {
		c.stats.gas.Add(res.GasUsed)
		c.stats.mu.Lock()
		if res.Fee != nil {
			c.stats.fees.Add(c.stats.fees, res.Fee)
		}
		if res.Total != nil {
			c.stats.earned.Add(c.stats.earned, res.Total)
		}
		c.stats.mu.Unlock()
	}
	if err != nil && !(errors.Is(err, chain.ErrClaimDecode) && res != nil) {
		c.stats.txFailed.Add(1)
		return nil, err
	}
	c.stats.txOK.Add(1)
	out := make(map[common.Hash]ticket.Outcome, len(res.Tickets))
	for _, t := range res.Tickets {
		switch {
		case t.Paid:
			out[t.ID] = ticket.Outcome{Paid: t.Amount}
			c.stats.claimed.Add(1)
		case t.PaidBefore != nil:
			out[t.ID] = ticket.Outcome{Paid: t.PaidBefore.Amount}
		case t.Decoded:
			out[t.ID] = ticket.Outcome{Reason: t.Reason}
			c.stats.refused.Add(1)
		}
	}
	c.refreshEarnings(ctx)
	return out, nil
}

// refreshEarnings reads the node's uncollected earnings on chain.
func (c claimer) refreshEarnings(ctx context.Context) {
	me := crypto.PubkeyToAddress(c.key.PublicKey)
	lot := lottery.NewLottery()
	out, err := c.cl.Call(ctx, c.cl.Lottery(), lot.PackEarnings(common.Address{}, me))
	if err == nil {
		var e *big.Int
		if e, err = lot.UnpackEarnings(out); err == nil {
			c.stats.mu.Lock()
			c.stats.earnings = e
			c.stats.mu.Unlock()
			return
		}
	}
	c.logf("earnings: %v", err)
}

// collector exports a node's statistics. tickets and claims are nil for a
// node that does not charge.
type collector struct {
	node    *relay.NodeStats
	tickets *payhop.TicketStats
	claims  *claimStats
	price   *big.Int // the node's price per 10^9 bytes, with tickets

	circuitsCreated, circuitsActive, circuitsTotal, circuitsRefused, circuitsDestroyed    *prometheus.Desc
	streamsActive, streamsTotal, streamsRefused                                           *prometheus.Desc
	bytes, cellsDropped, cellsMalformed, handshake, linksActive, linksTotal, linksRefused *prometheus.Desc
	datagramsDropped                                                                      *prometheus.Desc
	ticketsAccepted, ticketsRefused, winnersStored                                        *prometheus.Desc
	paidBytes, due, ticketsValue, ticketsCredited, wonValue, wonClaimCost, wonSD          *prometheus.Desc
	claimTx, winnersClaimed, winnersRefused, claimGas, claimFees, earned, earnings        *prometheus.Desc
}

func newCollector(node *relay.NodeStats, tickets *payhop.TicketStats, claims *claimStats) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("pexia_node_"+name, help, labels, nil)
	}
	return &collector{
		node: node, tickets: tickets, claims: claims,
		circuitsCreated:   d("circuits_created_total", "Circuits created at this node (CREATE answered)."),
		circuitsActive:    d("circuits_active", "Circuits open through this node, by role (pending: neither extended nor carrying streams yet).", "role"),
		circuitsTotal:     d("circuits_total", "Circuits that took a role at this node: relay (extended onwards) or exit (carried streams).", "role"),
		circuitsRefused:   d("circuits_refused_total", "CREATEs refused, by reason.", "reason"),
		circuitsDestroyed: d("circuits_destroyed_total", "Circuits ended, by reason.", "reason"),
		streamsActive:     d("streams_active", "Exit streams open."),
		streamsTotal:      d("streams_total", "Exit streams connected."),
		streamsRefused:    d("streams_refused_total", "Exit streams refused, by reason.", "reason"),
		bytes:             d("relayed_bytes_total", "Cell bytes read from (in) and written to (out) links.", "direction"),
		cellsDropped:      d("cells_dropped_total", "Cells discarded without effect (padding, stray commands)."),
		cellsMalformed:    d("cells_malformed_total", "Cells that failed to decode or authenticate (each ends its circuit)."),
		datagramsDropped:  d("datagrams_dropped_total", "Datagrams of exit UDP flows dropped, counted when a flow ends: back (to the client; the circuit could not take more) or forward (to the destination).", "direction"),
		handshake:         d("handshake_duration_seconds", "Time to answer a CREATE (create) and to complete an EXTEND (extend).", "kind"),
		linksActive:       d("links_active", "WebRTC links up, from peers and to next hops."),
		linksTotal:        d("links_total", "WebRTC links set up."),
		linksRefused:      d("links_refused_total", "Links closed at once because their peer address had limits.max_links_per_peer links."),
		ticketsAccepted:   d("tickets_accepted_total", "Lottery tickets verified and credited."),
		ticketsRefused:    d("tickets_refused_total", "Lottery tickets refused, by reason.", "reason"),
		winnersStored:     d("winners_stored_total", "Winning tickets stored for claiming."),
		paidBytes:         d("paid_bytes_total", "Bytes the node metered for payment (its clients' traffic)."),
		due:               d("revenue_due_tokens_total", "What the metered bytes cost at the node's price, in whole tokens."),
		ticketsValue:      d("tickets_value_tokens_total", "Expected value (win probability × face) of the tickets accepted, in whole tokens."),
		ticketsCredited:   d("tickets_credited_tokens_total", "Expected value of the tickets accepted net of the claim cost announced with them: what the meters credited, in whole tokens."),
		wonValue:          d("winners_value_tokens_total", "Face value of the winning tickets stored, in whole tokens."),
		wonClaimCost:      d("winners_claim_cost_tokens_total", "Claim cost announced with each winning ticket, summed, in whole tokens: winners_value minus this is the node's revenue after claiming."),
		wonSD:             d("winners_value_sd_tokens", "Standard deviation of winners_value_tokens_total that the tickets accepted predict (the lottery's variance), in whole tokens."),
		claimTx:           d("claim_transactions_total", "Claim transactions, by result.", "result"),
		winnersClaimed:    d("winners_claimed_total", "Winning tickets paid on chain."),
		winnersRefused:    d("winners_refused_total", "Winning tickets the chain refused."),
		claimGas:          d("claim_gas_used_total", "Gas used by claim transactions."),
		claimFees:         d("claim_fees_total", "Native coin spent on claim gas, in whole coins."),
		earned:            d("earned_tokens_total", "Paid to the node by its claims since it started, in whole tokens."),
		earnings:          d("earnings_tokens", "Uncollected earnings in the Lottery, in whole tokens, as last read (after each claim)."),
	}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.circuitsCreated, c.circuitsActive, c.circuitsTotal, c.circuitsRefused, c.circuitsDestroyed,
		c.streamsActive, c.streamsTotal, c.streamsRefused, c.bytes, c.cellsDropped, c.cellsMalformed, c.datagramsDropped, c.handshake, c.linksActive, c.linksTotal, c.linksRefused} {
		ch <- d
	}
	if c.tickets != nil {
		for _, d := range []*prometheus.Desc{c.ticketsAccepted, c.ticketsRefused, c.winnersStored, c.paidBytes, c.due,
			c.ticketsValue, c.ticketsCredited, c.wonValue, c.wonClaimCost, c.wonSD} {
			ch <- d
		}
	}
	if c.claims != nil {
		for _, d := range []*prometheus.Desc{c.claimTx, c.winnersClaimed, c.winnersRefused, c.claimGas, c.claimFees, c.earned, c.earnings} {
			ch <- d
		}
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	s := c.node.Snapshot()
	counter(c.circuitsCreated, s.CircuitsCreated)
	for r, v := range s.CircuitsActive {
		gauge(c.circuitsActive, float64(v), r.String())
	}
	for r, v := range s.CircuitsTotal {
		counter(c.circuitsTotal, v, r.String())
	}
	for r, v := range s.CircuitsRefused {
		counter(c.circuitsRefused, v, r.String())
	}
	for r, v := range s.CircuitsDestroyed {
		counter(c.circuitsDestroyed, v, r.String())
	}
	gauge(c.streamsActive, float64(s.StreamsActive))
	counter(c.streamsTotal, s.StreamsTotal)
	for r, v := range s.StreamsRefused {
		counter(c.streamsRefused, v, streamReasonLabel(r))
	}
	counter(c.bytes, s.BytesIn, "in")
	counter(c.bytes, s.BytesOut, "out")
	counter(c.cellsDropped, s.CellsDropped)
	counter(c.cellsMalformed, s.CellsMalformed)
	counter(c.datagramsDropped, s.DatagramsDroppedBack, "back")
	counter(c.datagramsDropped, s.DatagramsDroppedForward, "forward")
	for k, h := range s.Handshakes {
		buckets := make(map[float64]uint64, len(h.Bounds))
		var cum uint64
		for i, b := range h.Bounds {
			cum += h.Counts[i]
			buckets[b] = cum
		}
		ch <- prometheus.MustNewConstHistogram(c.handshake, h.Count, h.Sum, buckets, k.String())
	}
	gauge(c.linksActive, float64(s.LinksActive))
	counter(c.linksTotal, s.LinksTotal)
	counter(c.linksRefused, s.LinksRefused)

	if c.tickets != nil {
		t := c.tickets.Snapshot()
		counter(c.ticketsAccepted, t.Accepted)
		counter(c.winnersStored, t.Winners)
		for r, v := range t.Refused {
			counter(c.ticketsRefused, v, r.String())
		}
		rv := t.Revenue
		counter(c.paidBytes, rv.CarriedBytes)
		price := c.price
		if price == nil {
			price = new(big.Int)
		}
		for d, v := range map[*prometheus.Desc]*big.Int{c.due: rv.Due(price), c.ticketsValue: rv.ExpectedValue,
			c.ticketsCredited: rv.Credited, c.wonValue: rv.Won, c.wonClaimCost: rv.ClaimCosts} {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, tokens(v))
		}
		gauge(c.wonSD, rv.WonSD/1e18)
	}
	if cs := c.claims; cs != nil {
		counter(c.claimTx, cs.txOK.Load(), "ok")
		counter(c.claimTx, cs.txFailed.Load(), "failed")
		counter(c.winnersClaimed, cs.claimed.Load())
		counter(c.winnersRefused, cs.refused.Load())
		counter(c.claimGas, cs.gas.Load())
		cs.mu.Lock()
		fees, earned, earnings := tokens(cs.fees), tokens(cs.earned), cs.earnings
		cs.mu.Unlock()
		ch <- prometheus.MustNewConstMetric(c.claimFees, prometheus.CounterValue, fees)
		ch <- prometheus.MustNewConstMetric(c.earned, prometheus.CounterValue, earned)
		if earnings != nil {
			gauge(c.earnings, tokens(earnings))
		}
	}
}

// streamReasonLabel names a stream refusal reason for a metric label.
func streamReasonLabel(r stream.Reason) string {
	switch r {
	case stream.ReasonPolicy:
		return "policy"
	case stream.ReasonConnectFailed:
		return "connect_failed"
	case stream.ReasonDNS:
		return "dns"
	case stream.ReasonResources:
		return "resources"
	case stream.ReasonConnReset:
		return "conn_reset"
	}
	return strings.ReplaceAll(r.String(), " ", "_")
}

// tokens converts an amount in the smallest unit to whole tokens.
func tokens(v *big.Int) float64 {
	f, _ := new(big.Rat).SetFrac(v, contracts.Ether(1)).Float64()
	return f
}

// newRegistry returns the node's own metrics registry: its collector plus
// the Go runtime and process collectors.
func newRegistry(c *collector) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// metricsServer serves reg's /metrics on ln.
func metricsServer(reg *prometheus.Registry, ln net.Listener) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return srv
}
