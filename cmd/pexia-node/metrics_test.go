package main

import (
	"context"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/chaintest"
	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/internal/payhop"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/relay"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/ticket"
)

// download fetches n bytes from a [testutil.Source] at dst through c.
func download(ctx context.Context, c *hop.Circuit, dst string, n int64) error {
	conn, err := c.Dial(ctx, "tcp", dst)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = testutil.Download(conn, n)
	return err
}

// scrape fetches url and parses the Prometheus text format.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s", resp.Status)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// value returns the value of the series of name whose labels include
// labels (name=value pairs); -1 if there is none.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// TestMetricsScrape: traffic and payments through a real in-process
// circuit (a free relay, then a paid exit on an in-process EVM) show in a
// scrape of the exit's metrics endpoint under the expected names.
func TestMetricsScrape(t *testing.T) {
	c := chaintest.New(t)
	const nodeIdx, funderIdx = 2, 1
	n := &contracts.Network{Name: "t", ChainID: c.ChainID, RPC: "http://127.0.0.1:1", Addresses: c.Addrs}
	cl, err := chain.New(n, c.Client, chain.Options{Mine: func() { c.Sim.Commit() }, ReceiptPoll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	signerKey, _ := crypto.HexToECDSA("6666666666666666666666666666666666666666666666666666666666666666")
	c.Tx(funderIdx, c.Addrs.Lottery, c.Lot.PackDeposit(crypto.PubkeyToAddress(signerKey.PublicKey), contracts.Ether(5)), contracts.Ether(10))
	lot := ticket.Lottery{ChainID: c.ChainID, Address: c.Addrs.Lottery}
	accounts := ticket.ChainAccounts{Client: cl}
	store, err := ticket.OpenStore(filepath.Join(t.TempDir(), "tickets.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	// The claim cost is tiny next to the face value, and each payment is
	// worth more than a ticket's face minus that cost: every ticket wins.
	var (
		price     = big.NewInt(1e16) // per GB
		claimCost = big.NewInt(1e9)
		face      = big.NewInt(5e12)
		window    = big.NewInt(1e13)
	)
	recv, err := ticket.NewReceiver(ticket.ReceiverConfig{Lottery: lot, Recipient: c.Addr(nodeIdx), Accounts: accounts, Store: store,
		ClaimCost: func() *big.Int { return claimCost }, Grace: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tickets, claims := new(payhop.TicketStats), newClaimStats()
	payee := payhop.Payee(recv, payhop.NodeTerms{PricePerGB: price, ClaimCost: claimCost, Window: window,
		DebtLimit: new(big.Int).Mul(window, big.NewInt(4)), Stats: tickets})

	mid, err := hoptest.Start(false, relay.NodeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer mid.Close()
	stats := new(relay.NodeStats)
	exit, err := hoptest.Start(true, relay.NodeConfig{Address: onion.Address(c.Addr(nodeIdx)), Payee: payee, Stats: stats})
	if err != nil {
		t.Fatal(err)
	}
	defer exit.Close()

	ml, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	col := newCollector(stats, tickets, claims)
	col.price = price
	srv := metricsServer(newRegistry(col), ml)
	defer srv.Close()
	url := "http://" + ml.Addr().String() + "/metrics"

	// Before any traffic every family is there, at zero.
	fams := scrape(t, url)
	for _, name := range []string{"pexia_node_circuits_created_total", "pexia_node_relayed_bytes_total", "pexia_node_tickets_accepted_total", "pexia_node_claim_gas_used_total"} {
		if v := value(fams, name); v != 0 {
			t.Errorf("%s = %v before traffic, want 0", name, v)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	issuer := ticket.NewIssuer(lot, c.Addr(funderIdx), signerKey, accounts)
	circ, err := hop.Build(ctx, []hop.HopInfo{mid.Info, exit.Info}, hop.BuildConfig{Payer: payhop.Payer(issuer, payhop.ClientTerms{Face: face, WindowBytes: 2e6})})
	if err != nil {
		t.Fatal(err)
	}
	defer circ.Close()
	const size = 8 << 20
	dst := testutil.Source(t, "127.0.0.1:0").Addr
	if err := download(ctx, circ, dst, size); err != nil {
		t.Fatal(err)
	}
	// A refused stream, for the refusal counter (a nil policy allows
	// everything, but port 0 is never dialled).
	if conn, err := circ.Dial(ctx, "tcp", "127.0.0.1:0"); err == nil {
		conn.Close()
		t.Fatal("stream to port 0 opened")
	}
	// The node claims its winners.
	red := ticket.NewRedeemer(ticket.RedeemerConfig{Store: store, Receiver: recv,
		Claimer: claimer{cl: cl, key: c.Keys[nodeIdx], stats: claims, logf: t.Logf}})
	time.Sleep(10 * time.Millisecond) // past the reveal grace
	paid, err := red.RedeemOnce(ctx, true)
	if err != nil {
		t.Fatal(err)
	}

	fams = scrape(t, url)
	positive := []struct {
		name   string
		labels []string
	}{
		{"pexia_node_circuits_created_total", nil},
		{"pexia_node_circuits_active", []string{"role", "exit"}},
		{"pexia_node_circuits_total", []string{"role", "exit"}},
		{"pexia_node_streams_total", nil},
		{"pexia_node_streams_refused_total", []string{"reason", "policy"}},
		{"pexia_node_relayed_bytes_total", []string{"direction", "in"}},
		{"pexia_node_relayed_bytes_total", []string{"direction", "out"}},
		{"pexia_node_handshake_duration_seconds", []string{"kind", "create"}},
		{"pexia_node_links_active", nil},
		{"pexia_node_links_total", nil},
		{"pexia_node_tickets_accepted_total", nil},
		{"pexia_node_winners_stored_total", nil},
		{"pexia_node_claim_transactions_total", []string{"result", "ok"}},
		{"pexia_node_winners_claimed_total", nil},
		{"pexia_node_claim_gas_used_total", nil},
		{"pexia_node_claim_fees_total", nil},
		{"pexia_node_earned_tokens_total", nil},
		{"pexia_node_earnings_tokens", nil},
		{"pexia_node_paid_bytes_total", nil},
		{"pexia_node_revenue_due_tokens_total", nil},
		{"pexia_node_tickets_value_tokens_total", nil},
		{"pexia_node_tickets_credited_tokens_total", nil},
		{"pexia_node_winners_value_tokens_total", nil},
		{"pexia_node_winners_claim_cost_tokens_total", nil},
		{"go_goroutines", nil},
	}
	for _, p := range positive {
		if v := value(fams, p.name, p.labels...); v <= 0 {
			t.Errorf("%s%v = %v, want > 0", p.name, p.labels, v)
		}
	}
	if v := value(fams, "pexia_node_relayed_bytes_total", "direction", "out"); v < size {
		t.Errorf("exit wrote %v bytes for an %d-byte download", v, size)
	}
	for _, zero := range []string{"pexia_node_cells_malformed_total", "pexia_node_circuits_refused_total"} {
		if v := value(fams, zero); v != 0 {
			t.Errorf("%s = %v, want 0", zero, v)
		}
	}
	if v := value(fams, "pexia_node_tickets_refused_total", "reason", "replayed"); v != 0 {
		t.Errorf("replayed tickets: %v", v)
	}
	if earned := value(fams, "pexia_node_earned_tokens_total"); earned != tokens(paid) {
		t.Errorf("earned %v tokens, redeemer paid %v", earned, tokens(paid))
	}
	// The revenue report: the metered bytes at the price, and the
	// winners' value against the tickets' within the predicted spread.
	metered := value(fams, "pexia_node_paid_bytes_total")
	if due, want := value(fams, "pexia_node_revenue_due_tokens_total"), tokens(new(big.Int).Quo(new(big.Int).Mul(big.NewInt(int64(metered)), price), big.NewInt(1e9))); metered < size || due != want {
		t.Errorf("metered %v bytes for an %d-byte download, due %v tokens, want %v", metered, size, due, want)
	}
	var report strings.Builder
	if err := revenue(ctx, &Config{Metrics: MetricsConfig{Listen: ml.Addr().String()}}, &report); err != nil {
		t.Fatal(err)
	}
	t.Logf("pexia-node revenue:\n%s", report.String())
	for _, want := range []string{"metered   ", "due at the node's price", "winners   ", "revenue   "} {
		if !strings.Contains(report.String(), want) {
			t.Errorf("revenue report lacks %q:\n%s", want, report.String())
		}
	}
	t.Logf("tickets %v, winners %v, claimed %v, gas %v, earned %v",
		value(fams, "pexia_node_tickets_accepted_total"), value(fams, "pexia_node_winners_stored_total"),
		value(fams, "pexia_node_winners_claimed_total"), value(fams, "pexia_node_claim_gas_used_total"), value(fams, "pexia_node_earned_tokens_total"))

	// The relay's own circuit counters, after the circuit ends.
	circ.Close()
	deadline := time.Now().Add(5 * time.Second)
	for value(scrape(t, url), "pexia_node_circuits_destroyed_total", "reason", "peer_closed") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("circuit end not counted")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
