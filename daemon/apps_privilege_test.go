package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/rules"
)

// TestMemberApps: over the real socket, a real non-root member of the
// group sees only the applications of their own uid in GET /v1/apps and
// in the budget's per-app rows; root sees every application.
func TestMemberApps(t *testing.T) {
	member := newTestUser(t)
	pub := publicDir(t)
	w := newWorld(t, 0, 0)
	d := w.daemon(w.config())
	sock := filepath.Join(pub, "run", "pexiad.sock")
	scfg := api.ServerConfig{Group: member.group, Logf: w.lg.Logf}
	ln, err := api.Listen(sock, scfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := api.NewServer(d, scfg)
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	c := newAPICaller(t, pub, sock)

	// Flows the router counted: one application of root's, one of the
	// member's.
	tunnel := rules.Decision{Target: rules.Target{Action: rules.Tunnel}}
	rootApp := d.apps.stat(appLabel(rules.Owner{UID: 0, HasUID: true, Exe: "/usr/sbin/backup"}), "default", tunnel)
	rootApp.flows.Add(1)
	rootApp.up.Add(1000)
	memberApp := d.apps.stat(appLabel(rules.Owner{UID: member.uid, HasUID: true, Exe: "/usr/bin/browser"}), "default", tunnel)
	memberApp.flows.Add(2)
	memberApp.down.Add(5000)

	paths := func(as *testUser) map[string]api.App {
		t.Helper()
		code, body := c.call(as, apiOp{Method: "GET", Path: "/v1/apps"})
		if code != http.StatusOK {
			t.Fatalf("GET /v1/apps: %d %s", code, body)
		}
		var a api.Apps
		if err := json.Unmarshal([]byte(body), &a); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		out := map[string]api.App{}
		for _, app := range a.Apps {
			out[fmt.Sprintf("%d:%s", app.UID, app.Path)] = app
		}
		return out
	}
	mine := fmt.Sprintf("%d:/usr/bin/browser", member.uid)
	got := paths(&member)
	if len(got) != 1 || got[mine].Flows != 2 || got[mine].BytesDown != 5000 {
		t.Fatalf("member sees %+v; want only their browser with 2 flows, 5000 bytes down", got)
	}
	got = paths(nil)
	if len(got) != 2 || got["0:/usr/sbin/backup"].BytesUp != 1000 || got[mine].BytesDown != 5000 {
		t.Fatalf("root sees %+v; want both applications", got)
	}

	code, body := c.call(&member, apiOp{Method: "GET", Path: "/v1/budget"})
	if code != http.StatusOK {
		t.Fatalf("GET /v1/budget: %d %s", code, body)
	}
	var b api.Budget
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatal(err)
	}
	for _, row := range b.PerApp {
		if row.Key != fmt.Sprintf("%d:/usr/bin/browser", member.uid) {
			t.Fatalf("member's budget shows application %q", row.Key)
		}
	}
}
