package daemon

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/pexia-network/pexia/rules"
)

// TestMemberRules: a real non-root member of the group may tunnel and
// block, send only their own traffic direct, and undo only their own
// rules and profiles; root may do anything. Every accepted change is in
// rules.json at once, with who added it.
func TestMemberRules(t *testing.T) {
	member := newTestUser(t)
	pub := publicDir(t)
	w := newWorld(t, 0, 0)
	d := w.daemon(w.config())
	c := serveAPI(t, d, pub, member.group, w.lg.Logf)
	rule := func(action string, match map[string]any) map[string]any {
		return map[string]any{"rule": map[string]any{"match": match, "action": action}}
	}
	steps := []struct {
		as   *testUser
		op   apiOp
		code int
	}{
		{nil, apiOp{Method: "POST", Path: "/v1/rules/add", Body: rule("direct", map[string]any{"dst": []string{"192.168.0.0/16"}})}, http.StatusOK},
		{&member, apiOp{Method: "GET", Path: "/v1/rules"}, http.StatusOK},
		{&member, apiOp{Method: "POST", Path: "/v1/rules/add", Body: rule("block", map[string]any{"port": []string{"6881-6889"}})}, http.StatusOK},
		{&member, apiOp{Method: "POST", Path: "/v1/rules/add", Body: rule("direct", map[string]any{"name": []string{"game"}})}, http.StatusForbidden},
		{&member, apiOp{Method: "POST", Path: "/v1/rules/add", Body: rule("direct", map[string]any{"name": []string{"game"}, "uid": []uint32{member.uid}})}, http.StatusOK},
		{&member, apiOp{Method: "POST", Path: "/v1/rules/add", Body: rule("direct", map[string]any{"dst": []string{"10.0.0.0/33"}, "uid": []uint32{member.uid}})}, http.StatusBadRequest},
		{&member, apiOp{Method: "POST", Path: "/v1/rules/remove", Body: map[string]any{"position": 1}}, http.StatusForbidden},
		{&member, apiOp{Method: "POST", Path: "/v1/rules/move", Body: map[string]any{"from": 3, "to": 1}}, http.StatusOK},
		{&member, apiOp{Method: "PUT", Path: "/v1/rules/default", Body: map[string]any{"action": "direct"}}, http.StatusForbidden},
		{&member, apiOp{Method: "PUT", Path: "/v1/rules/default", Body: map[string]any{"action": "block"}}, http.StatusOK},
		{nil, apiOp{Method: "PUT", Path: "/v1/rules/default", Body: map[string]any{"action": "tunnel"}}, http.StatusOK},
		{nil, apiOp{Method: "POST", Path: "/v1/profiles", Body: map[string]any{"name": "far", "hops": 3, "exit_countries": []string{"DE"}}}, http.StatusOK},
		{&member, apiOp{Method: "POST", Path: "/v1/profiles", Body: map[string]any{"name": "far", "hops": 1}}, http.StatusForbidden},
		{&member, apiOp{Method: "POST", Path: "/v1/profiles", Body: map[string]any{"name": "near", "hops": 1}}, http.StatusOK},
		{&member, apiOp{Method: "POST", Path: "/v1/rules/add", Body: rule("tunnel(near)", nil)}, http.StatusBadRequest},
		{&member, apiOp{Method: "POST", Path: "/v1/rules/test", Body: map[string]any{"dst": "192.168.1.1:22"}}, http.StatusOK},
		{&member, apiOp{Method: "POST", Path: "/v1/profiles/remove", Body: map[string]any{"name": "far"}}, http.StatusForbidden},
		{nil, apiOp{Method: "POST", Path: "/v1/rules/remove", Body: map[string]any{"position": 2}}, http.StatusOK},
	}
	for i, s := range steps {
		who := "root"
		if s.as != nil {
			who = "member"
		}
		if code, body := c.call(s.as, s.op); code != s.code {
			t.Fatalf("step %d: %s %s %s: %d %s; want %d", i+1, who, s.op.Method, s.op.Path, code, body, s.code)
		}
	}
	b, err := os.ReadFile(rulesPathIn(d.cfg.StateDir))
	if err != nil {
		t.Fatal(err)
	}
	saved, err := rules.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(saved)
	// Left: the member's two rules (root removed its own, second after
	// the member's move); the default back to tunnel; both profiles.
	if saved.Default.Action != rules.Tunnel || len(saved.Profiles) != 2 || len(saved.Rules) != 2 {
		t.Fatalf("saved %s", got)
	}
	for _, r := range saved.Rules {
		if r.AddedBy == nil || *r.AddedBy != member.uid {
			t.Fatalf("rule %+v: added_by not the member's", r)
		}
	}
	if !strings.Contains(string(got), `"uid":[`) {
		t.Fatalf("saved %s", got)
	}
}
