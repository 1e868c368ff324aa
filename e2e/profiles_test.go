//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/world"
)

// TestProfileExits runs two copies of curl in the client host at the same
// time, each matched by a tunnel rule naming another profile: "near" (1
// hop, exit in NL) and "far" (3 hops, exit in JP). The internet host sees
// two different exit addresses, each that of an exit in the profile's
// country, and pexia status lists both circuits beside the connection's.
func TestProfileExits(t *testing.T) {
	w := newWorldWith(t, world.Options{ExitCountries: []string{"NL", "JP"}})
	ctx := context.Background()
	d, err := w.StartDaemon(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	cl := api.NewClient(d.Socket)
	connect(t, cl, 1)

	curlPath, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bins := map[string]string{}
	for _, p := range []string{"near", "far"} {
		b, err := os.ReadFile(curlPath)
		if err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(dir, "curl-"+p)
		if err := os.WriteFile(bin, b, 0o755); err != nil {
			t.Fatal(err)
		}
		bins[p] = bin
	}
	for _, args := range [][]string{
		{"profiles", "add", "near", "hops=1", "exit_countries=NL"},
		{"profiles", "add", "far", "hops=3", "exit_countries=JP"},
		{"rules", "add", "-name", "near-curl", "tunnel(near)", "exe=" + bins["near"]},
		{"rules", "add", "-name", "far-curl", "tunnel(far)", "exe=" + bins["far"]},
	} {
		if out, err := d.CLI(ctx, args...); err != nil {
			t.Fatalf("pexia %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// The exits by address, with their countries.
	country := map[string]string{}
	for i, h := range w.Exits {
		country[h.Addr4().String()] = []string{"NL", "JP"}[i]
	}
	want := map[string]string{"near": "NL", "far": "JP"}

	// Both at once, a few times: each sees its own profile's exit.
	for round := range 3 {
		seen := map[string]string{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for p, bin := range bins {
			wg.Go(func() {
				cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
				defer cancel()
				out, err := w.Client.Command(cctx, bin, "-sS", "--fail", "--max-time", "90", "-4", "http://203.0.113.10/ip").CombinedOutput()
				if err != nil {
					t.Errorf("round %d: curl-%s: %v: %s", round, p, err, out)
					return
				}
				mu.Lock()
				seen[p] = string(out)
				mu.Unlock()
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		if seen["near"] == seen["far"] {
			t.Fatalf("round %d: both profiles left from %s", round, seen["near"])
		}
		for p, addr := range seen {
			if c, ok := country[addr]; !ok || c != want[p] {
				t.Fatalf("round %d: curl-%s left from %q (country %q), want an exit in %s", round, p, addr, c, want[p])
			}
		}
		t.Logf("round %d: near left from %s (%s), far from %s (%s)", round, seen["near"], country[seen["near"]], seen["far"], country[seen["far"]])
	}

	st, err := cl.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	circuits := map[string]api.Circuit{}
	for _, c := range st.Circuits {
		circuits[c.Profile] = c
	}
	for p, hops := range map[string]int{"near": 1, "far": 3} {
		c, ok := circuits[p]
		if !ok {
			t.Fatalf("status lists no circuit for %s: %+v", p, st.Circuits)
		}
		if exit := c.Hops[len(c.Hops)-1]; len(c.Hops) != hops || exit.Country != want[p] {
			t.Fatalf("%s: %d hops, exit in %s; want %d hops, exit in %s", p, len(c.Hops), exit.Country, hops, want[p])
		}
	}
	out, err := d.CLI(ctx, "status")
	if err != nil || !strings.Contains(out, "profile far") || !strings.Contains(out, "3 hops, exit JP") {
		t.Fatalf("pexia status: %v\n%s", err, out)
	}
	t.Logf("pexia status:\n%s", out)
}
