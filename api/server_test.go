package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/api/apitest"
	"github.com/pexia-network/pexia/internal/testutil"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// start serves a fresh apitest.Backend and returns it with a client.
func start(t *testing.T) (*apitest.Backend, *api.Client, string) {
	t.Helper()
	b := apitest.NewBackend()
	t.Cleanup(b.Close)
	path := apitest.Serve(t, b, api.ServerConfig{Logf: t.Logf})
	c := api.NewClient(path)
	t.Cleanup(func() { c.Close() })
	return b, c, path
}

func jsonEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

func TestEndpoints(t *testing.T) {
	b, c, _ := start(t)
	ctx := testCtx(t)

	st, err := c.Status(ctx)
	if err != nil || st.State != api.StateDisconnected || st.Mode != api.ModeTUN || st.BytesDown != 250<<20 {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	if _, err := c.Circuit(ctx); !errors.Is(err, api.ErrNotConnected) || !strings.Contains(err.Error(), "no circuit while disconnected") {
		t.Fatalf("Circuit while disconnected: err = %v, want ErrNotConnected with the daemon's message", err)
	}
	var apiErr *api.Error
	if _, err := c.Circuit(ctx); !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict || apiErr.Code != "not_connected" {
		t.Fatalf("Circuit error = %#v, want 409 not_connected", err)
	}

	events, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ev := <-events; ev.Type != api.EventState || ev.State == nil || ev.State.State != api.StateDisconnected {
		t.Fatalf("first event = %+v, want the current state", ev)
	}
	st, err = c.Connect(ctx, api.ConnectRequest{Hops: 2, Country: "CH"})
	if err != nil || st.State != api.StateConnecting {
		t.Fatalf("Connect = %+v, %v; want connecting", st, err)
	}
	var circ *api.Circuit
	for ev := range events {
		if ev.Type == api.EventCircuit {
			circ = ev.Circuit
		}
		if ev.Type == api.EventState && ev.State.State == api.StateConnected {
			break
		}
	}
	got, err := c.Circuit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Hops) != 2 || got.Hops[1].Role != api.RoleExit || got.Hops[1].Country != "CH" || got.Currency.Symbol != "PEX" {
		t.Fatalf("Circuit = %+v, want 2 hops ending at an exit in CH", got)
	}
	if circ == nil {
		t.Fatal("no circuit event before connected")
	}
	jsonEqual(t, "circuit event vs GET /v1/circuit", *circ, got)
	if st, _ = c.Status(ctx); st.ExitCountry != "CH" || st.ExitAddr != got.Hops[1].Address {
		t.Fatalf("Status after connect = %+v", st)
	}
	if st, err = c.Disconnect(ctx); err != nil || st.State != api.StateDisconnected {
		t.Fatalf("Disconnect = %+v, %v", st, err)
	}

	s, err := c.Settings(ctx)
	if err != nil || s.Hops != 3 || s.Currency.Decimals != 18 {
		t.Fatalf("Settings = %+v, %v", s, err)
	}
	s.Hops, s.ExitCountries, s.ExcludeCIDRs, s.MonthlyBudget = 4, []string{"SE"}, []string{"10.0.0.0/8"}, apitest.Tokens("12.5")
	s2, err := c.SetSettings(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, "SetSettings result", s2, s)
	if s3, _ := c.Settings(ctx); s3.Hops != 4 || s3.ExitCountries[0] != "SE" {
		t.Fatalf("Settings after PUT = %+v", s3)
	}
	s.Hops = 7
	if _, err := c.SetSettings(ctx, s); !errors.Is(err, api.ErrInvalid) || err.Error() != "invalid settings: hops: 7 out of range 1-5" {
		t.Fatalf("SetSettings(hops 7) = %v, want ErrInvalid with the field named", err)
	}

	bud, err := c.Budget(ctx)
	if err != nil || bud.Monthly.Cmp(apitest.Tokens("12.5")) != 0 || len(bud.PerHop) != 3 || bud.Currency.Symbol != "PEX" {
		t.Fatalf("Budget = %+v, %v", bud, err)
	}
	bud, err = c.SetBudget(ctx, apitest.Tokens("20"))
	if err != nil || bud.Monthly.Cmp(apitest.Tokens("20")) != 0 || bud.Remaining.Cmp(apitest.Tokens("15.18")) != 0 {
		t.Fatalf("SetBudget = %+v, %v", bud, err)
	}

	w, err := c.Wallet(ctx)
	if err != nil || len(w.Signers) != 1 || w.Balance.Cmp(apitest.Tokens("40.5")) != 0 || w.PendingWinners != 3 {
		t.Fatalf("Wallet = %+v, %v", w, err)
	}

	want := []string{"Status", "Circuit", "Circuit", "Subscribe", "Status", "Connect", "Circuit", "Status", "Disconnect",
		"Settings", "Settings", "SetSettings", "Settings", "Budget", "Settings", "SetBudget", "Wallet"}
	if got := b.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("backend calls = %v\nwant %v (invalid settings must not reach the backend; a change is checked against the current settings)", got, want)
	}
}

func TestBackendErrors(t *testing.T) {
	b, c, _ := start(t)
	ctx := testCtx(t)
	for _, tc := range []struct {
		err      error
		status   int
		code     string
		sentinel error
	}{
		{fmt.Errorf("%w: monthly budget below what is spent", api.ErrInvalid), 400, "invalid", api.ErrInvalid},
		{fmt.Errorf("%w: a circuit is being built", api.ErrBusy), 409, "busy", api.ErrBusy},
		{fmt.Errorf("%w: chain RPC unreachable", api.ErrUnavailable), 503, "unavailable", api.ErrUnavailable},
		{fmt.Errorf("read chain: %w", context.DeadlineExceeded), 504, "timeout", context.DeadlineExceeded},
		{errors.New("disk on fire"), 500, "internal", nil},
	} {
		b.FailNext("Wallet", tc.err)
		_, err := c.Wallet(ctx)
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Status != tc.status || ae.Code != tc.code || ae.Message != tc.err.Error() {
			t.Errorf("backend error %q: client got %#v, want status %d code %s and the same message", tc.err, err, tc.status, tc.code)
			continue
		}
		if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
			t.Errorf("client error %v does not match %v", err, tc.sentinel)
		}
	}
	// The event stream reports a failing snapshot as an ordinary error.
	b.FailNext("Status", fmt.Errorf("%w: starting up", api.ErrUnavailable))
	if _, err := c.Events(ctx); !errors.Is(err, api.ErrUnavailable) {
		t.Fatalf("Events with failing Status: %v", err)
	}
	testutil.WaitFor(t, "the failed stream's subscription to end", 5*time.Second, func() bool { return b.Subscribers() == 0 })
}

// raw sends a request over the socket without the typed client.
func raw(t *testing.T, path, method, url, body string) (int, http.Header, map[string]any) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	defer hc.CloseIdleConnections()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(testCtx(t), method, "http://pexiad"+url, r)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: body %q is not a JSON object: %v", method, url, b, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, url, ct)
	}
	return resp.StatusCode, resp.Header, m
}

func TestBadRequests(t *testing.T) {
	b, _, path := start(t)
	settings := `{"hops":3,"exit_countries":[],"price_cap_per_gb":"0","kill_switch":true,"lockdown":false,"allow_lan":false,"exclude_cidrs":[],"dns_mode":"tunnel","monthly_budget":"0"`
	for _, tc := range []struct {
		method, url, body string
		status            int
		code, msg         string
	}{
		{"POST", "/v1/connect", `{"hops":`, 400, "invalid", "invalid request body: unexpected EOF"},
		{"POST", "/v1/connect", `{"hops":2,"colour":"red"}`, 400, "invalid", `invalid request body: unknown field "colour"`},
		{"POST", "/v1/connect", `{"hops":"two"}`, 400, "invalid", "invalid request body: cannot unmarshal string into Go struct field ConnectRequest.hops of type int"},
		{"POST", "/v1/connect", `{"hops":2} {"hops":3}`, 400, "invalid", "invalid request body: unexpected data after the JSON value"},
		{"POST", "/v1/connect", `{"hops":9}`, 400, "invalid", "invalid connect request: hops: 9 out of range 1-5"},
		{"POST", "/v1/connect", `{"hops":1,"country":"` + strings.Repeat("x", api.MaxBodyBytes) + `"}`, 413, "too_large", "request body larger than 65536 bytes"},
		{"POST", "/v1/disconnect", `{"now":true}`, 400, "invalid", `invalid request body: unknown field "now"`},
		{"PUT", "/v1/settings", ``, 400, "invalid", "invalid request body: empty body; send a JSON object"},
		{"PUT", "/v1/settings", settings + `,"hopz":3}`, 400, "invalid", `invalid request body: unknown field "hopz"`},
		{"PUT", "/v1/settings", strings.Replace(settings, `"price_cap_per_gb":"0"`, `"price_cap_per_gb":0`, 1) + `}`, 400, "invalid", "invalid request body: amount must be a string of digits in the token's smallest unit, got 0"},
		{"PUT", "/v1/settings", strings.Replace(settings, `"tunnel"`, `"open"`, 1) + `}`, 400, "invalid", `invalid settings: dns_mode: "open" is not one of "tunnel", "system"`},
		{"PUT", "/v1/budget", `{}`, 400, "invalid", "invalid request body: monthly is required"},
		{"PUT", "/v1/budget", `{"monthly":"-5"}`, 400, "invalid", `invalid request body: amount must be a string of digits in the token's smallest unit, got "-5"`},
		{"GET", "/v1/connect", ``, 405, "method_not_allowed", "/v1/connect does not allow GET; use POST"},
		{"DELETE", "/v1/settings", ``, 405, "method_not_allowed", "/v1/settings does not allow DELETE; use GET or PUT"},
		{"POST", "/v1/status", `{}`, 405, "method_not_allowed", "/v1/status does not allow POST; use GET"},
		{"GET", "/v1/nope", ``, 404, "not_found", "no endpoint /v1/nope"},
		{"GET", "/status", ``, 404, "not_found", "no endpoint /status"},
	} {
		status, hdr, body := raw(t, path, tc.method, tc.url, tc.body)
		if status != tc.status || body["code"] != tc.code || body["error"] != tc.msg {
			t.Errorf("%s %s %.40q:\n got %d %q %q\nwant %d %q %q", tc.method, tc.url, tc.body, status, body["code"], body["error"], tc.status, tc.code, tc.msg)
		}
		if tc.status == 405 && hdr.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without an Allow header", tc.method, tc.url)
		}
	}
	for _, call := range b.Calls() {
		if call != "Status" {
			t.Errorf("a bad request reached the backend: %s", call)
		}
	}
	// Empty bodies are fine where every field is optional.
	if status, _, body := raw(t, path, "POST", "/v1/disconnect", ""); status != 200 || body["state"] != "disconnected" {
		t.Errorf("POST /v1/disconnect with no body: %d %v", status, body)
	}
}

// TestOptionalBackendsMissing checks the 404 a Backend without an optional
// interface (rules, exclusion, per-app counts) gets, before any body is read.
func TestOptionalBackendsMissing(t *testing.T) {
	b := apitest.NewBackend()
	t.Cleanup(b.Close)
	path := apitest.Serve(t, struct{ api.Backend }{b}, api.ServerConfig{Logf: t.Logf})
	for _, tc := range []struct{ method, url, body, msg string }{
		{"GET", "/v1/apps", ``, "this pexiad counts no applications"},
		{"POST", "/v1/exclude", `{"pid":-1}`, "this pexiad excludes no programs"},
		{"GET", "/v1/rules", ``, "this pexiad serves no split-tunnel rules"},
		{"POST", "/v1/rules/remove", `{`, "this pexiad serves no split-tunnel rules"},
	} {
		status, _, body := raw(t, path, tc.method, tc.url, tc.body)
		if status != 404 || body["code"] != "not_found" || body["error"] != tc.msg {
			t.Errorf("%s %s: got %d %q %q, want 404 \"not_found\" %q", tc.method, tc.url, status, body["code"], body["error"], tc.msg)
		}
	}
	for _, call := range b.Calls() {
		if call != "Status" {
			t.Errorf("a request for a missing interface reached the backend: %s", call)
		}
	}
}

func TestClientNotRunning(t *testing.T) {
	dir := t.TempDir()
	ctx := testCtx(t)
	missing := dir + "/pexiad.sock"
	_, err := api.NewClient(missing).Status(ctx)
	if !errors.Is(err, api.ErrNotRunning) || err.Error() != "pexiad is not running (no socket at "+missing+")" {
		t.Fatalf("missing socket: %v", err)
	}
	// A socket nobody listens on, as a crashed daemon leaves it.
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: missing, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	_, err = api.NewClient(missing).Settings(ctx)
	if !errors.Is(err, api.ErrNotRunning) || !strings.Contains(err.Error(), "stale socket at "+missing) {
		t.Fatalf("stale socket: %v", err)
	}
	if _, err := api.NewClient(missing).Events(ctx); !errors.Is(err, api.ErrNotRunning) {
		t.Fatalf("Events on a stale socket: %v", err)
	}
}

// TestLifecycle checks that Shutdown ends event streams, Serve returns, and
// nothing is left running.
func TestLifecycle(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		b := apitest.NewBackend()
		defer b.Close()
		dir := t.TempDir()
		l, err := api.Listen(dir+"/s", api.ServerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		srv := api.NewServer(b, api.ServerConfig{})
		done := make(chan error, 1)
		go func() { done <- srv.Serve(l) }()
		c := api.NewClient(dir + "/s")
		defer c.Close()
		ctx := testCtx(t)
		events, err := c.Events(ctx)
		if err != nil {
			t.Fatal(err)
		}
		<-events
		if _, err := c.Status(ctx); err != nil {
			t.Fatal(err)
		}
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Fatalf("Shutdown with an open event stream: %v", err)
		}
		if err := <-done; err != nil {
			t.Fatalf("Serve = %v after Shutdown, want nil", err)
		}
		for range events {
		}
		if b.Subscribers() != 0 {
			t.Fatal("subscription left open after Shutdown")
		}
		if _, err := c.Status(ctx); !errors.Is(err, api.ErrNotRunning) {
			t.Fatalf("Status after Shutdown: %v, want ErrNotRunning (socket removed)", err)
		}
	}()
	testutil.WaitFor(t, "goroutines to end", 5*time.Second, func() bool { return runtime.NumGoroutine() <= before })
}

// BenchmarkStatus measures one GET /v1/status round trip over the socket,
// keep-alive connection reused.
func BenchmarkStatus(b *testing.B) {
	be := apitest.NewBackend()
	defer be.Close()
	c := api.NewClient(apitest.Serve(b, be, api.ServerConfig{}))
	defer c.Close()
	ctx := context.Background()
	for b.Loop() {
		if _, err := c.Status(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// TestClientRuntime: the daemon's own user is an admin and reads the
// runtime figures over the socket.
func TestClientRuntime(t *testing.T) {
	_, c, _ := start(t)
	rt, err := c.Runtime(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if rt.Goroutines < 2 || rt.HeapAlloc == 0 {
		t.Fatalf("runtime %+v", rt)
	}
}
