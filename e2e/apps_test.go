//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/world"
)

// TestAppsAccounting: two copies of curl in the client host download
// known amounts through one circuit at the same time; pexia apps shows
// each one's bytes within 2 % of what it received, and the applications'
// spend plus what no application used yet adds up exactly to the ledger's
// issued total, also after pexiad restarts. Then a browser-like burst of
// 200 new connections in 1 s goes through the tunnel, and every one of
// them completes.
func TestAppsAccounting(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	d, cl, _ := startConnected(t, w, false, "")

	curlPath, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(curlPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sizes := map[string]int64{"curl-big": 24 << 20, "curl-small": 8 << 20}
	paths := map[string]string{}
	for name := range sizes {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
		paths[name] = p
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(sizes))
	for name, n := range sizes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
			defer cancel()
			out, err := w.Client.Command(cctx, paths[name], "-sS", "--fail", "-4", "-o", "/dev/null",
				fmt.Sprintf("http://%s/bytes/%d", world.Web4, n)).CombinedOutput()
			if err != nil {
				errs <- fmt.Errorf("%s: %v: %s", name, err, out)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	apps := func() api.Apps {
		t.Helper()
		out, err := d.CLI(ctx, "apps", "-json")
		if err != nil {
			t.Fatal(err)
		}
		var a api.Apps
		if err := json.Unmarshal([]byte(out), &a); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return a
	}
	check := func(a api.Apps, when string) {
		t.Helper()
		sum := new(big.Int).Set(a.Unattributed.Big())
		for _, app := range a.Apps {
			sum.Add(sum, app.Spend.Big())
		}
		if sum.Cmp(a.Issued.Big()) != 0 || a.Issued.IsZero() {
			t.Fatalf("%s: applications' spend %v + unattributed %v = %v; ledger's issued total %v", when, new(big.Int).Sub(sum, a.Unattributed.Big()), a.Unattributed, sum, a.Issued)
		}
		spend := map[string]*big.Int{}
		for name, n := range sizes {
			var found *api.App
			for i := range a.Apps {
				if a.Apps[i].Path == paths[name] {
					found = &a.Apps[i]
				}
			}
			if found == nil {
				t.Fatalf("%s: %s not among the applications: %+v", when, name, a.Apps)
			}
			if dev := math.Abs(float64(found.BytesDown)-float64(n)) / float64(n); dev > 0.02 {
				t.Fatalf("%s: %s received %d bytes, pexia apps counts %d (%.2f %% off)", when, name, n, found.BytesDown, 100*dev)
			}
			if found.Flows != 1 || found.Action != "tunnel" || found.Spend.IsZero() {
				t.Fatalf("%s: %s: %+v; want 1 tunnelled flow with some spend", when, name, *found)
			}
			spend[name] = found.Spend.Big()
			t.Logf("%s: %s: %d bytes down (sent %d), %d up, spend %v in %d tickets, rule %s", when, name, found.BytesDown, n, found.BytesUp, found.Spend, found.Tickets, found.Rule)
		}
		if spend["curl-big"].Cmp(spend["curl-small"]) <= 0 {
			t.Fatalf("%s: the larger download spent %v, the smaller %v", when, spend["curl-big"], spend["curl-small"])
		}
		t.Logf("%s: issued %v = applications %v + unattributed %v", when, a.Issued, new(big.Int).Sub(sum, a.Unattributed.Big()), a.Unattributed)
	}
	check(apps(), "connected")
	out, err := d.CLI(ctx, "apps")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pexia apps:\n%s", out)

	// The burst: 200 connections spread over one second, each one HTTP
	// request on its own connection, through pexiad's TUN.
	res := world.Burst(ctx, w.Client.Dialer().DialContext, fmt.Sprintf("http://%s/ip", world.Web4), 200, time.Second)
	t.Logf("burst: %d of 200 completed in %v (%.0f flows/s)", res.Opened, res.Elapsed.Round(time.Millisecond), res.FlowsPerS)
	if res.Failed != 0 {
		t.Fatalf("burst: %d of 200 connections failed; first: %v", res.Failed, res.FirstErr)
	}

	// The ledger outlives the daemon.
	if _, err := cl.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	before := apps()
	if err := d.Stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if d, err = w.StartDaemon(ctx, d.StateDir); err != nil {
		t.Fatal(err)
	}
	after := apps()
	check(after, "after a restart")
	if after.Issued.Cmp(before.Issued) != 0 || len(after.Apps) != len(before.Apps) {
		t.Fatalf("after a restart: issued %v, %d applications; before %v, %d", after.Issued, len(after.Apps), before.Issued, len(before.Apps))
	}
}
