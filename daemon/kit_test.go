package daemon

import (
	"context"
	"fmt"
	"math/big"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/internal/payhop"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/relay"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/dir"
	"github.com/pexia-network/pexia/wallet/ticket"
)

// The parts of the daemon's test worlds: real nodes on loopback
// (hop/hoptest: WebRTC links, onion layers, exits) that verify every
// ticket against the chain, a directory listing them, and checks of what
// a connected daemon carries.

// nodePrice is what the test nodes charge and register, per GB.
var nodePrice = big.NewInt(1e15)

// testNode is one in-process node with the counters of the tickets it
// verified.
type testNode struct {
	*hoptest.Node
	entry dir.Node
	stats *payhop.TicketStats
}

// startNodes starts relays relay nodes and exits exit nodes on loopback,
// each paid into its own ticket receiver that checks the tickets' lottery
// accounts on the chain through cl. Their addresses are those of
// recipients (funded keys, so they could claim).
func startNodes(t *testing.T, lot ticket.Lottery, cl *chain.Client, recipients []common.Address, relays, exits int) []*testNode {
	t.Helper()
	var out []*testNode
	for i := range relays + exits {
		exit := i >= relays
		store, err := ticket.OpenStore(filepath.Join(t.TempDir(), "node.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		addr := recipients[i]
		recv, err := ticket.NewReceiver(ticket.ReceiverConfig{Lottery: lot, Recipient: addr, Accounts: ticket.ChainAccounts{Client: cl},
			Store: store, ClaimCost: func() *big.Int { return big.NewInt(1e12) }})
		if err != nil {
			t.Fatal(err)
		}
		stats := &payhop.TicketStats{}
		window := big.NewInt(1e14)
		payee := payhop.Payee(recv, payhop.NodeTerms{PricePerGB: nodePrice, ClaimCost: big.NewInt(1e12), Window: window,
			DebtLimit: new(big.Int).Mul(window, big.NewInt(4)), Stats: stats})
		n, err := hoptest.Start(exit, relay.NodeConfig{Address: onion.Address(addr), Payee: payee})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(n.Close)
		role := dir.RoleRelay
		if exit {
			role = dir.RoleExit
		}
		out = append(out, &testNode{Node: n, stats: stats, entry: dir.Node{
			Address: addr, Staker: addr, Stake: big.NewInt(1), Delay: 86400,
			URL: n.Info.URL, HandshakeKey: n.Info.NoiseKey, TLSFingerprint: n.Info.Pin,
			PricePerGB: nodePrice, Country: "ZZ", Roles: role,
		}})
	}
	return out
}

// accepted is the number of tickets the nodes verified and credited.
func accepted(nodes []*testNode) (n uint64) {
	for _, nd := range nodes {
		n += nd.stats.Snapshot().Accepted
	}
	return n
}

// nodeList is a NodeDirectory of fixed nodes. It applies the filters as
// the on-chain directory does (roles, price, country, token, exclusions,
// distinct operators), in list order instead of by stake.
type nodeList []dir.Node

func (l nodeList) pass(n dir.Node, f dir.Filter, used map[common.Address]bool) bool {
	switch {
	case used[n.Address] || used[n.Staker] || f.Exclude[n.Address], f.Only != nil && !f.Only[n.Address]:
		return false
	case n.Roles&f.Role != f.Role, n.Delay < f.MinDelay:
		return false
	case f.MaxPricePerGB != nil && n.PricePerGB.Cmp(f.MaxPricePerGB) > 0:
		return false
	case f.Country != "" && n.Country != f.Country:
		return false
	case f.Token != nil && n.Token != *f.Token:
		return false
	}
	return true
}

func (l nodeList) Lookup(_ context.Context, node common.Address) (dir.Node, bool, error) {
	for _, n := range l {
		if n.Address == node {
			return n, true, nil
		}
	}
	return dir.Node{}, false, nil
}

func (l nodeList) Circuit(ctx context.Context, hops int, relay, exit dir.Filter) ([]dir.Node, error) {
	if hops < 1 {
		return nil, fmt.Errorf("dir: %d hops", hops)
	}
	used := map[common.Address]bool{}
	out := make([]dir.Node, hops)
	for i := hops - 1; i >= 0; i-- {
		f := relay
		if i == hops-1 {
			f = exit
		}
		found := false
		for _, n := range l {
			if l.pass(n, f, used) {
				out[i], found = n, true
				used[n.Address], used[n.Staker] = true, true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("dir: hop %d: %w", i, dir.ErrNoNode)
		}
	}
	return out, nil
}

// waitState waits up to a minute for the daemon to reach want and returns
// its status then. It fails the test if the daemon reports an error state
// meanwhile (unless want is that).
func waitState(t *testing.T, d *Daemon, want api.State) api.Status {
	t.Helper()
	var st api.Status
	if testutil.Until(string(want), time.Minute, func() bool {
		st, _ = d.Status(context.Background())
		return st.State == want || st.State == api.StateError
	}) != nil {
		t.Fatalf("state %s (%s) after a minute, waiting for %s", st.State, st.Error, want)
	}
	if st.State != want {
		t.Fatalf("state %s (%s), waiting for %s", st.State, st.Error, want)
	}
	return st
}

// socksURL is the SOCKS5 proxy of a status.
func socksURL(t *testing.T, st api.Status) *url.URL {
	t.Helper()
	for _, a := range st.ProxyAddrs {
		if u, err := url.Parse(a); err == nil && u.Scheme == "socks5" {
			return u
		}
	}
	t.Fatalf("no socks5 proxy in %q", st.ProxyAddrs)
	return nil
}

// fetch downloads n bytes from src, a [testutil.Source], through the
// daemon's SOCKS5 proxy and returns how many bytes came.
func fetch(socks *url.URL, src string, n int64) (int64, error) {
	c, err := socks5Dial(socks.Host, src, socks.User)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	return testutil.Download(c, n)
}

// carries checks that the connected daemon carries traffic: an echo and a
// download of n bytes through its proxy and circuit, for which the nodes
// verify new tickets.
func carries(t *testing.T, d *Daemon, nodes []*testNode, n int64) {
	t.Helper()
	st, _ := d.Status(context.Background())
	socks := socksURL(t, st)
	if err := socks5Connect(socks.Host, testutil.EchoTCP(t, "127.0.0.1:0").Addr, socks.User); err != nil {
		t.Fatalf("echo through the proxy: %v", err)
	}
	before := accepted(nodes)
	got, err := fetch(socks, testutil.Source(t, "127.0.0.1:0").Addr, n)
	if err != nil || got != n {
		t.Fatalf("downloaded %d of %d bytes through the proxy: %v", got, n, err)
	}
	// The last window's tickets may still be on their way.
	testutil.WaitFor(t, "the nodes verify tickets for the download", time.Minute, func() bool { return accepted(nodes) > before })
}

// connect asks d to connect with hops hops and fails the test on error.
func connect(t *testing.T, d *Daemon, hops int) {
	t.Helper()
	if _, err := d.Connect(context.Background(), api.ConnectRequest{Hops: hops}); err != nil {
		t.Fatal(err)
	}
}

// sessions counts the running sessions (their run goroutines).
func sessions() int { return testutil.Running("daemon.(*Daemon).run(") }

// settledSessions waits up to 10 s until at most most sessions run, and
// returns how many run then: a session that was stopped has closed its
// done channel, which Disconnect waits for, a moment before its goroutine
// returns.
func settledSessions(most int) int {
	var n int
	testutil.Until("sessions to stop", 10*time.Second, func() bool { n = sessions(); return n <= most })
	return n
}

// checkCircuit fails unless the daemon's circuit has hops hops ending at
// one of the world's exits.
func checkCircuit(t *testing.T, d *Daemon, nodes []*testNode, hops int) {
	t.Helper()
	c, err := d.Circuit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Hops) != hops {
		t.Fatalf("circuit has %d hops, want %d", len(c.Hops), hops)
	}
	exit := c.Hops[hops-1]
	for _, n := range nodes {
		if n.entry.Address.Hex() == exit.Address {
			if exit.Role != api.RoleExit || n.entry.Roles&2 == 0 {
				t.Fatalf("the circuit ends at %s (%s), not an exit", exit.Address, exit.Role)
			}
			return
		}
	}
	t.Fatalf("the circuit's exit %s is none of the test nodes", exit.Address)
}
