package daemon

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/internal/logger"
	"github.com/pexia-network/pexia/internal/payhop"
	"github.com/pexia-network/pexia/tun"
	"github.com/pexia-network/pexia/wallet/dir"
)

// Plan is what the user asked the circuits to be.
type Plan struct {
	Hops          int
	Country       string   // of the exit; empty for any
	MaxPricePerGB *big.Int // per hop; nil for no cap
	MinDelay      time.Duration
	// Countries, if any, replaces Country: each circuit's exit is in one
	// of them, drawn at random per circuit. Nodes, if any, is the curated
	// list every hop comes from.
	Countries []string
	Nodes     map[common.Address]bool
}

// profilePlan is the plan of one of the pool's profiles, and the name the
// user knows it by (the rules profile's, or the connection's).
type profilePlan struct {
	Plan
	label string
}

// HopStatus describes one hop of the live circuit.
type HopStatus struct {
	Address    common.Address
	URL        string
	Country    string
	Exit       bool
	PricePerGB *big.Int
}

// selector samples circuits from the on-chain directory and remembers the
// nodes of the last sample so the daemon can show them.
type selector struct {
	d    NodeDirectory
	plan Plan
	// name is the pool profile of the connection's circuit, which plan
	// describes; fund, if set, makes sure the hop accounts can pay a
	// circuit of so many hops before one is picked.
	name string
	fund func(ctx context.Context, hops int) error
	// guards, if set, gives the first hops (see guards.go): network's
	// guard set, drawn among the relays guardFilter passes.
	guards      *guards
	network     string
	guardFilter dir.Filter

	mu    sync.Mutex
	last  map[onion.Address]dir.Node
	plans map[string]profilePlan // the rules profiles', by pool profile name
}

// planOf returns the plan of the pool profile named name.
func (s *selector) planOf(name string) profilePlan {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pp, ok := s.plans[name]; ok {
		return pp
	}
	return profilePlan{Plan: s.plan, label: s.name}
}

// addPlan records the plan of a rules profile's pool profile, unless
// known.
func (s *selector) addPlan(name string, pp func() profilePlan) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.plans[name]; ok {
		return
	}
	if s.plans == nil {
		s.plans = map[string]profilePlan{}
	}
	s.plans[name] = pp()
}

func (s *selector) pick(ctx context.Context, p hop.Profile) ([]hop.HopInfo, error) {
	plan := s.planOf(p.Name).Plan
	if s.fund != nil {
		if err := s.fund(ctx, plan.Hops); err != nil {
			return nil, err
		}
	}
	country := plan.Country
	if len(plan.Countries) > 0 {
		country = plan.Countries[rand.IntN(len(plan.Countries))]
	}
	md := uint64(plan.MinDelay.Seconds())
	// Only nodes paid in the coin the client pays in, and none whose terms
	// were refused lately.
	var token common.Address
	avoid := map[common.Address]bool{}
	for _, a := range p.Avoid {
		avoid[common.Address(a)] = true
	}
	relay := dir.Filter{Role: dir.RoleRelay, MinDelay: md, MaxPricePerGB: plan.MaxPricePerGB, Token: &token, Exclude: avoid, Only: plan.Nodes}
	exit := dir.Filter{Role: dir.RoleExit, MinDelay: md, MaxPricePerGB: plan.MaxPricePerGB, Country: country, Token: &token, Exclude: avoid, Only: plan.Nodes}
	var nodes []dir.Node
	var err error
	if s.guards != nil {
		nodes, err = s.guarded(ctx, plan.Hops, relay, exit)
	} else {
		nodes, err = s.d.Circuit(ctx, plan.Hops, relay, exit)
	}
	if err != nil {
		return nil, err
	}
	infos := make([]hop.HopInfo, len(nodes))
	s.mu.Lock()
	if s.last == nil {
		s.last = map[onion.Address]dir.Node{}
	}
	for i, nd := range nodes {
		infos[i] = payhop.HopInfo(nd)
		s.last[onion.Address(nd.Address)] = nd
	}
	s.mu.Unlock()
	return infos, nil
}

// describe returns what the directory said of the hops of c.
func (s *selector) describe(c *hop.Circuit) []HopStatus {
	if c == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []HopStatus
	for i, h := range c.Hops() {
		nd := s.last[h.Address]
		out = append(out, HopStatus{Address: common.Address(h.Address), URL: h.URL, Country: nd.Country,
			Exit: i == c.Len()-1, PricePerGB: nd.PricePerGB})
	}
	return out
}

// markedHTTP is an HTTP client whose connections carry the bypass mark, for
// the chain RPC.
func markedHTTP(mark uint32, timeout time.Duration) *http.Client {
	d := tun.MarkDialer(mark)
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}}
}

// newPool returns a circuit pool whose links to first hops carry the
// bypass mark.
func newPool(sel *selector, payer hop.Payer, mark uint32, paddingRate int, logf logger.Logf) *hop.Pool {
	cfg := hop.BuildConfig{
		Payer:       payer,
		PaddingRate: paddingRate,
		Link: func(ctx context.Context, h hop.HopInfo) (*link.Link, error) {
			return link.Dial(ctx, h.URL, h.Pin, link.DialConfig{Mark: int(mark)})
		},
	}
	return hop.NewPool(sel.pick, cfg, logger.WithPrefix(logf, "circuit: "))
}

func checkPlan(p Plan) error {
	if p.Hops < 1 || p.Hops > 5 {
		return fmt.Errorf("hops must be 1 to 5, not %d", p.Hops)
	}
	return nil
}

// paddingRate converts a padding setting in kilobits per second into
// cells per second (at least one).
func paddingRate(kbps int) int {
	if kbps <= 0 {
		return 0
	}
	r := (kbps*1000/8 + onion.DefaultCellSize - 1) / onion.DefaultCellSize
	return min(max(r, 1), hop.MaxPaddingRate)
}

// udpFlows lists the udp flows open on c with their counters, for Status;
// withDst keeps their destinations.
func udpFlows(c *hop.Circuit, withDst bool) []api.UDPFlow {
	if c == nil {
		return nil
	}
	var out []api.UDPFlow
	for _, f := range c.Flows() {
		u := api.UDPFlow{Protocol: f.Kind.Network(), Sent: f.Sent, Received: f.Received, DroppedUp: f.DroppedOut, DroppedDown: f.DroppedIn,
			ExitDroppedUp: f.PeerDroppedIn, ExitDroppedDown: f.PeerDroppedOut}
		if withDst {
			u.Destination = f.Address
		}
		out = append(out, u)
	}
	return out
}
