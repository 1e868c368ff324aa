package world

import (
	"strings"
	"testing"
)

func TestParseMetricsAndClaims(t *testing.T) {
	text := `# HELP pexia_node_winners_stored_total Winning tickets stored for claiming.
# TYPE pexia_node_winners_stored_total counter
pexia_node_winners_stored_total 7
pexia_node_winners_claimed_total 5
pexia_node_winners_refused_total 1
pexia_node_claim_transactions_total{result="ok"} 2
pexia_node_earned_tokens_total 0.0125
`
	m, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if m[`pexia_node_claim_transactions_total{result="ok"}`] != 2 || m["pexia_node_earned_tokens_total"] != 0.0125 {
		t.Fatalf("parsed %v", m)
	}
	c := Claims{Stored: m["pexia_node_winners_stored_total"], Claimed: m["pexia_node_winners_claimed_total"], Refused: m["pexia_node_winners_refused_total"]}
	if c.Settled() {
		t.Fatalf("%+v settled with a winner pending", c)
	}
	c.Claimed++
	if !c.Settled() {
		t.Fatalf("%+v not settled", c)
	}
	if _, err := parseMetrics(strings.NewReader("pexia_node_winners_stored_total seven\n")); err == nil {
		t.Fatal("a bad value was accepted")
	}
}
