package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/devnet"
	"github.com/pexia-network/pexia/internal/logger"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/wallet/keys"
)

// childOpEnv makes the test binary a one-shot API client (see apiChild):
// the privilege tests run it as another user.
const childOpEnv = "PEXIA_TEST_API_OP"

// apiOp is one request of the child client. Merge, for PUT /v1/settings,
// is applied to the settings the child reads first, as the CLI does; Body
// is sent as is otherwise.
type apiOp struct {
	Method string         `json:"method"`
	Path   string         `json:"path"`
	Merge  map[string]any `json:"merge,omitempty"`
	Body   any            `json:"body,omitempty"`
}

// apiChild sends op to the API at sock and prints the status code and the
// response body.
func apiChild(sock, opJSON string) int {
	var op apiOp
	if err := json.Unmarshal([]byte(opJSON), &op); err != nil {
		fmt.Println(0, err)
		return 1
	}
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
	do := func(method, path string, body any) (int, []byte, error) {
		var rd io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			if err != nil {
				return 0, nil, err
			}
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequest(method, "http://pexiad"+path, rd)
		if err != nil {
			return 0, nil, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	body := op.Body
	if op.Merge != nil {
		code, b, err := do(http.MethodGet, op.Path, nil)
		if err != nil || code != http.StatusOK {
			fmt.Println(code, strings.TrimSpace(string(b)), err)
			return 1
		}
		cur := map[string]any{}
		if err := json.Unmarshal(b, &cur); err != nil {
			fmt.Println(0, err)
			return 1
		}
		for k, v := range op.Merge {
			cur[k] = v
		}
		body = cur
	}
	code, b, err := do(op.Method, op.Path, body)
	if err != nil {
		fmt.Println(0, err)
		return 1
	}
	fmt.Println(code, strings.TrimSpace(string(b)))
	return 0
}

// testUser is a throwaway system user and group, removed at the end of the
// test.
type testUser struct {
	name, group string
	uid, gid    uint32
}

func newTestUser(t *testing.T) testUser {
	t.Helper()
	u := testutil.NewUser(t, "px")
	return testUser{name: u.Name, group: u.Group, uid: u.UID, gid: u.GID}
}

// publicDir makes a directory every user may enter, removed at the end of
// the test (t.TempDir is private to root).
func publicDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pexia-priv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// serveAPI serves b's API to root and the members of group on a socket in
// dir until the test ends, and returns a caller that sends it requests
// from other processes.
func serveAPI(t *testing.T, b api.Backend, dir, group string, logf logger.Logf) *apiCaller {
	t.Helper()
	sock := filepath.Join(dir, "run", "pexiad.sock")
	scfg := api.ServerConfig{Group: group, Logf: logf}
	ln, err := api.Listen(sock, scfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := api.NewServer(b, scfg)
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return newAPICaller(t, dir, sock)
}

// apiCaller runs API requests in a child process with a user's
// credentials (nil: as the test's own user, root).
type apiCaller struct {
	t    *testing.T
	bin  string
	sock string
}

func newAPICaller(t *testing.T, dir, sock string) *apiCaller {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "apiclient")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return &apiCaller{t: t, bin: bin, sock: sock}
}

func (c *apiCaller) call(as *testUser, op apiOp) (int, string) {
	c.t.Helper()
	b, _ := json.Marshal(op)
	cmd := exec.Command(c.bin, "-test.run=^$")
	cmd.Dir = filepath.Dir(c.bin)
	cmd.Env = []string{childOpEnv + "=" + string(b), "PEXIA_TEST_API_SOCKET=" + c.sock, "PATH=/usr/bin:/bin"}
	if as != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: as.uid, Gid: as.gid, Groups: []uint32{as.gid}}}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("client %s %s: %v: %s", op.Method, op.Path, err, out)
	}
	code, body, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	n, err := strconv.Atoi(code)
	if err != nil {
		c.t.Fatalf("client %s %s: output %q", op.Method, op.Path, out)
	}
	return n, body
}

// deployOther deploys a second set of the contracts on the devnet's chain
// and writes a network file naming them: a network the admin did not
// configure.
func deployOther(t *testing.T, ctx context.Context, dn *devnet.Devnet, path string) *contracts.Network {
	t.Helper()
	ec, err := ethclient.DialContext(ctx, dn.RPC())
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	n := dn.Network()
	key, err := devnet.Key(devnet.ClientRole(1))
	if err != nil {
		t.Fatal(err)
	}
	opts := bind.NewKeyedTransactor(key, n.ChainID)
	if n.Addresses, err = contracts.Deploy(ctx, ec, opts, contracts.DeployConfig{LotteryDelay: 86400}, nil); err != nil {
		t.Fatal(err)
	}
	n.Name = "other"
	if err := n.Save(path); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMemberCannotChooseNetwork runs a real API server on a real daemon
// (proxy mode, a real devnet chain over JSON-RPC) and sends requests as a
// real non-root member of the API's group, from another process: the
// member may use the API but may not change the network, its RPC endpoint
// or its contracts, and connecting deposits into the admin's Lottery only.
// Root may change them.
func TestMemberCannotChooseNetwork(t *testing.T) {
	member := newTestUser(t)
	pub := publicDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dn, err := devnet.Start(ctx, devnet.Config{DataDir: filepath.Join(t.TempDir(), "chain"), BlockPeriod: devnet.MineOnTransaction, Clients: 2, Nodes: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dn.Close() })
	admin := dn.Network()
	other := deployOther(t, ctx, dn, filepath.Join(pub, "other.json"))

	lg := testutil.NewLog(t)
	// The admin allows the devnet's network as "default" and the same
	// network through another endpoint as "alt", and members a budget of
	// at most 20 tokens a month.
	altRPC := strings.Replace(dn.RPC(), "127.0.0.1", "localhost", 1)
	d, err := New(Config{StateDir: filepath.Join(t.TempDir(), "state"), NetworkFile: dn.NetworkFile(), Key: keys.Source{Key: "devnet:" + devnet.ClientRole(0)},
		Networks:         map[string]NetworkChoice{"alt": {File: dn.NetworkFile(), RPC: altRPC}},
		MaxMonthlyBudget: contracts.Ether(20),
		Mode:             api.ModeProxy, ProxyAddr: "127.0.0.1:0", Logf: lg.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() }) // after the server's shutdown, which serveAPI registers later
	c := serveAPI(t, d, pub, member.group, lg.Logf)

	if code, body := c.call(&member, apiOp{Method: "GET", Path: "/v1/status"}); code != http.StatusOK {
		t.Fatalf("member GET /v1/status: %d %s; a member may use the API", code, body)
	}
	for _, set := range []map[string]any{
		{"network_file": filepath.Join(pub, "other.json")},
		// The same chain by another name: the member's own endpoint could
		// show it any state it likes.
		{"rpc_url": strings.Replace(dn.RPC(), "127.0.0.1", "localhost", 1)},
	} {
		if code, body := c.call(&member, apiOp{Method: "PUT", Path: "/v1/settings", Merge: set}); code != http.StatusForbidden {
			t.Errorf("member PUT /v1/settings %v: %d %s; want 403", set, code, body)
		}
	}
	// Within the admin's limits a member chooses freely.
	for _, tc := range []struct {
		op   apiOp
		want int
	}{
		{apiOp{Method: "PUT", Path: "/v1/settings", Merge: map[string]any{"hops": 2}}, http.StatusOK},
		{apiOp{Method: "PUT", Path: "/v1/settings", Merge: map[string]any{"network": "alt"}}, http.StatusOK},
		{apiOp{Method: "PUT", Path: "/v1/settings", Merge: map[string]any{"network": "other"}}, http.StatusBadRequest},
		{apiOp{Method: "PUT", Path: "/v1/settings", Merge: map[string]any{"network": "default"}}, http.StatusOK},
		{apiOp{Method: "PUT", Path: "/v1/settings", Merge: map[string]any{"monthly_budget": contracts.Ether(20).String()}}, http.StatusOK},
		{apiOp{Method: "PUT", Path: "/v1/settings", Merge: map[string]any{"monthly_budget": contracts.Ether(21).String()}}, http.StatusForbidden},
		{apiOp{Method: "PUT", Path: "/v1/budget", Body: map[string]any{"monthly": contracts.Ether(21).String()}}, http.StatusForbidden},
		{apiOp{Method: "PUT", Path: "/v1/budget", Body: map[string]any{"monthly": contracts.Ether(5).String()}}, http.StatusOK},
		// Read-only fields are ignored, not obeyed.
		{apiOp{Method: "PUT", Path: "/v1/settings", Merge: map[string]any{"max_monthly_budget": contracts.Ether(1000).String(), "networks": []string{"other"}}}, http.StatusOK},
		{apiOp{Method: "PUT", Path: "/v1/budget", Body: map[string]any{"monthly": contracts.Ether(21).String()}}, http.StatusForbidden},
		{apiOp{Method: "PUT", Path: "/v1/settings", Merge: map[string]any{"network": "other"}}, http.StatusBadRequest},
	} {
		if code, body := c.call(&member, tc.op); code != tc.want {
			t.Errorf("member %s %s %v%v: %d %s; want %d", tc.op.Method, tc.op.Path, tc.op.Merge, tc.op.Body, code, body, tc.want)
		}
	}
	var got api.Settings
	code, body := c.call(&member, apiOp{Method: "GET", Path: "/v1/settings"})
	if code != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil {
		t.Fatalf("member GET /v1/settings: %d %s", code, body)
	}
	if strings.Join(got.Networks, ",") != "alt,default" || got.MaxMonthlyBudget.Cmp(api.NewAmount(contracts.Ether(20))) != 0 ||
		got.MonthlyBudget.Cmp(api.NewAmount(contracts.Ether(5))) != 0 || got.NetworkFile != "" || got.RPCURL != "" {
		t.Errorf("member GET /v1/settings after the changes = %s", body)
	}

	// Connecting funds the ticket signer's lottery account (104 faces):
	// it must land in the admin's Lottery, never in the other one.
	ec, err := ethclient.DialContext(ctx, dn.RPC())
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	bal := func(a common.Address) *big.Int {
		b, err := ec.BalanceAt(ctx, a, nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	adminBefore := bal(admin.Addresses.Lottery)
	if code, body := c.call(&member, apiOp{Method: "POST", Path: "/v1/connect", Body: map[string]any{}}); code != http.StatusOK {
		t.Fatalf("member POST /v1/connect: %d %s", code, body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for bal(admin.Addresses.Lottery).Cmp(adminBefore) == 0 && bal(other.Addresses.Lottery).Sign() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("connect deposited into no Lottery within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := bal(other.Addresses.Lottery); got.Sign() != 0 {
		t.Errorf("the Lottery at %s, which the admin did not configure, received %v from the funder", other.Addresses.Lottery, got)
	}
	if got := new(big.Int).Sub(bal(admin.Addresses.Lottery), adminBefore); got.Sign() <= 0 {
		t.Errorf("the admin's Lottery received %v on connect", got)
	}
	if code, body := c.call(&member, apiOp{Method: "POST", Path: "/v1/disconnect", Body: map[string]any{}}); code != http.StatusOK {
		t.Errorf("member POST /v1/disconnect: %d %s", code, body)
	}

	// Root is the admin: it may point the daemon elsewhere and exceed the
	// members' limit; a member cannot undo it.
	for _, set := range []map[string]any{
		{"rpc_url": dn.RPC()},
		{"network_file": filepath.Join(pub, "other.json")},
		{"monthly_budget": contracts.Ether(50).String()},
	} {
		if code, body := c.call(nil, apiOp{Method: "PUT", Path: "/v1/settings", Merge: set}); code != http.StatusOK {
			t.Errorf("root PUT /v1/settings %v: %d %s; want 200", set, code, body)
		}
	}
	for _, set := range []map[string]any{{"network_file": ""}, {"rpc_url": ""}} {
		if code, body := c.call(&member, apiOp{Method: "PUT", Path: "/v1/settings", Merge: set}); code != http.StatusForbidden {
			t.Errorf("member PUT /v1/settings %v after root's change: %d %s; want 403", set, code, body)
		}
	}
	// A member may still change what is theirs while root's choices stand.
	if code, body := c.call(&member, apiOp{Method: "PUT", Path: "/v1/settings", Merge: map[string]any{"hops": 3}}); code != http.StatusOK {
		t.Errorf("member PUT /v1/settings hops=3 after root's change: %d %s; want 200", code, body)
	}
	// The admin's choice survives a restart; the member's does not become one.
	st, err := d.Settings(ctx)
	if err != nil || st.NetworkFile != filepath.Join(pub, "other.json") || st.RPCURL != dn.RPC() {
		t.Errorf("settings after root's change: %+v, %v", st, err)
	}
}

// TestSavedNetworkFileIgnored: network_file and rpc_url that an older
// pexiad saved at a group member's request are not used.
func TestSavedNetworkFileIgnored(t *testing.T) {
	dir := t.TempDir()
	old := `{"hops": 2, "dns_mode": "tunnel", "monthly_budget": "7", "network_file": "/home/mallory/net.json", "rpc_url": "http://127.0.0.1:9/"}`
	if err := os.WriteFile(settingsPathIn(dir), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	var logged []string
	s, err := loadSettings(settingsPathIn(dir), defaultSettings(), func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) })
	if err != nil {
		t.Fatal(err)
	}
	if s.NetworkFile != "" || s.RPCURL != "" || s.Hops != 2 || s.MonthlyBudget.String() != "7" {
		t.Fatalf("loaded %+v; want hops and budget kept, network_file and rpc_url dropped", s)
	}
	if len(logged) != 1 || !strings.Contains(logged[0], "ignoring network_file") {
		t.Errorf("log %q", logged)
	}
	// What an admin sets is saved apart and read back.
	s.NetworkFile, s.RPCURL = "/etc/pexia/net.json", "https://rpc.example.org/"
	if err := saveSettings(settingsPathIn(dir), s); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(settingsPathIn(dir))
	if back, err := loadSettings(settingsPathIn(dir), defaultSettings(), t.Logf); err != nil || back.NetworkFile != s.NetworkFile || back.RPCURL != s.RPCURL {
		t.Errorf("saved %s, read back %+v, %v", b, back, err)
	}
	var top map[string]any
	json.Unmarshal(b, &top)
	if _, ok := top["network_file"]; ok {
		t.Errorf("settings.json has network_file at the top level: %s", b)
	}
}
