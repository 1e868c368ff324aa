package daemon

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/rules"
)

// TestProfileCircuits: two tunnel rules name two profiles (1 hop with the
// exit in DE, 3 hops with the exit in FR; the connection's circuit is one
// hop). Flows to each, at the same
// time and through the daemon's proxy, ride circuits of their own, apart
// from the connection's; every hop of each is paid and the budget sees
// the tickets of each profile by name; status lists the three circuits;
// a profile's circuit is closed once nothing uses it, and a new flow
// builds it again.
func TestProfileCircuits(t *testing.T) {
	w := newWorld(t, 2, 2)
	w.nodes[2].entry.Country, w.nodes[3].entry.Country = "DE", "FR"
	fastTicks(t, 5*time.Millisecond)
	d := w.daemon(w.config())
	one, three := testutil.Source(t, "127.0.0.1:0"), testutil.Source(t, "127.0.0.1:0")
	if _, err := d.rules.Update(func(s *rules.Set) error {
		s.Profiles = []rules.Profile{{Name: "one", Hops: 1, ExitCountries: []string{"DE"}}, {Name: "three", Hops: 3, ExitCountries: []string{"FR"}}}
		s.Rules = []rules.Rule{
			{Match: rules.Match{Port: []string{strconv.Itoa(int(one.Port()))}}, Target: rules.Target{Action: rules.Tunnel, Profile: "one"}},
			{Match: rules.Match{Port: []string{strconv.Itoa(int(three.Port()))}}, Target: rules.Target{Action: rules.Tunnel, Profile: "three"}},
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	connect(t, d, 1)
	st := waitState(t, d, api.StateConnected)
	socks := socksURL(t, st)

	var wg sync.WaitGroup
	for _, src := range []*testutil.Server{one, three} {
		wg.Go(func() {
			c, err := socks5Dial(socks.Host, src.Addr, socks.User)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(time.Minute))
			if _, err := testutil.Download(c, 4<<20); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	st, err := d.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]api.Circuit{}
	for _, c := range st.Circuits {
		byName[c.Profile] = c
		t.Logf("circuit %s (default %v): %d hops, exit %s in %s", c.Profile, c.Default, len(c.Hops), c.Hops[len(c.Hops)-1].Address, c.Hops[len(c.Hops)-1].Country)
	}
	want := map[string]struct {
		hops    int
		country string
	}{"default-1": {1, "DE"}, "one": {1, "DE"}, "three": {3, "FR"}}
	if len(st.Circuits) != len(want) || !st.Circuits[0].Default || st.Circuits[0].Profile != "default-1" {
		t.Fatalf("status lists %d circuits (first %q), want the connection's first and one per profile", len(st.Circuits), st.Circuits[0].Profile)
	}
	for name, wc := range want {
		c, ok := byName[name]
		if !ok {
			t.Fatalf("no circuit for %s", name)
		}
		exit := c.Hops[len(c.Hops)-1]
		if len(c.Hops) != wc.hops || exit.Country != wc.country || exit.Role != api.RoleExit {
			t.Fatalf("%s: %d hops, exit in %s (%s); want %d hops, exit in %s", name, len(c.Hops), exit.Country, exit.Role, wc.hops, wc.country)
		}
		if name != "default-1" {
			for k, h := range c.Hops {
				if h.Paid.Big().Sign() <= 0 {
					t.Fatalf("%s: hop %d was paid nothing", name, k)
				}
			}
		}
	}
	b, err := d.Budget(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	spent := map[string]uint64{}
	for _, a := range b.PerProfile {
		spent[a.Key] = a.Tickets
	}
	if spent["one"] == 0 || spent["three"] == 0 {
		t.Fatalf("tickets per profile in the budget: %v; want some for one and three", spent)
	}

	// Nothing uses the profiles any more: their circuits close, the
	// connection's stays.
	old := profileIdle.Load()
	profileIdle.Store(0)
	t.Cleanup(func() { profileIdle.Store(old) })
	testutil.WaitFor(t, "the profiles' circuits closed", 30*time.Second, func() bool {
		st, _ := d.Status(context.Background())
		return len(st.Circuits) == 1 && st.Circuits[0].Default
	})
	profileIdle.Store(int64(time.Hour))
	if err := socks5Connect(socks.Host, testutil.EchoTCP(t, "127.0.0.1:0").Addr, socks.User); err != nil {
		t.Fatal(err)
	}
	c, err := socks5Dial(socks.Host, one.Addr, socks.User)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	if _, err := testutil.Download(c, 1<<20); err != nil {
		t.Fatal(err)
	}
	st, _ = d.Status(context.Background())
	if len(st.Circuits) != 2 || st.Circuits[1].Profile != "one" {
		t.Fatalf("after a new flow for one: %d circuits", len(st.Circuits))
	}
}
